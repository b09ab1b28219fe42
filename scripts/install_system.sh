#!/usr/bin/env bash
# Install the Debian packages the tests and the demo need, when missing:
# PostgreSQL 15 (started by the tests themselves) and Chromium (browser tests).
set -euo pipefail
need=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)

[ -x /usr/bin/chromium ] || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "install_system: missing ${need[*]}; run as root or install them with apt-get" >&2
    exit 1
  fi
  echo "install_system: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

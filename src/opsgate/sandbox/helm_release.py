"""Seed the Helm release `cache` exactly as helm v4 stores it, without running helm.

Called by `server` for the demo seed. Helm keeps a release in a Secret
`sh.helm.release.v1.<name>.v<revision>` of type `helm.sh/release.v1`, whose `release` key holds
base64(gzip(JSON)). The chart in `charts/cache` uses only `{{ .Release.* }}` and `{{ .Values.* }}`
placeholders, which `render` substitutes, so the seeded release matches what `helm install`
would have written and later `helm upgrade|rollback|uninstall` treat it as their own.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from opsgate.sandbox.apiserver.cluster import Cluster

CHART_DIR = Path(__file__).parent / "charts" / "cache"
_PLACEHOLDER = re.compile(r"\{\{\s*\.(Release|Values)\.([\w.]+)\s*\}\}")
_KIND_ORDER = ["Namespace", "ServiceAccount", "Secret", "ConfigMap", "Service", "Deployment"]


def render(text: str, release: dict[str, str], values: dict[str, Any]) -> str:
    """Substitute `.Release.*` and `.Values.*` placeholders (all the demo chart uses)."""

    def value(match: re.Match[str]) -> str:
        scope, path = match.groups()
        current: Any = release if scope == "Release" else values
        for part in path.split("."):
            current = current[part]
        return str(current)

    return _PLACEHOLDER.sub(value, text)


def _timestamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f000Z")


def release_secret(
    name: str, namespace: str, chart_dir: Path = CHART_DIR
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The release Secret (revision 1) and the objects its manifest declares."""
    meta = yaml.safe_load((chart_dir / "Chart.yaml").read_text())
    values = yaml.safe_load((chart_dir / "values.yaml").read_text()) or {}
    release = {"Name": name, "Namespace": namespace, "Service": "Helm"}
    now = _timestamp()
    templates, rendered, notes = [], [], ""
    for path in sorted((chart_dir / "templates").iterdir()):
        source = path.read_text()
        templates.append(
            {
                "name": f"templates/{path.name}",
                "data": base64.b64encode(source.encode()).decode(),
                "modtime": now,
            }
        )
        if path.name == "NOTES.txt":
            notes = render(source, release, values)
        else:
            rendered.append(
                (f"{meta['name']}/templates/{path.name}", render(source, release, values))
            )
    rendered.sort(key=lambda item: _KIND_ORDER.index(yaml.safe_load(item[1])["kind"]))
    manifest = "".join(f"---\n# Source: {source}\n{text}" for source, text in rendered)
    record = {
        "name": name,
        "info": {
            "first_deployed": now,
            "last_deployed": now,
            "description": "Install complete",
            "status": "deployed",
            "notes": notes,
        },
        "chart": {
            "metadata": meta,
            "lock": None,
            "templates": templates,
            "values": values,
            "schema": None,
            "schemamodtime": "0001-01-01T00:00:00Z",
            "files": None,
            "modtime": now,
        },
        "manifest": manifest,
        "version": 1,
        "namespace": namespace,
        "apply_method": "ssa",
    }
    payload = base64.b64encode(gzip.compress(json.dumps(record).encode())).decode()
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": f"sh.helm.release.v1.{name}.v1",
            "namespace": namespace,
            "labels": {
                "name": name,
                "owner": "helm",
                "status": "deployed",
                "version": "1",
                "modifiedAt": str(int(datetime.now(UTC).timestamp())),
            },
        },
        "type": "helm.sh/release.v1",
        "data": {"release": base64.b64encode(payload.encode()).decode()},
    }
    objects = []
    for _, text in rendered:
        obj = yaml.safe_load(text)
        obj["metadata"]["namespace"] = namespace
        obj["metadata"].setdefault("annotations", {}).update(
            {"meta.helm.sh/release-name": name, "meta.helm.sh/release-namespace": namespace}
        )
        objects.append(obj)
    return secret, objects


def seed(cluster: Cluster, namespace: str = "shop") -> None:
    """Install the demo release `cache` into `namespace`."""
    secret, objects = release_secret("cache", namespace)
    cluster.apply_many([*objects, secret])

"""`python -m opsgate.sandbox up|down|status`: run the sandbox without the opsgate CLI.

`up` serves in the foreground (tests and `opsgate demo` start it as a subprocess and wait for
the `--info` file); `up --detach` starts it in the background.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from opsgate.sandbox import server


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run it."""
    parser = argparse.ArgumentParser(prog="python -m opsgate.sandbox")
    parser.add_argument("--data-dir", type=Path, default=Path(".opsgate"))
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start the sandbox")
    up.add_argument("--port", type=int, default=0)
    up.add_argument("--jenkins-port", type=int, default=0)
    up.add_argument("--no-jenkins", action="store_true")
    up.add_argument("--seed", choices=["demo", "empty"], default="demo")
    up.add_argument("--state", type=Path)
    up.add_argument("--kubeconfig", type=Path)
    up.add_argument("--info", type=Path)
    up.add_argument("--detach", action="store_true")
    up.add_argument(
        "--no-tick",
        action="store_true",
        help="no one-second tick: time-based changes (back-offs, deadlines, timed pauses) "
        "happen only when a request writes, so a test can prove a read or dry run wrote nothing",
    )
    up.add_argument(
        "--tls",
        action="store_true",
        help="serve HTTPS with a self-signed certificate made at start (ca.crt beside the "
        "kubeconfig): kubectl sends bearer tokens only over TLS",
    )
    sub.add_parser("down", help="stop a detached sandbox")
    sub.add_parser("status", help="show the detached sandbox")
    args = parser.parse_args(argv)
    folder = server.runtime_dir(args.data_dir)
    if args.command == "up" and args.detach:
        info = server.up(args.data_dir, args.port, args.seed, args.state)
        print(f"sandbox running at {info.api_url}; kubeconfig {info.kubeconfig}")
        return 0
    if args.command == "up":
        server.serve(
            port=args.port,
            jenkins_port=None if args.no_jenkins else args.jenkins_port,
            seed_name=args.seed,
            state=args.state,
            kubeconfig=args.kubeconfig or folder / "kubeconfig",
            info=args.info,
            tick=not args.no_tick,
            tls=args.tls,
        )
        return 0
    if args.command == "down":
        print("sandbox stopped" if server.down(args.data_dir) else "no sandbox was running")
        return 0
    found = server.status(args.data_dir)
    if found is None:
        print("sandbox: not running")
        return 1
    print(json.dumps(asdict(found)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

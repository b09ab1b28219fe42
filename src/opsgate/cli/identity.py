"""`opsgate doctor`'s identity checks: who each context acts as, and what it may do there.

For each reachable context, `kubectl auth whoami` (a SelfSubjectReview) names the identity,
a ServiceAccount or the kubeconfig's user, and a SelfSubjectRulesReview in the context's
namespace (what `kubectl auth can-i --list` shows, read as JSON) is summarised: everything,
read-only, or which kinds it may change. Called by `opsgate.cli.checks.check_contexts`.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from opsgate.errors import truncate

PROBE_TIMEOUT_S = 8
READ_VERBS = frozenset({"get", "list", "watch"})
SELF_REVIEWS = frozenset(
    {"selfsubjectreviews", "selfsubjectaccessreviews", "selfsubjectrulesreviews"}
)
MAX_KINDS_SHOWN = 8
SA_PREFIX = "system:serviceaccount:"


def _kubectl(argv: list[str], stdin: str | None = None) -> tuple[bool, str]:
    try:
        done = subprocess.run(
            argv, input=stdin, capture_output=True, text=True, timeout=PROBE_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        return False, str(e)
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        return False, truncate(lines[0] if lines else f"exit {done.returncode}", 200)
    return True, done.stdout


def describe_user(username: str, kubeconfig_user: str | None) -> str:
    """`ServiceAccount ns/name`, or the kubeconfig user entry and the name the server sees."""
    if username.startswith(SA_PREFIX):
        namespace, _, name = username.removeprefix(SA_PREFIX).partition(":")
        return f"ServiceAccount {namespace}/{name}"
    if kubeconfig_user:
        return f"kubeconfig user {kubeconfig_user!r} (as {username!r})"
    return repr(username)


def summarise_rules(rules: list[dict[str, Any]]) -> str:
    """One line for a SelfSubjectRulesReview's resource rules."""
    reads: set[str] = set()
    changes: dict[str, set[str]] = {}
    for rule in rules:
        verbs = set(rule.get("verbs") or [])
        groups = rule.get("apiGroups") or [""]
        for resource in rule.get("resources") or []:
            if resource in SELF_REVIEWS:
                continue
            kinds = [resource if g in ("", None) else f"{resource}.{g}" for g in groups]
            if "*" in verbs and resource == "*" and "*" in groups:
                return "may do everything (all verbs on all resources)"
            for kind in kinds:
                if verbs & READ_VERBS or "*" in verbs:
                    reads.add(kind)
                changing = verbs - READ_VERBS
                if changing:
                    changes.setdefault(kind, set()).update(changing)
    if not reads and not changes:
        return "may do nothing here beyond reviewing itself"
    if not changes:
        return f"read-only: {_kinds(sorted(reads))}"
    shown = [f"{kind} ({','.join(sorted(verbs))})" for kind, verbs in sorted(changes.items())]
    return f"may change {_kinds(shown)}; reads {len(reads)} kinds"


def _kinds(names: list[str]) -> str:
    if len(names) <= MAX_KINDS_SHOWN:
        return ", ".join(names)
    return ", ".join(names[:MAX_KINDS_SHOWN]) + f" and {len(names) - MAX_KINDS_SHOWN} more"


def identity(
    kubectl: Path, kubeconfig: Path, context: str, namespace: str, kubeconfig_user: str | None
) -> tuple[bool, str]:
    """Whether both reviews answered, and what they say about this context's identity."""
    base = [str(kubectl), "--kubeconfig", str(kubeconfig), "--context", context]
    base.append("--request-timeout=5s")
    ok, out = _kubectl([*base, "auth", "whoami", "-o", "json"])
    if not ok:
        return False, f"who am I failed: {out}"
    try:
        username = str(json.loads(out)["status"]["userInfo"]["username"])
    except (ValueError, KeyError, TypeError):
        return False, "who am I answered something other than a SelfSubjectReview"
    who = describe_user(username, kubeconfig_user)
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectRulesReview",
        "spec": {"namespace": namespace},
    }
    path = "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews"
    ok, out = _kubectl([*base, "create", "--raw", path, "-f", "-"], json.dumps(review))
    if not ok:
        return False, f"acts as {who}; its permissions could not be listed: {out}"
    try:
        rules = json.loads(out)["status"]["resourceRules"] or []
    except (ValueError, KeyError, TypeError):
        return False, f"acts as {who}; the rules review answered something unexpected"
    return True, f"acts as {who}; in namespace {namespace}: {summarise_rules(rules)}"

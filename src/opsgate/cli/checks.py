"""The checks behind `opsgate doctor`: binaries, kubeconfig contexts (each one's identity and
permissions, `opsgate.cli.identity`), model, database, where each
security setting came from (environment, `.env` file, generated key file, default), and
Jenkins servers. Each returns `Check`s; none prints keys or tokens. Imported by
`opsgate.cli.doctor` when the command runs (its help must not pay for these imports).
"""

from __future__ import annotations

import subprocess
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import yaml

from opsgate import settings as settings_module
from opsgate.cli import identity
from opsgate.cli.common import local_store, run
from opsgate.errors import ConfigError, OpsgateError, truncate
from opsgate.mcp import http_auth
from opsgate.settings import Settings
from opsgate.store.jenkins_directory import JenkinsDirectory, JenkinsEntry
from opsgate.tools import binaries, registry
from opsgate.tools.base import ToolEnv, ToolOutput

PROBE_TIMEOUT_S = 8


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str | None = None


def _version(argv: list[str]) -> tuple[bool, str]:
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=PROBE_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        return False, str(e)
    output = (done.stdout or done.stderr).strip().splitlines()
    return done.returncode == 0, truncate(output[0] if output else "", 200)


def check_binaries(settings: Settings) -> tuple[list[Check], Path | None]:
    checks: list[Check] = []
    kubectl: Path | None = None
    search_path = settings_module.process_environment().get("PATH", "")
    for name, configured, probe in (
        ("kubectl", settings.kubectl_path, ["version", "--client"]),
        ("helm", settings.helm_path, ["version", "--short"]),
    ):
        try:
            path = binaries.find_binary(
                name,  # type: ignore[arg-type]
                configured=configured,
                tools_dir=settings.tools_dir,
                search_path=search_path,
            )
        except OpsgateError as e:
            checks.append(Check(name, False, "not found", str(e)))
            continue
        ok, version = _version([str(path), *probe])
        checks.append(
            Check(name, ok, f"{path} ({version})", None if ok else f"{path} does not run")
        )
        if name == "kubectl" and ok:
            kubectl = path
    return checks, kubectl


def check_contexts(settings: Settings, kubectl: Path | None) -> list[Check]:
    kubeconfig = settings.kubeconfig
    if kubeconfig is None:
        return [
            Check(
                "kubeconfig",
                False,
                "not configured",
                "set OPSGATE_KUBECONFIG to the kubeconfig opsgate should use "
                "(`opsgate sandbox up` writes one for the local sandbox)",
            )
        ]
    try:
        config = yaml.safe_load(Path(kubeconfig).read_text()) or {}
    except (OSError, yaml.YAMLError) as e:
        return [
            Check("kubeconfig", False, f"{kubeconfig}: {truncate(str(e), 200)}", "fix the file")
        ]
    entries = {
        str(c["name"]): c.get("context") or {}
        for c in config.get("contexts") or []
        if isinstance(c, dict) and c.get("name")
    }
    names = list(entries)
    wanted = settings.contexts or names
    checks = [Check("kubeconfig", True, f"{kubeconfig} ({len(names)} contexts)")]
    for context in wanted:
        if context not in names:
            checks.append(
                Check(f"context {context}", False, "not in the kubeconfig", "fix OPSGATE_CONTEXTS")
            )
            continue
        if kubectl is None:
            checks.append(Check(f"context {context}", False, "kubectl missing", None))
            continue
        ok, detail = _version(
            [
                str(kubectl),
                "--kubeconfig",
                str(kubeconfig),
                "--context",
                context,
                "--request-timeout=5s",
                "get",
                "--raw",
                "/version",
            ]
        )
        checks.append(
            Check(
                f"context {context}",
                ok,
                "reachable" if ok else f"unreachable: {detail}",
                None if ok else "check the cluster is up and the kubeconfig's server address",
            )
        )
        if ok:
            entry = entries[context] if isinstance(entries[context], dict) else {}
            known, said = identity.identity(
                kubectl,
                Path(kubeconfig),
                context,
                str(entry.get("namespace") or "default"),
                str(entry["user"]) if entry.get("user") else None,
            )
            checks.append(
                Check(
                    f"identity {context}",
                    known,
                    said,
                    None if known else "check the context's credentials and RBAC",
                )
            )
    return checks


def check_model(settings: Settings) -> Check:
    model = settings.model
    if not model:
        return Check(
            "model",
            True,
            "none configured (the tool palette and direct calls still work)",
            "to chat, set OPSGATE_MODEL (e.g. openai/gpt-4.1) and OPSGATE_MODEL_API_KEY, "
            "or OPSGATE_MODEL=ollama/llama3.1 for a local Ollama",
        )
    if model.startswith("scripted:"):
        path = Path(model.removeprefix("scripted:"))
        return Check(
            "model",
            path.is_file(),
            f"scripted model {path}",
            None if path.is_file() else "no such file",
        )
    local = model.startswith("ollama/") or settings.model_api_base is not None
    has_key = settings.model_api_key is not None
    return Check(
        "model",
        True,
        f"{model} (API key {'set' if has_key else 'not set in OPSGATE_MODEL_API_KEY'})",
        None if has_key or local else "the provider's own key variable must then be set",
    )


def check_database(settings: Settings) -> Check:
    url = settings.sqlalchemy_url()
    shown = url.split("@")[-1] if "@" in url else url

    async def go() -> int:
        async with local_store(settings) as store:
            return int(await store.count_users())

    try:
        users = run(go())
    except Exception as e:
        return Check(
            "database", False, f"{shown}: {truncate(str(e), 200)}", "check OPSGATE_DATABASE_URL"
        )
    fix = None if users else "create the first admin: `opsgate users add admin --role admin`"
    return Check("database", True, f"{shown} (migrations applied, {users} users)", fix)


def check_setting_origins(settings: Settings, given: Collection[str]) -> list[Check]:
    """Where each security setting came from; a key or bearer token that would be refused."""
    checks = []
    for origin in settings_module.setting_origins(settings, given=given):
        detail, ok, fix = origin.describe(), True, None
        if origin.name == "require_distinct_approver":
            state = "on" if settings.require_distinct_approver else "off (self-approval allowed)"
            detail = f"{state}; {detail}"
        if origin.origin == "env file":
            fix = (
                f"a .env file in the working directory sets {origin.variable}; "
                "set it in the environment of the service instead"
            )
        try:
            if origin.name in ("approval_key", "secret_key") and origin.origin != "default":
                settings.key(origin.name)  # type: ignore[arg-type]
            if origin.name == "mcp_http_token" and settings.mcp_http_token is not None:
                http_auth.require_strong_token(settings.mcp_http_token.get_secret_value())
        except ConfigError as e:
            ok, fix = False, str(e)
        checks.append(Check(f"setting {origin.name}", ok, detail, fix))
    return checks


JENKINS_SOURCES = {"settings": "from settings", "database": "added through the admin API"}


def check_jenkins(settings: Settings) -> list[Check]:
    """Every Jenkins server the tools may name (the same directory they use), and whether it
    answers `jenkins_whoami` with its credentials."""

    async def go() -> list[Check]:
        async with local_store(settings) as store:
            directory = JenkinsDirectory(store, settings.jenkins)
            # Jenkins tools speak HTTP only; the binary paths just complete the environment.
            env = ToolEnv(
                runner=binaries.runner_from_settings(settings),
                kubectl=settings.tools_dir / "kubectl",
                helm=settings.tools_dir / "helm",
                command_timeout_s=PROBE_TIMEOUT_S,
                jenkins=directory,
            )
            return [await _probe_jenkins(entry, env) for entry in await directory.entries()]

    try:
        checks = run(go())
    except OpsgateError as e:
        return [Check("jenkins", False, truncate(str(e), 200), "check OPSGATE_DATABASE_URL")]
    return checks or [
        Check(
            "jenkins",
            True,
            "no server configured",
            "add one in the Command Center (Admin settings, Jenkins servers) or with "
            "OPSGATE_JENKINS__<NAME>__URL, __USER and __TOKEN",
        )
    ]


async def _probe_jenkins(entry: JenkinsEntry, env: ToolEnv) -> Check:
    name = f"jenkins {entry.name}"
    source = JENKINS_SOURCES[entry.source]
    if not entry.in_use:
        return Check(
            name,
            True,
            f"{entry.url} ({source}) is not used: settings define a server of the same name",
            "remove it in the Command Center (Admin settings, Jenkins servers)",
        )
    whoami = registry.all_tools()["jenkins_whoami"]
    try:
        output = await whoami.run(whoami.parse({"server": entry.name}), env)
    except OpsgateError as e:
        output = ToolOutput(ok=False, text=str(e))
    if output.ok:
        user = (output.data or {}).get("user")
        return Check(name, True, f"{entry.url} as {user!r} ({source})")
    fix = (
        f"check OPSGATE_JENKINS__{entry.name.upper()}__URL, __USER and __TOKEN"
        if entry.source == "settings"
        else "check its URL, user and API token in the Command Center (Admin settings)"
    )
    return Check(name, False, f"{entry.url} ({source}): {truncate(output.text, 200)}", fix)

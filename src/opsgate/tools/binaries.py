"""Finding kubectl and helm, and building the `ToolEnv` every tool run receives.

Called by the MCP server (and the CLI's `doctor`) at start-up. Binaries are found by full
path in a fixed order: the configured path, then the project's `.tools/bin`, then `PATH`.
So a stray system `kubectl` is never picked while the pinned one is installed.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from opsgate import settings as settings_module
from opsgate.errors import BinaryNotFound
from opsgate.settings import Settings
from opsgate.tools.base import CommandRunner, JenkinsServers, ToolEnv
from opsgate.tools.native.pool import ApiPool
from opsgate.tools.runner import SubprocessRunner, child_env

BinaryName = Literal["kubectl", "helm"]

VERIFY_SHARE_OF_ENGINE_BOUND = 0.75
"""How much of the engine's bound on a verify a rollout wait may use (90 s of 120 by default)."""


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def find_binary(
    name: BinaryName,
    *,
    configured: Path | None,
    tools_dir: Path | None,
    search_path: str | None,
) -> Path:
    """The absolute path of `name`: configured, else in `tools_dir`, else on `search_path`.

    Raises:
        BinaryNotFound: none of the three has it (the message says how to fix that).
    """
    if configured is not None:
        if _is_executable(configured):
            return configured.absolute()
        raise BinaryNotFound(
            f"the configured {name} {str(configured)!r} is not an executable file; "
            f"fix OPSGATE_{name.upper()}_PATH"
        )
    if tools_dir is not None and _is_executable(tools_dir / name):
        return (tools_dir / name).absolute()
    if search_path:
        found = shutil.which(name, path=search_path)
        if found is not None:
            return Path(found).absolute()
    raise BinaryNotFound(
        f"{name!r} not found in {str(tools_dir)!r} nor on PATH; run `make setup` "
        f"or set OPSGATE_{name.upper()}_PATH"
    )


def runner_from_settings(
    settings: Settings, inherited: Mapping[str, str] | None = None
) -> SubprocessRunner:
    """The real runner with the settings' limits and an allowlisted copy of `inherited`."""
    source = settings_module.process_environment() if inherited is None else inherited
    return SubprocessRunner(
        env=child_env(source),
        timeout_s=settings.command_timeout_s,
        output_cap_bytes=settings.output_cap_bytes,
    )


def tool_env_from_settings(
    settings: Settings,
    runner: CommandRunner,
    *,
    jenkins: JenkinsServers,
    search_path: str | None = None,
) -> ToolEnv:
    """A `ToolEnv` for `runner` with binaries located and limits taken from `settings`.

    Args:
        settings: the one settings object.
        runner: the command runner (`runner_from_settings(settings)` in production).
        jenkins: the Jenkins servers tools may name (the tool servers pass the directory
            of database and settings servers, `opsgate.store.jenkins_directory`).
        search_path: the `PATH` to fall back to; defaults to this process's `PATH`.
    """
    if search_path is None:
        search_path = settings_module.process_environment().get("PATH", "")
    return ToolEnv(
        runner=runner,
        kubectl=find_binary(
            "kubectl",
            configured=settings.kubectl_path,
            tools_dir=settings.tools_dir,
            search_path=search_path,
        ),
        helm=find_binary(
            "helm",
            configured=settings.helm_path,
            tools_dir=settings.tools_dir,
            search_path=search_path,
        ),
        kubeconfig=settings.kubeconfig,
        default_context=settings.default_context,
        cluster_identity=dict(settings.cluster_identity),
        command_timeout_s=settings.command_timeout_s,
        # The engine bounds a verify at twice the command timeout; waiting for a rollout
        # stops well before that, so the verify reports what it saw instead of being cut off.
        verify_timeout_s=settings.command_timeout_s * VERIFY_SHARE_OF_ENGINE_BOUND * 2,
        output_cap_bytes=settings.output_cap_bytes,
        jenkins=jenkins,
        helm_home=settings.data_dir / "helm",
        api=_api_pool(settings, runner),
    )


def _api_pool(settings: Settings, runner: CommandRunner) -> ApiPool | None:
    if not settings.native_reads:
        return None
    # Exec credential plugins get what kubectl would get: the runner's environment.
    if isinstance(runner, SubprocessRunner):
        return ApiPool(base_env=runner.env)
    return ApiPool(base_env=child_env(settings_module.process_environment()))

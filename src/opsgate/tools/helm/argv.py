"""Pure argv builders of the helm tools, and the environment helm runs with.

Used by `reads.py`, `mutations.py` and `recipes.py`; tested without running anything. Every
argv starts with helm's full path, `--kubeconfig` (when configured) and `--kube-context`, so a
call never depends on the environment's current context. Helm keeps its cache, config and
repositories under `ToolEnv.helm_home`, never the user's `$HOME`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from opsgate.tools.base import ToolEnv
from opsgate.tools.helm import params as p

DEFAULT_HELM_HOME = Path(".opsgate") / "helm"
"""Used only when the server was built without `helm_home` (mirrors the default data dir)."""


@dataclass(frozen=True)
class Target:
    """Which binary, kubeconfig and context a helm call uses."""

    helm: str
    kubeconfig: str | None
    context: str | None

    @classmethod
    def of(cls, env: ToolEnv, context: str | None = None) -> Target:
        return cls(
            helm=str(env.helm),
            kubeconfig=str(env.kubeconfig) if env.kubeconfig is not None else None,
            context=context if context is not None else env.default_context,
        )

    def head(self) -> list[str]:
        argv = [self.helm]
        if self.kubeconfig is not None:
            argv += ["--kubeconfig", self.kubeconfig]
        if self.context is not None:
            argv += ["--kube-context", self.context]
        return argv


def helm_environment(env: ToolEnv) -> dict[str, str]:
    """HELM_*_HOME pointed under the server's helm directory."""
    home = (env.helm_home if env.helm_home is not None else DEFAULT_HELM_HOME).absolute()
    return {
        "HELM_CACHE_HOME": str(home / "cache"),
        "HELM_CONFIG_HOME": str(home / "config"),
        "HELM_DATA_HOME": str(home / "data"),
    }


def _namespace(namespace: str | None) -> list[str]:
    return ["--namespace", namespace] if namespace is not None else []


def _revision(revision: int | None) -> list[str]:
    return ["--revision", str(revision)] if revision is not None else []


def _version(version: str | None) -> list[str]:
    return ["--version", version] if version is not None else []


def _values(params: p.ValuesParams, values_file: str | None) -> list[str]:
    argv = ["--values", values_file] if values_file is not None else []
    for key, value in params.set.items():
        argv += ["--set", f"{key}={value}"]
    return argv


def _wait(wait: bool, timeout_s: int) -> list[str]:
    return (["--wait=watcher"] if wait else []) + ["--timeout", f"{timeout_s}s"]


# Reads


def helm_list(params: p.ListParams, target: Target) -> list[str]:
    scope = ["--all-namespaces"] if params.all_namespaces else _namespace(params.namespace)
    status = [f"--{params.status}"] if params.status is not None else []
    return [*target.head(), "list", *scope, *status, "--output", params.output]


def helm_status(params: p.StatusParams, target: Target) -> list[str]:
    return [
        *target.head(),
        "status",
        params.release,
        *_namespace(params.namespace),
        *_revision(params.revision),
        "--output",
        params.output,
    ]


def helm_history(params: p.HistoryParams, target: Target) -> list[str]:
    return [
        *target.head(),
        "history",
        params.release,
        *_namespace(params.namespace),
        "--max",
        str(params.max),
        "--output",
        params.output,
    ]


def helm_get_values(params: p.GetValuesParams, target: Target) -> list[str]:
    return [
        *target.head(),
        "get",
        "values",
        params.release,
        *_namespace(params.namespace),
        *_revision(params.revision),
        *(["--all"] if params.all else []),
        "--output",
        "yaml",
    ]


def helm_get_manifest(params: p.GetManifestParams, target: Target) -> list[str]:
    return [
        *target.head(),
        "get",
        "manifest",
        params.release,
        *_namespace(params.namespace),
        *_revision(params.revision),
    ]


def helm_show_values(params: p.ChartParams, target: Target) -> list[str]:
    return [*target.head(), "show", "values", params.chart, *_version(params.version)]


def helm_search_repo(params: p.SearchParams, target: Target) -> list[str]:
    keyword = [params.keyword] if params.keyword is not None else []
    versions = ["--versions"] if params.versions else []
    return [*target.head(), "search", "repo", *keyword, *_version(params.version), *versions]


def helm_template(params: p.TemplateParams, target: Target, values_file: str | None) -> list[str]:
    return [
        *target.head(),
        "template",
        params.release,
        params.chart,
        *_namespace(params.namespace),
        *_version(params.version),
        *_values(params, values_file),
    ]


def upgrade_dry_run(params: p.ValuesParams, target: Target, values_file: str | None) -> list[str]:
    """`helm upgrade --dry-run=server` as JSON: the manifest an upgrade would apply.

    `--install` is always set so a release that does not exist yet diffs against nothing.
    """
    return [
        *target.head(),
        "upgrade",
        params.release,
        params.chart,
        "--install",
        *_namespace(params.namespace),
        *_version(params.version),
        *_values(params, values_file),
        *(["--reuse-values"] if getattr(params, "reuse_values", False) else []),
        "--dry-run=server",
        "--output",
        "json",
    ]


def current_manifest(release: str, namespace: str | None, target: Target) -> list[str]:
    return [*target.head(), "get", "manifest", release, *_namespace(namespace)]


def revision_manifest(
    release: str, namespace: str | None, revision: int, target: Target
) -> list[str]:
    return [*current_manifest(release, namespace, target), "--revision", str(revision)]


# Mutations


def helm_install(params: p.InstallParams, target: Target, values_file: str | None) -> list[str]:
    return [
        *target.head(),
        "install",
        params.release,
        params.chart,
        *_namespace(params.namespace),
        *(["--create-namespace"] if params.create_namespace else []),
        *_version(params.version),
        *_values(params, values_file),
        *_wait(params.wait, params.timeout_s),
    ]


def helm_upgrade(params: p.UpgradeParams, target: Target, values_file: str | None) -> list[str]:
    return [
        *target.head(),
        "upgrade",
        params.release,
        params.chart,
        *(["--install"] if params.install else []),
        *_namespace(params.namespace),
        *(["--create-namespace"] if params.create_namespace and params.install else []),
        *_version(params.version),
        *_values(params, values_file),
        *(["--reuse-values"] if params.reuse_values else []),
        *_wait(params.wait, params.timeout_s),
    ]


def helm_uninstall(params: p.UninstallParams, target: Target) -> list[str]:
    return [
        *target.head(),
        "uninstall",
        params.release,
        *_namespace(params.namespace),
        *(["--keep-history"] if params.keep_history else []),
        *_wait(params.wait, params.timeout_s),
    ]


def helm_rollback(params: p.RollbackParams, target: Target) -> list[str]:
    revision = [str(params.revision)] if params.revision is not None else []
    return [
        *target.head(),
        "rollback",
        params.release,
        *revision,
        *_namespace(params.namespace),
        *_wait(params.wait, params.timeout_s),
    ]


def helm_repo_add(params: p.RepoAddParams, target: Target) -> list[str]:
    force = ["--force-update"] if params.force_update else []
    return [*target.head(), "repo", "add", params.name, params.url, *force]


def helm_repo_update(params: p.RepoUpdateParams, target: Target) -> list[str]:
    return [*target.head(), "repo", "update", *params.names]


def helm_repo_remove(params: p.RepoRemoveParams, target: Target) -> list[str]:
    return [*target.head(), "repo", "remove", params.name]


def repo_list(target: Target) -> list[str]:
    return [*target.head(), "repo", "list", "--output", "json"]

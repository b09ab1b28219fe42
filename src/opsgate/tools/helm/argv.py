"""Pure argv builders of the helm tools; each tool's builder is named after it and its
docstring is the description the model reads.

Used by `reads.py`, `mutations.py`, `previews.py` and `releases.py`; tested without running
anything. Every argv starts with `Target.head()`: helm's full path, `--kubeconfig` (when
configured) and `--kube-context`, so a call never depends on the environment's current context.
"""

from __future__ import annotations

from opsgate.tools.command import Target, namespace_args
from opsgate.tools.helm import params as p


def _revision(revision: int | None) -> list[str]:
    return ["--revision", str(revision)] if revision is not None else []


def _version(version: str | None) -> list[str]:
    return ["--version", version] if version is not None else []


def _values(params: p.ValuesParams | p.LintParams, values_file: str | None) -> list[str]:
    argv = ["--values", values_file] if values_file is not None else []
    for key, value in params.set.items():
        argv += ["--set", f"{key}={value}"]
    return argv


def _wait(wait: bool, timeout_s: int) -> list[str]:
    return (["--wait=watcher"] if wait else []) + ["--timeout", f"{timeout_s}s"]


# Reads


def helm_list(params: p.ListParams, target: Target) -> list[str]:
    """List Helm releases in a namespace (or all namespaces) with chart, revision and status."""
    scope = ["--all-namespaces"] if params.all_namespaces else namespace_args(params.namespace)
    status = [f"--{params.status}"] if params.status is not None else []
    return [*target.head(), "list", *scope, *status, "--output", params.output]


def helm_status(params: p.StatusParams, target: Target) -> list[str]:
    """Show a release's status: revision, deployment state, last deployed time and notes."""
    return [
        *target.head(),
        "status",
        params.release,
        *namespace_args(params.namespace),
        *_revision(params.revision),
        "--output",
        params.output,
    ]


def helm_history(params: p.HistoryParams, target: Target) -> list[str]:
    """List a release's revisions with their status, chart version and description."""
    return [
        *target.head(),
        "history",
        params.release,
        *namespace_args(params.namespace),
        "--max",
        str(params.max),
        "--output",
        params.output,
    ]


def helm_get_values(params: p.GetValuesParams, target: Target) -> list[str]:
    """Show the values a release was deployed with (secret-looking values redacted)."""
    return [
        *target.head(),
        "get",
        "values",
        params.release,
        *namespace_args(params.namespace),
        *_revision(params.revision),
        *(["--all"] if params.all else []),
        "--output",
        "yaml",
    ]


def helm_get_manifest(params: p.GetManifestParams, target: Target) -> list[str]:
    """Show the Kubernetes manifest a release deployed (Secret data redacted)."""
    return [
        *target.head(),
        "get",
        "manifest",
        params.release,
        *namespace_args(params.namespace),
        *_revision(params.revision),
    ]


def helm_show_values(params: p.ChartParams, target: Target) -> list[str]:
    """Show a chart's default values (values.yaml) for a chart version."""
    return [*target.head(), "show", "values", params.chart, *_version(params.version)]


def helm_search_repo(params: p.SearchParams, target: Target) -> list[str]:
    """Search the added chart repositories for charts by keyword."""
    keyword = [params.keyword] if params.keyword is not None else []
    versions = ["--versions"] if params.versions else []
    return [*target.head(), "search", "repo", *keyword, *_version(params.version), *versions]


def helm_template(params: p.TemplateParams, target: Target, values_file: str | None) -> list[str]:
    """Render a chart's manifests with the given values, locally; with `validate`, also check
    them against the cluster as an install would (nothing is created)."""
    return [
        *target.head(),
        "template",
        params.release,
        params.chart,
        *namespace_args(params.namespace),
        *_version(params.version),
        *_values(params, values_file),
        *(["--dry-run=server"] if params.validate_objects else []),
    ]


def helm_lint(params: p.LintParams, target: Target, values_file: str | None) -> list[str]:
    """Check a local chart for problems (helm lint): malformed Chart.yaml or templates, missing
    values; with `strict`, warnings fail too. Reads files only."""
    return [
        *target.head(),
        "lint",
        params.chart,
        *_values(params, values_file),
        *(["--strict"] if params.strict else []),
    ]


def dependency_list(chart: str, target: Target) -> list[str]:
    return [*target.head(), "dependency", "list", chart]


def release_hooks(release: str, namespace: str | None, target: Target) -> list[str]:
    return [*target.head(), "get", "hooks", release, *namespace_args(namespace)]


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
        *namespace_args(params.namespace),
        *_version(params.version),
        *_values(params, values_file),
        *(["--reuse-values"] if getattr(params, "reuse_values", False) else []),
        "--dry-run=server",
        "--output",
        "json",
    ]


def current_manifest(release: str, namespace: str | None, target: Target) -> list[str]:
    return [*target.head(), "get", "manifest", release, *namespace_args(namespace)]


def revision_manifest(
    release: str, namespace: str | None, revision: int, target: Target
) -> list[str]:
    return [*current_manifest(release, namespace, target), "--revision", str(revision)]


# Mutations


def helm_install(params: p.InstallParams, target: Target, values_file: str | None) -> list[str]:
    """Install a chart as a new release, with values YAML and/or `set` pairs, optionally creating
    the namespace and waiting (bounded) for its resources to be ready."""
    return [
        *target.head(),
        "install",
        params.release,
        params.chart,
        *namespace_args(params.namespace),
        *(["--create-namespace"] if params.create_namespace else []),
        *_version(params.version),
        *_values(params, values_file),
        *_wait(params.wait, params.timeout_s),
    ]


def helm_upgrade(params: p.UpgradeParams, target: Target, values_file: str | None) -> list[str]:
    """Upgrade a release to a chart version and/or new values (optionally installing it if
    missing), waiting (bounded) for its resources when asked."""
    return [
        *target.head(),
        "upgrade",
        params.release,
        params.chart,
        *(["--install"] if params.install else []),
        *namespace_args(params.namespace),
        *(["--create-namespace"] if params.create_namespace and params.install else []),
        *_version(params.version),
        *_values(params, values_file),
        *(["--reuse-values"] if params.reuse_values else []),
        *_wait(params.wait, params.timeout_s),
    ]


def helm_test(params: p.ReleaseTestParams, target: Target) -> list[str]:
    """Run a release's test hooks (helm test): the pods or jobs its chart marks
    `helm.sh/hook: test` are created and must succeed, bounded by `timeout_s`."""
    return [
        *target.head(),
        "test",
        params.release,
        *namespace_args(params.namespace),
        "--timeout",
        f"{params.timeout_s}s",
        *(["--logs"] if params.logs else []),
    ]


def helm_dependency_build(params: p.DependencyBuildParams, target: Target) -> list[str]:
    """Download a local chart's dependencies into its `charts/` directory (helm dependency
    build), the versions `Chart.lock` pins (writing `Chart.lock` when there is none)."""
    refresh = ["--skip-refresh"] if params.skip_refresh else []
    return [*target.head(), "dependency", "build", params.chart, *refresh]


def helm_uninstall(params: p.UninstallParams, target: Target) -> list[str]:
    """Uninstall a release, deleting every Kubernetes object it created."""
    return [
        *target.head(),
        "uninstall",
        params.release,
        *namespace_args(params.namespace),
        *(["--keep-history"] if params.keep_history else []),
        *_wait(params.wait, params.timeout_s),
    ]


def helm_rollback(params: p.RollbackParams, target: Target) -> list[str]:
    """Roll a release back to an earlier revision (the previous one by default)."""
    revision = [str(params.revision)] if params.revision is not None else []
    return [
        *target.head(),
        "rollback",
        params.release,
        *revision,
        *namespace_args(params.namespace),
        *_wait(params.wait, params.timeout_s),
    ]


def helm_repo_add(params: p.RepoAddParams, target: Target) -> list[str]:
    """Add a chart repository (https URL) to opsgate's helm configuration."""
    force = ["--force-update"] if params.force_update else []
    return [*target.head(), "repo", "add", params.name, params.url, *force]


def helm_repo_update(params: p.RepoUpdateParams, target: Target) -> list[str]:
    """Refresh the chart indexes of the added repositories (all, or the named ones)."""
    return [*target.head(), "repo", "update", *params.names]


def helm_repo_remove(params: p.RepoRemoveParams, target: Target) -> list[str]:
    """Remove a chart repository from opsgate's helm configuration."""
    return [*target.head(), "repo", "remove", params.name]


def status_json(release: str, namespace: str | None, target: Target) -> list[str]:
    return [*target.head(), "status", release, *namespace_args(namespace), "--output", "json"]


def repo_list(target: Target) -> list[str]:
    return [*target.head(), "repo", "list", "--output", "json"]

"""Helm argv builders (pure), parameter validation, annotations, and the values temp file."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from opsgate.tools import helm
from opsgate.tools.base import CommandResult, ToolEnv
from opsgate.tools.command import Target
from opsgate.tools.helm import argv as a
from opsgate.tools.helm import params as p

TARGET = Target(binary="helm", path="/opt/helm", kubeconfig="/cfg/kubeconfig", context="dev")
HEAD = ["/opt/helm", "--kubeconfig", "/cfg/kubeconfig", "--kube-context", "dev"]
TOOLS = {tool.name: tool for tool in helm.TOOLS}


@dataclass
class ValuesSpy:
    """A runner that records argv and helm's env, and reads the values file while it exists."""

    argv: list[tuple[str, ...]] = field(default_factory=list)
    envs: list[dict[str, str]] = field(default_factory=list)
    values_seen: list[str] = field(default_factory=list)

    async def run(
        self,
        argv: Sequence[str],
        *,
        stdin: bytes | None = None,
        timeout_s: float | None = None,
        env: Mapping[str, str] | None = None,
        stdout_cap_bytes: int | None = None,
    ) -> CommandResult:
        self.argv.append(tuple(argv))
        self.envs.append(dict(env or {}))
        if "--values" in argv:
            self.values_seen.extend(_peek(Path(argv[argv.index("--values") + 1])))
        return CommandResult(argv=tuple(argv), exit_code=0, stdout="ok", stderr="", duration_ms=1)


def _peek(path: Path) -> list[str]:
    """The file's text and permission bits, read while the tool is running."""
    return [path.read_text(), oct(path.stat().st_mode & 0o777)]


def _exists(path: Path) -> bool:
    return path.exists()


def test_the_family_has_the_nineteen_tools_with_deliberate_annotations() -> None:
    reads = {name for name, tool in TOOLS.items() if tool.annotations.read_only}
    assert reads == {
        "helm_list",
        "helm_status",
        "helm_history",
        "helm_get_values",
        "helm_get_manifest",
        "helm_show_values",
        "helm_search_repo",
        "helm_template",
        "helm_diff",
        "helm_lint",
    }
    destructive = {name for name, tool in TOOLS.items() if tool.annotations.destructive}
    assert destructive == {"helm_uninstall", "helm_rollback"}
    assert len(TOOLS) == 19
    assert all(tool.family == "helm" for tool in TOOLS.values())
    # helm_lint reads local files only; helm_test starts pods (images pulled);
    # helm_dependency_build writes into the chart directory what it fetches.
    assert not TOOLS["helm_lint"].annotations.open_world
    assert TOOLS["helm_test"].annotations.open_world
    assert not TOOLS["helm_test"].annotations.idempotent
    assert TOOLS["helm_dependency_build"].annotations.open_world
    assert TOOLS["helm_dependency_build"].annotations.idempotent
    for name in (
        "helm_install",
        "helm_upgrade",
        "helm_rollback",
        "helm_uninstall",
        "helm_test",
        "helm_dependency_build",
    ):
        assert TOOLS[name].preview is not None, name
        assert TOOLS[name].verify is not None, name


def test_reads_carry_kubeconfig_and_context_explicitly() -> None:
    assert a.helm_list(p.ListParams(namespace="shop"), TARGET) == [
        *HEAD,
        "list",
        "--namespace",
        "shop",
        "--output",
        "table",
    ]
    assert a.helm_list(p.ListParams(all_namespaces=True, status="failed"), TARGET) == [
        *HEAD,
        "list",
        "--all-namespaces",
        "--failed",
        "--output",
        "table",
    ]
    status = p.StatusParams(release="web", namespace="shop", revision=3, output="json")
    assert a.helm_status(status, TARGET) == [
        *HEAD,
        "status",
        "web",
        "--namespace",
        "shop",
        "--revision",
        "3",
        "--output",
        "json",
    ]
    assert a.helm_get_values(p.GetValuesParams(release="web", all=True), TARGET) == [
        *HEAD,
        "get",
        "values",
        "web",
        "--all",
        "--output",
        "yaml",
    ]
    assert a.helm_search_repo(p.SearchParams(keyword="nginx", versions=True), TARGET) == [
        *HEAD,
        "search",
        "repo",
        "nginx",
        "--versions",
    ]


def test_target_without_kubeconfig_or_context_adds_neither() -> None:
    bare = Target(binary="helm", path="/opt/helm", kubeconfig=None, context=None)
    assert a.helm_repo_update(p.RepoUpdateParams(), bare) == ["/opt/helm", "repo", "update"]


def test_upgrade_argv_has_values_set_version_namespace_wait_and_install() -> None:
    params = p.UpgradeParams(
        release="web",
        chart="stable/web",
        version="1.2.3",
        namespace="shop",
        set={"image.tag": "1.27", "replicaCount": "3"},
        install=True,
        create_namespace=True,
        wait=True,
        timeout_s=120,
    )
    assert a.helm_upgrade(params, TARGET, "/tmp/v/values.yaml") == [
        *HEAD,
        "upgrade",
        "web",
        "stable/web",
        "--install",
        "--namespace",
        "shop",
        "--create-namespace",
        "--version",
        "1.2.3",
        "--values",
        "/tmp/v/values.yaml",
        "--set",
        "image.tag=1.27",
        "--set",
        "replicaCount=3",
        "--wait=watcher",
        "--timeout",
        "120s",
    ]


def test_install_uninstall_rollback_repo_argv() -> None:
    install = p.InstallParams(release="web", chart="/srv/charts/web", namespace="shop")
    assert a.helm_install(install, TARGET, None) == [
        *HEAD,
        "install",
        "web",
        "/srv/charts/web",
        "--namespace",
        "shop",
        "--timeout",
        "300s",
    ]
    uninstall = p.UninstallParams(release="web", keep_history=True)
    assert a.helm_uninstall(uninstall, TARGET) == [
        *HEAD,
        "uninstall",
        "web",
        "--keep-history",
        "--timeout",
        "300s",
    ]
    rollback = p.RollbackParams(release="web", revision=2, wait=True, timeout_s=60)
    assert a.helm_rollback(rollback, TARGET) == [
        *HEAD,
        "rollback",
        "web",
        "2",
        "--wait=watcher",
        "--timeout",
        "60s",
    ]
    repo = p.RepoAddParams(name="acme", url="https://charts.example.com/stable")
    assert a.helm_repo_add(repo, TARGET) == [
        *HEAD,
        "repo",
        "add",
        "acme",
        "https://charts.example.com/stable",
    ]


def test_lint_test_dependency_build_and_validating_template_argv() -> None:
    lint = p.LintParams(chart="/srv/charts/web", set={"image.tag": "1.27"}, strict=True)
    assert a.helm_lint(lint, TARGET, "/tmp/v/values.yaml") == [
        *HEAD,
        "lint",
        "/srv/charts/web",
        "--values",
        "/tmp/v/values.yaml",
        "--set",
        "image.tag=1.27",
        "--strict",
    ]
    tested = p.ReleaseTestParams(release="web", namespace="shop", timeout_s=120, logs=True)
    assert a.helm_test(tested, TARGET) == [
        *HEAD,
        "test",
        "web",
        "--namespace",
        "shop",
        "--timeout",
        "120s",
        "--logs",
    ]
    build = p.DependencyBuildParams(chart="/srv/charts/web", skip_refresh=True)
    assert a.helm_dependency_build(build, TARGET) == [
        *HEAD,
        "dependency",
        "build",
        "/srv/charts/web",
        "--skip-refresh",
    ]
    template = p.TemplateParams.model_validate(
        {"release": "web", "chart": "/srv/charts/web", "validate": True}
    )
    assert a.helm_template(template, TARGET, None) == [
        *HEAD,
        "template",
        "web",
        "/srv/charts/web",
        "--dry-run=server",
    ]


@pytest.mark.parametrize(
    ("model", "args", "parameter"),
    [
        (p.LintParams, {"chart": "stable/web"}, "chart"),
        (p.LintParams, {"chart": "oci://registry.example.com/web"}, "chart"),
        (p.DependencyBuildParams, {"chart": "charts/web"}, "chart"),
        (p.ReleaseTestParams, {"release": "web", "timeout_s": 0}, "timeout_s"),
        (p.ReleaseTestParams, {"release": "web", "timeout_s": 901}, "timeout_s"),
    ],
)
def test_chart_directories_and_test_bounds_are_checked(
    model: type[p.ToolParams], args: dict[str, Any], parameter: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(args)
    assert any(error["loc"][0] == parameter for error in caught.value.errors())


def test_diff_dry_run_is_server_side_and_never_persists() -> None:
    params = p.DiffParams(release="web", chart="stable/web", set={"a": "b"})
    argv = a.upgrade_dry_run(params, TARGET, None)
    assert "--dry-run=server" in argv
    assert argv[argv.index("--output") + 1] == "json"
    assert "--wait=watcher" not in argv


@pytest.mark.parametrize(
    ("model", "args", "parameter"),
    [
        (p.RepoAddParams, {"name": "acme", "url": "http://charts.example.com"}, "url"),
        (p.RepoAddParams, {"name": "acme", "url": "https://user:pw@charts.example.com"}, "url"),
        (p.RepoAddParams, {"name": "acme", "url": "/srv/charts"}, "url"),
        (p.UpgradeParams, {"release": "web", "chart": "a/b", "timeout_s": 10_000}, "timeout_s"),
        (p.UpgradeParams, {"release": "web", "chart": "a/b", "set": {"a": "x,b=y"}}, "set"),
        (p.UpgradeParams, {"release": "web", "chart": "a/b", "set": {"a": "{x}"}}, "set"),
        (p.UpgradeParams, {"release": "web", "chart": "a/b", "set": {"a=b": "x"}}, "set"),
        (
            p.UpgradeParams,
            {"release": "web", "chart": "a/b", "values_yaml": "- 1\n"},
            "values_yaml",
        ),
        (
            p.UpgradeParams,
            {"release": "web", "chart": "a/b", "values_yaml": "a: [\n"},
            "values_yaml",
        ),
        (p.UpgradeParams, {"release": "Web", "chart": "a/b"}, "release"),
        (p.UpgradeParams, {"release": "w" * 54, "chart": "a/b"}, "release"),
        (p.UpgradeParams, {"release": "web", "chart": "relative/../x"}, "chart"),
        (p.UpgradeParams, {"release": "web", "chart": "a/b", "kubeconfig": "/x"}, "kubeconfig"),
    ],
)
def test_bad_values_are_refused_naming_the_parameter(
    model: type[p.ToolParams], args: dict[str, Any], parameter: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(args)
    assert any(error["loc"][0] == parameter for error in caught.value.errors())


def test_chart_references_of_every_kind_are_accepted() -> None:
    for chart in ("bitnami/nginx", "oci://registry.example.com:5000/charts/web", "/srv/charts/web"):
        assert p.ChartParams(chart=chart).chart == chart


async def test_values_yaml_goes_through_a_private_temp_file_removed_afterwards(
    tmp_path: Path,
) -> None:
    spy = ValuesSpy()
    env = ToolEnv(
        runner=spy, kubectl=Path("/opt/kubectl"), helm=Path("/opt/helm"), helm_home=tmp_path
    )
    params = TOOLS["helm_upgrade"].parse(
        {"release": "web", "chart": "a/b", "values_yaml": "replicaCount: 2\n"}
    )
    output = await TOOLS["helm_upgrade"].run(params, env)
    assert output.ok
    assert spy.values_seen == ["replicaCount: 2\n", "0o600"]
    values_path = Path(spy.argv[0][spy.argv[0].index("--values") + 1])
    assert not _exists(values_path)
    assert not _exists(values_path.parent)
    assert spy.envs[0] == {
        "HELM_CACHE_HOME": str(tmp_path / "cache"),
        "HELM_CONFIG_HOME": str(tmp_path / "config"),
        "HELM_DATA_HOME": str(tmp_path / "data"),
    }

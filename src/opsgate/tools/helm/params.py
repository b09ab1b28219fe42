"""Parameter models of the helm tools: what the model may pass, validated field by field.

Used by `reads.py` and `mutations.py` (each tool names its model) and, through `Tool.params`,
by the MCP server for the JSON schema. Helm-specific grammars (release, chart reference,
repository URL, `set` pairs, values YAML) live here; shared ones come from `tools.validate`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

import yaml
from pydantic import AfterValidator, Field

from opsgate.tools import validate
from opsgate.tools.base import NamespacedParams, ToolParams
from opsgate.tools.validate import grammar

MAX_WAIT_S = 900
MAX_VALUES_BYTES = 256 * 1024


ReleaseName = Annotated[
    str,
    grammar(validate.SUBDOMAIN_PATTERN, "a release name (lowercase letters, digits, '-', '.')", 53),
]
"""A Helm release name: a DNS-1123 subdomain of at most 53 characters."""

RepoName = Annotated[
    str, grammar(r"[a-z0-9]([-a-z0-9_.]*[a-z0-9])?", "a repository name such as 'bitnami'", 63)
]

_CHART_NAME = r"[A-Za-z0-9][A-Za-z0-9_.-]*"
_REPO_CHART = rf"[a-z0-9]([-a-z0-9_.]*[a-z0-9])?/{_CHART_NAME}"
_OCI_CHART = r"oci://[A-Za-z0-9][A-Za-z0-9.-]*(:[0-9]+)?(/[A-Za-z0-9][A-Za-z0-9_.-]*)+"
_LOCAL_PATH = validate.LOCAL_PATH_PATTERN

ChartRef = Annotated[
    str,
    grammar(
        rf"{_REPO_CHART}|{_OCI_CHART}|{_LOCAL_PATH}",
        "a chart reference: 'repo/chart', 'oci://registry/path/chart' or an absolute local path",
        512,
    ),
]
"""Where a chart comes from: an added repository, an OCI registry, or a directory/archive."""

LocalChart = Annotated[
    str,
    grammar(_LOCAL_PATH, "an absolute path to a chart directory, e.g. '/srv/charts/web'", 512),
]
"""A chart directory on the tool server (what `helm lint` and `helm dependency` work on)."""

ChartVersion = Annotated[
    str,
    grammar(
        r"[~^]?v?[0-9A-Za-z][0-9A-Za-z.+_-]*",
        "a chart version such as '1.2.3' or a constraint such as '^1.2'",
        64,
    ),
]

RepoUrl = Annotated[
    str,
    grammar(
        r"https://[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]+)?(/[A-Za-z0-9_.~%+-]*)*",
        "an https URL without credentials, e.g. 'https://charts.example.com/stable'",
        512,
    ),
]
"""A chart repository URL: `https://` only, credentials never in the URL.

Helm has no protocol handler for local directories as repositories; local charts are used
directly by path (`chart="/srv/charts/web"`) in install, upgrade, template and diff.
"""

SearchKeyword = Annotated[
    str, grammar(r"[A-Za-z0-9][A-Za-z0-9_./-]*", "a keyword such as 'nginx' or 'repo/chart'", 128)
]

SetKey = Annotated[
    str,
    grammar(
        r"[A-Za-z0-9_]+(\[[0-9]+\])?(\.[A-Za-z0-9_-]+(\[[0-9]+\])?)*",
        "a values path such as 'image.tag' or 'ingress.hosts[0]'",
        253,
    ),
]


def _check_set_value(value: str) -> str:
    """A `--set` value: commas, braces and escapes would smuggle in more keys, so they are out."""
    if value == "":
        return value
    if value.startswith("-"):
        raise ValueError("must not start with '-' (pass negative numbers in values_yaml)")
    if not value.isascii() or any(not char.isprintable() for char in value):
        raise ValueError("must be printable ASCII without newlines")
    if ".." in value:
        raise ValueError("must not contain '..'")
    if re.search(r"[,{}\[\]\\\"'`$;|&<>]", value):
        raise ValueError("must not contain , { } [ ] \\ quotes or shell metacharacters")
    if len(value) > 1024:
        raise ValueError("must be at most 1024 characters")
    return value


SetValue = Annotated[str, AfterValidator(_check_set_value)]


def _check_values_yaml(text: str) -> str:
    if len(text.encode("utf-8")) > MAX_VALUES_BYTES:
        raise ValueError(f"must be at most {MAX_VALUES_BYTES} bytes")
    if "\x00" in text:
        raise ValueError("must not contain NUL")
    try:
        parsed: Any = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ValueError(f"is not valid YAML ({type(e).__name__})") from None
    if parsed is not None and not isinstance(parsed, dict):
        raise ValueError("must be a YAML mapping of values")
    return text


ValuesYaml = Annotated[str, AfterValidator(_check_values_yaml)]

Output = Literal["table", "json", "yaml"]


class ListParams(NamespacedParams):
    all_namespaces: bool = False
    """List releases of every namespace."""
    status: Literal["all", "deployed", "failed", "pending", "superseded", "uninstalled"] | None = (
        None
    )
    """Only releases in this state (default: deployed and failed)."""
    output: Output = "table"
    """Output format."""


class ReleaseParams(NamespacedParams):
    release: ReleaseName
    """The release name."""


class StatusParams(ReleaseParams):
    revision: int | None = Field(default=None, ge=1)
    """A past revision instead of the current one."""
    output: Output = "table"
    """Output format."""


class HistoryParams(ReleaseParams):
    max: int = Field(default=20, ge=1, le=256)
    """At most this many revisions."""
    output: Output = "table"
    """Output format."""


class GetValuesParams(ReleaseParams):
    revision: int | None = Field(default=None, ge=1)
    """The values of a past revision instead of the current one."""
    all: bool = False
    """Computed values (chart defaults merged), not only the user-supplied ones."""


class GetManifestParams(ReleaseParams):
    revision: int | None = Field(default=None, ge=1)
    """The manifest of a past revision instead of the current one."""


class ChartParams(ToolParams):
    chart: ChartRef
    """Chart reference: `repo/chart`, `oci://…` or an absolute local path."""
    version: ChartVersion | None = None
    """Chart version or constraint; defaults to the latest."""


class SearchParams(ToolParams):
    keyword: SearchKeyword | None = None
    """Search term; omit to list every chart of the added repositories."""
    version: ChartVersion | None = None
    """Only charts matching this version or constraint, e.g. `^1.2`."""
    versions: bool = False
    """List every version, not only the latest."""


class ValuesParams(ReleaseParams):
    """The inputs that decide a release's manifest: chart, version, values."""

    chart: ChartRef
    """Chart reference: `repo/chart`, `oci://…` or an absolute local path."""
    version: ChartVersion | None = None
    """Chart version or constraint; defaults to the latest."""
    values_yaml: ValuesYaml | None = None
    """Values as a YAML mapping (passed through a private temp file, removed afterwards)."""
    set: dict[SetKey, SetValue] = Field(default_factory=dict, max_length=64)
    """Single values by path, e.g. `{"image.tag": "1.27", "replicaCount": "3"}`."""


class TemplateParams(ValuesParams):
    validate_objects: bool = Field(default=False, alias="validate")
    """Also check the rendered objects against the cluster, as an install would (helm's
    `--validate`, spelled `--dry-run=server` since helm 4: reads the API server, changes
    nothing)."""


class LintParams(ToolParams):
    chart: LocalChart
    """The chart directory to lint, e.g. `/srv/charts/web`."""
    values_yaml: ValuesYaml | None = None
    """Values as a YAML mapping to lint with (passed through a private temp file)."""
    set: dict[SetKey, SetValue] = Field(default_factory=dict, max_length=64)
    """Single values by path to lint with, e.g. `{"image.tag": "1.27"}`."""
    strict: bool = False
    """Fail on lint warnings too, not only on errors."""


class DependencyBuildParams(ToolParams):
    chart: LocalChart
    """The chart directory whose `charts/` to fill from its `Chart.yaml` or `Chart.lock`."""
    skip_refresh: bool = False
    """Use the cached repository indexes instead of fetching them first."""


class DiffParams(ValuesParams):
    """A release that does not exist yet is diffed against nothing (an install)."""

    reuse_values: bool = False
    """Start from the release's current values, as `helm_upgrade` would with it."""


class InstallParams(ValuesParams):
    create_namespace: bool = False
    """Create the namespace if it does not exist."""
    wait: bool = False
    """Wait until the release's resources are ready (bounded by `timeout_s`)."""
    timeout_s: int = Field(default=300, ge=1, le=MAX_WAIT_S)
    """Seconds helm may take (per operation, and for `wait`)."""


class UpgradeParams(InstallParams):
    install: bool = False
    """Install the release if it does not exist yet."""
    reuse_values: bool = False
    """Start from the release's current values instead of the chart defaults."""


class ReleaseTestParams(ReleaseParams):
    timeout_s: int = Field(default=300, ge=1, le=MAX_WAIT_S)
    """Seconds each test hook may take to finish."""
    logs: bool = False
    """Print the test pods' logs after they ran."""


class UninstallParams(ReleaseParams):
    keep_history: bool = False
    """Keep the release's history (it can then be rolled back to)."""
    wait: bool = False
    """Wait until every deleted resource is gone (bounded by `timeout_s`)."""
    timeout_s: int = Field(default=300, ge=1, le=MAX_WAIT_S)
    """Seconds helm may take (per operation, and for `wait`)."""


class RollbackParams(ReleaseParams):
    revision: int | None = Field(default=None, ge=1)
    """Revision to return to; the previous one when omitted."""
    wait: bool = False
    """Wait until the release's resources are ready (bounded by `timeout_s`)."""
    timeout_s: int = Field(default=300, ge=1, le=MAX_WAIT_S)
    """Seconds helm may take (per operation, and for `wait`)."""


class RepoAddParams(ToolParams):
    name: RepoName
    """Name to give the repository, e.g. `bitnami`."""
    url: RepoUrl
    """The repository's https URL."""
    force_update: bool = False
    """Replace the repository if one by that name exists."""


class RepoUpdateParams(ToolParams):
    names: list[RepoName] = Field(default_factory=list, max_length=32)
    """Repositories to refresh; all when empty."""


class RepoRemoveParams(ToolParams):
    name: RepoName
    """Name of the repository to remove."""

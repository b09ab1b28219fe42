"""The helm read tools: releases, values, manifests, charts and the upgrade diff.

Collected into `opsgate.tools.helm.TOOLS`. Reads never need approval. Values and manifests
pass through the runner's redaction (secret-looking keys, Secret `data`) before anyone sees them.
"""

from __future__ import annotations

from opsgate.domain.calls import ToolAnnotations
from opsgate.tools.base import Tool, ToolEnv, ToolOutput
from opsgate.tools.command import Argv
from opsgate.tools.define import Function, define
from opsgate.tools.helm import argv as a
from opsgate.tools.helm import params as p
from opsgate.tools.helm import previews

CLUSTER_READ = ToolAnnotations(read_only=True, destructive=False, idempotent=True, open_world=False)
"""Reads of the configured cluster."""
CHART_READ = ToolAnnotations(read_only=True, destructive=False, idempotent=True, open_world=True)
"""Reads that may fetch charts or indexes from repositories outside the cluster."""
FILE_READ = ToolAnnotations(read_only=True, destructive=False, idempotent=True, open_world=False)
"""Reads of a chart directory on the tool server only."""


async def helm_diff(params: p.DiffParams, env: ToolEnv) -> ToolOutput:
    """Show, as a unified diff, how an upgrade with this chart and these values would change
    the release's manifest (server-side dry run against the current manifest; nothing
    changes)."""
    return await previews.upgrade_diff(params, env)


TOOLS: list[Tool] = [
    define("helm", Argv(a.helm_list, binary="helm"), p.ListParams, CLUSTER_READ),
    define("helm", Argv(a.helm_status, binary="helm"), p.StatusParams, CLUSTER_READ),
    define("helm", Argv(a.helm_history, binary="helm"), p.HistoryParams, CLUSTER_READ),
    define("helm", Argv(a.helm_get_values, binary="helm"), p.GetValuesParams, CLUSTER_READ),
    define("helm", Argv(a.helm_get_manifest, binary="helm"), p.GetManifestParams, CLUSTER_READ),
    define("helm", Argv(a.helm_show_values, binary="helm"), p.ChartParams, CHART_READ),
    define("helm", Argv(a.helm_search_repo, binary="helm"), p.SearchParams, CHART_READ),
    define(
        "helm",
        Argv(a.helm_template, binary="helm", file="values_yaml"),
        p.TemplateParams,
        CHART_READ,
    ),
    define("helm", Function(helm_diff), p.DiffParams, CHART_READ),
    define("helm", Argv(a.helm_lint, binary="helm", file="values_yaml"), p.LintParams, FILE_READ),
]

"""The helm read tools: releases, values, manifests, charts and the upgrade diff.

Collected into `opsgate.tools.helm.TOOLS`. Reads never need approval. Values and manifests
pass through the runner's redaction (secret-looking keys, Secret `data`) before anyone sees them.
"""

from __future__ import annotations

from opsgate.domain.calls import ToolAnnotations
from opsgate.tools.base import Tool
from opsgate.tools.helm import argv as a
from opsgate.tools.helm import params as p
from opsgate.tools.helm import recipes
from opsgate.tools.helm.running import helm_tool, simple_run, values_run

CLUSTER_READ = ToolAnnotations(read_only=True, destructive=False, idempotent=True, open_world=False)
"""Reads of the configured cluster."""
CHART_READ = ToolAnnotations(read_only=True, destructive=False, idempotent=True, open_world=True)
"""Reads that may fetch charts or indexes from repositories outside the cluster."""

TOOLS: list[Tool] = [
    helm_tool(
        "helm_list",
        "List Helm releases in a namespace (or all namespaces) with chart, revision and status.",
        p.ListParams,
        CLUSTER_READ,
        simple_run(a.helm_list),
    ),
    helm_tool(
        "helm_status",
        "Show a release's status: revision, deployment state, last deployed time and notes.",
        p.StatusParams,
        CLUSTER_READ,
        simple_run(a.helm_status),
    ),
    helm_tool(
        "helm_history",
        "List a release's revisions with their status, chart version and description.",
        p.HistoryParams,
        CLUSTER_READ,
        simple_run(a.helm_history),
    ),
    helm_tool(
        "helm_get_values",
        "Show the values a release was deployed with (secret-looking values redacted).",
        p.GetValuesParams,
        CLUSTER_READ,
        simple_run(a.helm_get_values),
    ),
    helm_tool(
        "helm_get_manifest",
        "Show the Kubernetes manifest a release deployed (Secret data redacted).",
        p.GetManifestParams,
        CLUSTER_READ,
        simple_run(a.helm_get_manifest),
    ),
    helm_tool(
        "helm_show_values",
        "Show a chart's default values (values.yaml) for a chart version.",
        p.ChartParams,
        CHART_READ,
        simple_run(a.helm_show_values),
    ),
    helm_tool(
        "helm_search_repo",
        "Search the added chart repositories for charts by keyword.",
        p.SearchParams,
        CHART_READ,
        simple_run(a.helm_search_repo),
    ),
    helm_tool(
        "helm_template",
        "Render a chart's manifests locally with the given values, without touching the cluster.",
        p.TemplateParams,
        CHART_READ,
        values_run(a.helm_template),
    ),
    helm_tool(
        "helm_diff",
        "Show, as a unified diff, how an upgrade with this chart and these values would change "
        "the release's manifest (server-side dry run against the current manifest; nothing "
        "changes).",
        p.DiffParams,
        CHART_READ,
        recipes.upgrade_diff,
    ),
]

"""The validated string types: what each grammar accepts and refuses."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from opsgate.tools import validate

CASES: list[tuple[Any, list[str], list[str]]] = [
    (
        validate.Namespace,
        ["shop", "kube-system", "a", "a1-b2"],
        ["Shop", "-shop", "shop-", "a_b", "a.b", "x" * 64, ""],
    ),
    (
        validate.Name,
        ["web", "web-7d4b9c-x2x", "node-1.example.com"],
        ["Web", "web_1", "web/1", ".web", "web.", "a..b", "x" * 254],
    ),
    (
        validate.ResourceType,
        ["pods", "deployments.apps", "deployments.v1.apps", "rollouts.argoproj.io"],
        ["Pods", "pods/", "po ds", "-pods"],
    ),
    (
        validate.ResourceRef,
        ["deployment/web", "deploy/web", "rollouts.argoproj.io/checkout", "node/n-1.x"],
        ["deployment", "deployment/", "/web", "deployment/web/x", "deployment/../../x"],
    ),
    (
        validate.LabelSelector,
        [
            "app=web",
            "app==web,tier!=db",
            "tier in (frontend, backend)",
            "tier notin (a)",
            "!canary",
            "app.kubernetes.io/part-of=shop,canary",
            "app=",
        ],
        ["app=web;id", "app in frontend", "=web", "app=we b", "tier in (a,b", "app=-x", "!"],
    ),
    (
        validate.FieldSelector,
        ["status.phase=Running", "spec.nodeName!=node-1,metadata.namespace==shop"],
        ["status.phase", "status.phase=Run ning", "a=b|c"],
    ),
    (
        validate.ImageRef,
        [
            "nginx",
            "nginx:1.27",
            "library/nginx:1.27-alpine",
            "ghcr.io/opsgate-demo/frontend:1.8.2",
            "localhost:5000/app@sha256:" + "a" * 64,
            "registry.example.com/team/app:v1@sha256:" + "0" * 64,
        ],
        ["Nginx", "nginx:", "nginx:1.27 ", "nginx@sha256:abc", "-nginx", "nginx;id", ":tag"],
    ),
    (validate.Duration, ["30s", "5m", "1h30m", "2h"], ["5", "5d", "m", "-5m", "5m ", "1.5h"]),
    (
        validate.ContextName,
        ["demo", "kind-kind", "arn:aws:eks:eu-west-1:123:cluster/prod", "gke_p_z_c", "me@prod"],
        ["-demo", "de mo", "a\nb", "a\x00b", "ctx/../x", "prod;id", "$(id)"],
    ),
    (
        validate.AnnotationValue,
        ["scaled up for the sale", "v1.2.3", "https://example.com/runbook#scale", ""],
        ["a\nb", 'say "hi"', "a;b", "-x", "caf\u00e9"],
    ),
    (validate.LabelValue, ["web", "", "v1.2", "a_b-c"], ["-web", "web-", "a b", "x" * 64]),
    (
        validate.JsonPath,
        [
            "{.items[*].metadata.name}",
            "{.spec.replicas}",
            "{range .items[*]}{.metadata.name} {end}",
            # kubectl's own documentation and everyday use (issue 23):
            '{.items[?(@.status.phase=="Running")].metadata.name}',
            "{.status.conditions[?(@.type=='Ready')].status}",
            '{range .items[*]}{.metadata.name}{"\\t"}{.status.phase}{"\\n"}{end}',
            "{.metadata.annotations.deployment\\.kubernetes\\.io/revision}",
            "{.metadata.labels['app\\.kubernetes\\.io/name']}",
            "{.items[0:2].metadata.name}",
            "{.items[-1:].metadata.name}",
            "{.items[0,2].metadata.name}",
            "{.items[*]['metadata.name', 'status.capacity']}",
            "{.items[?(@.spec.replicas>1)].metadata.name}",
            "{.items[?(@.spec.paused)].metadata.name}",
            "{.items[?(@.status.readyReplicas!=@.spec.replicas)].metadata.name}",
            '{.spec.containers[?(@.name=="web")].image}',
            "name={.metadata.name}, ns={.metadata.namespace}",
            "{$.kind}",
            "{@}",
        ],
        [
            ".items",
            "{..image}",
            "{.spec..image}",
            "{.a}$(id)",
            '{.a"b}',
            "{.a}`id`",
            "{.a};id",
            "{.a",
            "{.a}}{",
            "{HOME}",
            "${HOME}",
            "{.items[?(@.x==1]}",
            '{.items[?(@.x=="a)]}',
            "{.items[a]}",
            "{range .items[*]}{.metadata.name}",
            "{end}",
            '{"\n"}',
            "-{.a}",
            "{.a}\t",
            "{.caf\u00e9}",
        ],
    ),
]


@pytest.mark.parametrize(
    ("kind", "value", "valid"),
    [
        pytest.param(kind, value, valid, id=f"{index}-{'ok' if valid else 'bad'}-{value!r}")
        for index, (kind, good, bad) in enumerate(CASES)
        for values, valid in ((good, True), (bad, False))
        for value in values
    ],
)
def test_grammar(kind: Any, value: str, valid: bool) -> None:
    adapter = TypeAdapter(kind)
    if valid:
        assert adapter.validate_python(value) == value
    else:
        with pytest.raises(ValidationError):
            adapter.validate_python(value)

"""`redact_args`: proposed arguments as approvers, viewers and the audit log may see them.

Every argument set here is first validated by the tool's own parameter model, so the names and
shapes are the ones the model really proposes. Secrets become `marker(value)`; everything else
comes back equal and of the same type.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from typing import Any

import pytest
import yaml

from opsgate.tools import redact, registry
from opsgate.tools.redact import marker

TOOLS = registry.all_tools()
MARKER = re.compile(r"\*\*REDACTED sha256:[0-9a-f]{12}\*\*")
GITHUB_TOKEN = "ghp_" + "Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2"
STRIPE_TOKEN = "sk_live_" + "51HxQ2eLkqZ0aBcDeFgHiJkL"

SECRET_MANIFEST = f"""# the shop's database credentials
apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: shop
type: Opaque
data:
  password: aHVudGVyMg==   # base64 of the password
stringData:
  url: postgres://app:hunter2@db:5432/app
  config.ini: |
    [db]
    password = hunter2
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: app, namespace: shop}}
data:
  LOG_LEVEL: debug
  DB_PASSWORD: cm-password
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: shop}}
spec:
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      automountServiceAccountToken: false
      containers:
      - name: web
        image: nginx:1.27
        env:
        - {{name: STRIPE_KEY, value: {STRIPE_TOKEN}}}
        - name: LOG_LEVEL
          value: info
        - name: API_TOKEN
          valueFrom: {{secretKeyRef: {{name: api, key: token}}}}
"""


def _validated(tool: str, args: dict[str, Any]) -> dict[str, Any]:
    """`args` as the tool accepts them (raises if a name or value is wrong)."""
    TOOLS[tool].params.model_validate(args)
    return args


def test_marker_is_a_hash_prefix_that_tells_values_apart() -> None:
    assert marker("hunter2") == (
        f"**REDACTED sha256:{hashlib.sha256(b'hunter2').hexdigest()[:12]}**"
    )
    assert MARKER.fullmatch(marker("hunter2"))
    assert marker("hunter2") == marker("hunter2")
    assert marker("hunter2") != marker("hunter3")


def test_secret_manifest_is_masked_parseable_and_keeps_every_key() -> None:
    args = _validated("k8s_apply", {"manifest": SECRET_MANIFEST, "namespace": "shop"})
    redacted = redact.redact_args("k8s_apply", args)
    text = redacted["manifest"]
    for secret in ("aHVudGVyMg==", "hunter2", "cm-password", STRIPE_TOKEN):
        assert secret not in text
    secret, configmap, deployment = yaml.safe_load_all(text)
    assert secret["data"] == {"password": marker("aHVudGVyMg==")}
    assert secret["stringData"] == {
        "url": marker("postgres://app:hunter2@db:5432/app"),
        "config.ini": marker("[db]\npassword = hunter2\n"),
    }
    assert secret["metadata"] == {"name": "db", "namespace": "shop"}
    assert configmap["data"] == {"LOG_LEVEL": "debug", "DB_PASSWORD": marker("cm-password")}
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert container["env"][0] == {"name": "STRIPE_KEY", "value": marker(STRIPE_TOKEN)}
    assert (
        container["env"][1:]
        == yaml.safe_load(SECRET_MANIFEST.split("---")[2])["spec"]["template"]["spec"][
            "containers"
        ][0]["env"][1:]
    )
    assert deployment["spec"]["template"]["spec"]["automountServiceAccountToken"] is False
    assert text.startswith("# the shop's database credentials\n")
    assert redacted["namespace"] == "shop"


@pytest.mark.parametrize("indent", [None, 2])
def test_secret_manifest_in_json_is_masked_and_parseable(indent: int | None) -> None:
    manifest = json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "db"},
            "stringData": {"password": "hunter2", "username": "app"},
        },
        indent=indent,
    )
    args = _validated("k8s_apply", {"manifest": manifest})
    document = json.loads(redact.redact_args("k8s_apply", args)["manifest"])
    assert document["stringData"] == {"password": marker("hunter2"), "username": marker("app")}
    assert document["metadata"] == {"name": "db"}


def test_patch_of_a_secret_masks_its_data_though_the_patch_has_no_kind() -> None:
    args = _validated(
        "k8s_patch",
        {"resource": "secret/db", "patch": '{"stringData": {"username": "app2"}}'},
    )
    redacted = redact.redact_args("k8s_patch", args)
    assert json.loads(redacted["patch"]) == {"stringData": {"username": marker("app2")}}
    assert redacted["resource"] == "secret/db"


def test_patch_of_env_values_and_json_patch_operations_are_masked() -> None:
    env_patch = json.dumps(
        {
            "spec": {
                "template": {
                    "spec": {
                        "containers": [
                            {
                                "name": "web",
                                "env": [
                                    {"name": "DB_PASSWORD", "value": "new-password"},
                                    {"name": "LOG_LEVEL", "value": "warn"},
                                ],
                            }
                        ]
                    }
                }
            }
        }
    )
    strategic = redact.redact_args(
        "k8s_patch", _validated("k8s_patch", {"resource": "deployment/web", "patch": env_patch})
    )
    env = json.loads(strategic["patch"])["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env == [
        {"name": "DB_PASSWORD", "value": marker("new-password")},
        {"name": "LOG_LEVEL", "value": "warn"},
    ]
    operations = json.dumps(
        [
            {"op": "replace", "path": "/data/DB_PASSWORD", "value": "cm-password"},
            {"op": "replace", "path": "/data/LOG_LEVEL", "value": "debug"},
            {"op": "add", "path": "/spec/template/spec/containers/0/env/3/value", "value": "x1"},
        ]
    )
    args = _validated(
        "k8s_patch",
        {"resource": "configmap/app", "patch": operations, "patch_type": "json"},
    )
    masked = json.loads(redact.redact_args("k8s_patch", args)["patch"])
    assert [op["value"] for op in masked] == [marker("cm-password"), "debug", marker("x1")]


def test_helm_set_and_values_with_secret_keys_are_masked() -> None:
    values = "db:\n  host: db\n  password: hunter2   # rotate monthly\nreplicaCount: 3\n"
    args = _validated(
        "helm_upgrade",
        {
            "release": "shop",
            "chart": "bitnami/postgresql",
            "set": {"auth.password": "hunter2", "image.tag": "16.4", "auth.enabled": "true"},
            "values_yaml": values,
            "wait": True,
            "timeout_s": 300,
        },
    )
    redacted = redact.redact_args("helm_upgrade", args)
    assert redacted["set"] == {
        "auth.password": marker("hunter2"),
        "image.tag": "16.4",
        "auth.enabled": "true",
    }
    assert redacted["values_yaml"] == values.replace("hunter2", f'"{marker("hunter2")}"')
    assert yaml.safe_load(redacted["values_yaml"])["db"]["host"] == "db"
    assert (redacted["wait"], redacted["timeout_s"]) == (True, 300)


def test_jenkins_parameters_with_secret_names_are_masked_and_the_rest_keep_their_types() -> None:
    args = _validated(
        "jenkins_trigger_build",
        {
            "server": "ci",
            "job": "shop-deploy",
            "parameters": {
                "DEPLOY_PASSWORD": "hunter2",
                "REGISTRY_TOKEN": "tok-123456789",
                "DRY_RUN": True,
                "REPLICAS": 3,
                "BRANCH": "main",
            },
        },
    )
    redacted = redact.redact_args("jenkins_trigger_build", args)
    assert redacted["parameters"] == {
        "DEPLOY_PASSWORD": marker("hunter2"),
        "REGISTRY_TOKEN": marker("tok-123456789"),
        "DRY_RUN": True,
        "REPLICAS": 3,
        "BRANCH": "main",
    }
    assert type(redacted["parameters"]["REPLICAS"]) is int


def test_token_formats_are_masked_in_any_argument() -> None:
    annotate = _validated(
        "k8s_annotate",
        {"resource": "deployment/web", "annotations": {"example.com/note": f"ci {GITHUB_TOKEN}"}},
    )
    assert redact.redact_args("k8s_annotate", annotate)["annotations"] == {
        "example.com/note": f"ci {marker(GITHUB_TOKEN)}"
    }
    run = _validated(
        "k8s_run_pod",
        {
            "name": "debug",
            "image": "curlimages/curl:8.10.1",
            "command": ["curl", "https://deploy:hunter2@git.example.com/", "--data", "password=x1"],
        },
    )
    assert redact.redact_args("k8s_run_pod", run)["command"] == [
        "curl",
        f"https://deploy:{marker('hunter2')}@git.example.com/",
        "--data",
        f"password={marker('x1')}",
    ]


PLAIN_CALLS: list[tuple[str, dict[str, Any]]] = [
    ("k8s_scale", {"resource": "deployment/web", "replicas": 3, "namespace": "shop"}),
    (
        "k8s_get",
        {"resource": "pods", "namespace": "shop", "output": "yaml", "all_namespaces": False},
    ),
    ("k8s_get", {"resource": "secrets", "jsonpath": "{.items[*].metadata.name}"}),
    ("k8s_label", {"resource": "deployment/web", "labels": {"tier": "frontend", "old": None}}),
    ("k8s_exec", {"pod": "web-1", "command": ["cat", "/etc/app/config.yaml"]}),
    ("k8s_logs", {"pod": "deployment/api", "tail": 50, "previous": True}),
    (
        "k8s_apply",
        {
            "manifest": SECRET_MANIFEST.split("---")[2].replace(
                f"{{name: STRIPE_KEY, value: {STRIPE_TOKEN}}}", "{name: MODE, value: fast}"
            ),
            "server_side": True,
        },
    ),
    ("k8s_patch", {"resource": "configmap/app", "patch": '{"data": {"mode": "fast"}}'}),
    (
        "helm_install",
        {
            "release": "cache",
            "chart": "bitnami/redis",
            "set": {"image.tag": "7.4", "auth.enabled": "false", "auth.existingSecret": "redis"},
            "values_yaml": "replica:\n  replicaCount: 2\nauth:\n  usePasswordFiles: true\n",
        },
    ),
    (
        "jenkins_trigger_build",
        {"server": "ci", "job": "shop-build", "parameters": {"BRANCH": "main", "PUSH": False}},
    ),
]


@pytest.mark.parametrize(
    ("tool", "args"), [pytest.param(tool, args, id=tool) for tool, args in PLAIN_CALLS]
)
def test_arguments_without_secrets_come_back_identical(tool: str, args: dict[str, Any]) -> None:
    redacted = redact.redact_args(tool, _validated(tool, args))
    assert redacted == args
    assert [type(value) for value in redacted.values()] == [type(v) for v in args.values()]


def test_redaction_is_deterministic_idempotent_and_leaves_the_input_alone() -> None:
    args = _validated(
        "helm_install",
        {
            "release": "shop",
            "chart": "bitnami/postgresql",
            "set": {"auth.password": "hunter2"},
            "values_yaml": "auth:\n  postgresPassword: hunter3\n",
        },
    )
    before = copy.deepcopy(args)
    once = redact.redact_args("helm_install", args)
    assert args == before
    assert redact.redact_args("helm_install", args) == once
    assert redact.redact_args("helm_install", once) == once

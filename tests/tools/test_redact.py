"""The redaction corpus: every known way a secret shows up in tool output, masked."""

from __future__ import annotations

import json

import pytest
import yaml

from opsgate.tools import redact
from opsgate.tools.redact import REDACTED

SECRET_YAML = """apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: shop
type: Opaque
data:
  password: aHVudGVyMg==
  username: YWRtaW4=
stringData:
  url: postgres://app:hunter2@db:5432/app
"""

SECRET_JSON = json.dumps(
    {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db"},
        "data": {"password": "aHVudGVyMg==", "tls.key": "LS0tLS1CRUdJTg=="},
    },
    indent=4,
)

SECRET_LIST_JSON = json.dumps(
    {
        "apiVersion": "v1",
        "kind": "List",
        "items": [
            json.loads(SECRET_JSON),
            {"kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"mode": "fast"}},
        ],
    },
    indent=4,
)

KUBECONFIG = """apiVersion: v1
kind: Config
clusters:
- name: demo
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority-data: Q0FDRVJU
users:
- name: admin
  user:
    client-certificate-data: Q0VSVA==
    client-key-data: S0VZREFUQQ==
    token: abcdef0123456789
contexts:
- name: demo
  context: {cluster: demo, user: admin}
"""

PEM = """before
-----BEGIN RSA PRIVATE KEY-----
MIIEowIBAAKCAQEAx3v8sSECRETSECRETSECRET
bW9yZXNlY3JldA==
-----END RSA PRIVATE KEY-----
after"""

# (name, text, secrets that must disappear, text that must stay)
CORPUS: list[tuple[str, str, list[str], list[str]]] = [
    ("secret yaml", SECRET_YAML, ["aHVudGVyMg==", "YWRtaW4=", "hunter2"], ["name: db", "password"]),
    ("secret json", SECRET_JSON, ["aHVudGVyMg==", "LS0tLS1CRUdJTg=="], ['"name": "db"']),
    ("secret list json", SECRET_LIST_JSON, ["aHVudGVyMg=="], ["fast"]),
    (
        "secret json truncated",
        SECRET_JSON[: SECRET_JSON.index("LS0t") + 6],
        ["aHVudGVyMg==", "LS0tLS"],
        ['"kind": "Secret"'],
    ),
    (
        "secret json cut before its kind",
        SECRET_JSON.replace('"kind": "Secret",', "")[: SECRET_JSON.index("tls.key") + 14],
        ["aHVudGVyMg=="],
        ['"data"'],
    ),
    (
        "one-line secret json in a cut annotation",
        "metadata:\n  annotations:\n    kubectl.kubernetes.io/last-applied-configuration: |\n"
        '      {"apiVersion":"v1","data":{"password":"aHVudGVyMg=="},"kind":"Secret","metad',
        ["aHVudGVyMg=="],
        ["last-applied-configuration"],
    ),
    (
        "secret yaml truncated",
        SECRET_YAML + "  extra: c2VjcmV0\n  cut: YWJj",
        ["aHVudGVyMg==", "c2VjcmV0", "YWJj"],
        ["kind: Secret"],
    ),
    (
        "multi-line stringData cut short",
        "apiVersion: v1\nkind: Secret\nstringData:\n  config.ini: |\n    user=admin\n"
        "    secret_line=hunter2\n    more",
        ["hunter2", "user=admin"],
        ["config.ini"],
    ),
    (
        "secret yaml in a list",
        "apiVersion: v1\nkind: List\nitems:\n"
        + "".join(
            f"- {line}\n" if i == 0 else f"  {line}\n"
            for i, line in enumerate(SECRET_YAML.splitlines())
        ),
        ["aHVudGVyMg==", "YWRtaW4="],
        ["name: db"],
    ),
    (
        "last-applied annotation",
        json.dumps(
            {
                "kind": "Secret",
                "metadata": {
                    "annotations": {
                        "kubectl.kubernetes.io/last-applied-configuration": json.dumps(
                            {"kind": "Secret", "data": {"password": "aHVudGVyMg=="}}
                        )
                    }
                },
                "data": {},
            }
        ),
        ["aHVudGVyMg=="],
        ["last-applied-configuration"],
    ),
    (
        "inline container env",
        "kind: Pod\nspec:\n  containers:\n  - name: app\n    env:\n"
        "    - {name: DB_PASSWORD, value: hunter2}\n    - {name: LOG_LEVEL, value: debug}\n",
        ["hunter2"],
        ["debug", "DB_PASSWORD"],
    ),
    ("kubeconfig", KUBECONFIG, ["S0VZREFUQQ==", "abcdef0123456789"], ["https://127.0.0.1:6443"]),
    ("bearer token", "curl -H 'x' Bearer abcdEFGH12345678xyz", ["abcdEFGH12345678xyz"], ["curl"]),
    (
        "authorization header",
        "GET / HTTP/1.1\nAuthorization: Basic dXNlcjpwYXNz\nHost: x",
        ["dXNlcjpwYXNz"],
        ["Host: x"],
    ),
    (
        "password in url",
        "remote: https://deploy:s3cr3t-pw@git.example.com/repo.git",
        ["s3cr3t-pw"],
        ["deploy:", "git.example.com/repo.git"],
    ),
    ("pem private key", PEM, ["SECRETSECRET", "bW9yZXNlY3JldA=="], ["before", "after"]),
    (
        "jwt",
        "token is eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.c2lnbmF0dXJlc2ln end",
        ["eyJzdWIiOiJhZG1pbiJ9"],
        ["end"],
    ),
    (
        "env output",
        "PATH=/usr/bin\nDB_PASSWORD=hunter2\nAPI_TOKEN=tok123\nHOME=/root",
        ["hunter2", "tok123"],
        ["PATH=/usr/bin", "HOME=/root"],
    ),
    (
        "proc environ",
        "PATH=/usr/bin\x00DB_PASSWORD=hunter2\x00HOME=/root",
        ["hunter2", "\x00"],
        ["PATH=/usr/bin", "HOME=/root"],
    ),
    (
        "helm values",
        "replicaCount: 2\ndb:\n  password: hunter2\n  apiKey: k-123\nimage:\n  tag: v1\n",
        ["hunter2", "k-123"],
        ["replicaCount: 2", "tag: v1"],
    ),
    (
        "values with a secret key but broken yaml",
        "adminPassword: hunter2\n  : [broken",
        ["hunter2"],
        ["adminPassword"],
    ),
]


@pytest.mark.parametrize(
    ("text", "secrets", "kept"),
    [pytest.param(text, secrets, kept, id=name) for name, text, secrets, kept in CORPUS],
)
def test_secrets_are_masked(text: str, secrets: list[str], kept: list[str]) -> None:
    redacted = redact.redact_text(text)
    for secret in secrets:
        assert secret not in redacted
    for keep in kept:
        assert keep in redacted
    assert REDACTED in redacted


def test_describe_secret_keeps_byte_counts() -> None:
    text = "Name: db\nType: Opaque\n\nData\n====\npassword:  8 bytes\nusername:  5 bytes\n"
    assert redact.redact_text(text) == text


def test_configmaps_and_plain_output_are_untouched() -> None:
    configmap = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  mode: fast\n"
    table = "NAME    READY   STATUS\nweb-1   1/1     Running\n"
    assert redact.redact_text(configmap) == configmap
    assert redact.redact_text(table) == table


def test_redacted_yaml_still_parses_with_structure_kept() -> None:
    document = yaml.safe_load(redact.redact_text(SECRET_YAML))
    assert document["data"] == {"password": REDACTED, "username": REDACTED}
    assert document["metadata"]["name"] == "db"


def test_redacted_json_still_parses() -> None:
    document = json.loads(redact.redact_text(SECRET_LIST_JSON))
    assert document["items"][0]["data"]["password"] == REDACTED
    assert document["items"][1]["data"] == {"mode": "fast"}


def test_redaction_is_idempotent() -> None:
    once = redact.redact_text(SECRET_YAML)
    assert redact.redact_text(once) == once


@pytest.mark.parametrize(
    ("argv", "hidden"),
    [
        (["kubectl", "--token", "abc123secret", "get", "pods"], "abc123secret"),
        (["kubectl", "--token=abc123secret", "get", "pods"], "abc123secret"),
        (["helm", "install", "x", "--set", "db.password=hunter2,replicas=2"], "hunter2"),
        (["git", "clone", "https://me:hunter2@example.com/r.git"], "hunter2"),
        (["kubectl", "patch", "secret/db", '--patch={"data":{"pw":"aHVudGVyMg=="}}'], "aHVudGVyMg"),
        (["kubectl", "patch", "deploy/x", '--patch={"spec":{"password":"hunter2"}}'], "hunter2"),
    ],
)
def test_argv_is_masked(argv: list[str], hidden: str) -> None:
    masked = redact.mask_argv(argv)
    assert hidden not in " ".join(masked)
    assert masked[0] == argv[0]


def test_helm_set_keeps_harmless_values() -> None:
    assert redact.mask_argv(["helm", "--set", "replicas=2"])[-1] == "replicas=2"


@pytest.mark.parametrize(
    ("resource", "jsonpath", "masked"),
    [
        ("secret/db", "{.data.password}", True),
        ("secrets", "{.items[*].data}", True),
        ("secrets", "{.items[*].metadata.name}", False),
        ("pods", "{.items[*].spec.containers[*].env}", False),
    ],
)
def test_jsonpath_on_secrets_is_masked_unless_it_reads_only_metadata(
    resource: str, jsonpath: str, masked: bool
) -> None:
    out = redact.redact_jsonpath_output("aHVudGVyMg==", resource=resource, jsonpath=jsonpath)
    assert (out == REDACTED) is masked


def test_cut_output_uses_the_fail_closed_line_rules() -> None:
    text = (
        "apiVersion: v1\nkind: Secret\nstringData:\n  config.ini: |\n    user=admin\n"
        "    line=hunter2\n  token: abc\n"
    )
    redacted = redact.redact_text(text, truncated=True)
    assert "hunter2" not in redacted
    assert "user=admin" not in redacted
    assert "abc" not in redacted
    assert "config.ini" in redacted

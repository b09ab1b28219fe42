"""Secrets that are not in Secret objects: ConfigMap data, container env, files, logs, tokens.

Every case is shaped like what kubectl (v1.35) prints, in each format it prints it: `-o yaml`,
`-o json`, output cut short by the output cap, `describe`, `set env --list`, and log lines. A
case names the secrets that must vanish and the text that must stay.
"""

from __future__ import annotations

import json

import pytest
import yaml

from opsgate.tools import redact
from opsgate.tools.redact import REDACTED
from tests.tools.test_redact import CORPUS as OLD_CORPUS

CONFIGMAP_DATA = {
    "DB_PASSWORD": "cm-db-password-1",
    "db_pass": "cm-db-pass-2",
    "secret_key_base": "cm-secret-key-base-3",
    "stripe_key": "cm-stripe-key-4",
    "api_key": "cm-api-key-5",
    "GITHUB_PAT": "cm-github-pat-6",
    "SIGNING_PRIVATE_KEY": "cm-private-key-7",
    "SLACK_WEBHOOK": "cm-slack-webhook-8",
    "PAYMENTS_SECRET": "cm-payments-secret-9",
    "spring.datasource.password": "cm-dotted-password-10",
    "LOG_LEVEL": "debug",
    "ENABLE_TOKEN_AUTH": "true",
    "app.ini": "[db]\nhost = db\nuser = app\npassword = cm-ini-password-11\n",
    ".env": "LOG_FORMAT=json\nAPI_TOKEN=cm-dotenv-token-12\n",
}
CONFIGMAP_SECRETS = [value for key, value in CONFIGMAP_DATA.items() if value.startswith("cm-")]
CONFIGMAP_SECRETS += ["cm-ini-password-11", "cm-dotenv-token-12"]
CONFIGMAP_KEPT = ["LOG_LEVEL", "debug", "host = db", "user = app", "LOG_FORMAT=json", "DB_PASSWORD"]


def _configmap() -> dict[str, object]:
    applied = {
        "apiVersion": "v1",
        "data": CONFIGMAP_DATA,
        "kind": "ConfigMap",
        "metadata": {"annotations": {}, "name": "app-config", "namespace": "shop"},
    }
    return {
        "apiVersion": "v1",
        "data": CONFIGMAP_DATA,
        "kind": "ConfigMap",
        "metadata": {
            "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration": json.dumps(
                    applied, separators=(",", ":")
                )
                + "\n"
            },
            "name": "app-config",
            "namespace": "shop",
        },
    }


CONFIGMAP_YAML = yaml.safe_dump(_configmap(), sort_keys=True, width=10_000)
CONFIGMAP_JSON = json.dumps(_configmap(), indent=4, sort_keys=True) + "\n"

ENV = [
    {"name": "DB_PASSWORD", "value": "env-db-password-1"},
    {"name": "SECRET_KEY_BASE", "value": "env-secret-key-base-2"},
    {"name": "STRIPE_KEY", "value": "env-stripe-key-3"},
    {"name": "GITHUB_PAT", "value": "env-github-pat-4"},
    {"name": "SLACK_WEBHOOK", "value": "https://hooks.slack.com/services/T000/B000/envslack5"},
    {"name": "LOG_LEVEL", "value": "info"},
    {"name": "DB_PASSWORD_FILE", "value": "/run/secrets/db"},
    {"name": "API_TOKEN", "valueFrom": {"secretKeyRef": {"key": "token", "name": "api"}}},
]
ENV_SECRETS = ["env-db-password-1", "env-secret-key-base-2", "env-stripe-key-3"]
ENV_SECRETS += ["env-github-pat-4", "envslack5"]
ENV_KEPT = ["LOG_LEVEL", "info", "/run/secrets/db", "secretKeyRef", "DB_PASSWORD"]


def _deployment() -> dict[str, object]:
    spec = {
        "template": {
            "spec": {
                "automountServiceAccountToken": False,
                "containers": [{"env": ENV, "image": "nginx:1.27", "name": "app"}],
            }
        }
    }
    applied = {"apiVersion": "apps/v1", "kind": "Deployment", "spec": spec}
    annotation = json.dumps(applied, separators=(",", ":"), sort_keys=True) + "\n"
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": annotation},
            "name": "web",
        },
        "spec": spec,
    }


DEPLOYMENT_YAML = yaml.safe_dump(_deployment(), sort_keys=True, width=10_000)
DEPLOYMENT_JSON = json.dumps(_deployment(), indent=4, sort_keys=True) + "\n"

DESCRIBE_DEPLOYMENT = """Name:                   web
Namespace:              shop
Pod Template:
  Labels:  app=web
  Containers:
   app:
    Image:      nginx:1.27
    Environment:
      DB_PASSWORD:       env-db-password-1
      SECRET_KEY_BASE:   env-secret-key-base-2
      STRIPE_KEY:        env-stripe-key-3
      GITHUB_PAT:        env-github-pat-4
      SLACK_WEBHOOK:     https://hooks.slack.com/services/T000/B000/envslack5
      LOG_LEVEL:         info
      API_TOKEN:         <set to the key 'token' in secret 'api'>  Optional: false
      DB_PASSWORD_FILE:  /run/secrets/db
    Mounts:              <none>
Events:                  <none>
"""

DESCRIBE_CONFIGMAP = """Name:         app-config
Namespace:    shop
Labels:       <none>
Annotations:  <none>

Data
====
DB_PASSWORD:
----
cm-db-password-1

ENABLE_TOKEN_AUTH:
----
true

LOG_LEVEL:
----
debug

app.ini:
----
[db]
host = db
password = cm-ini-password-11

stripe_key:
----
cm-stripe-key-4
second line of cm-stripe-key-4


BinaryData
====

Events:  <none>
"""

SET_ENV_LIST = """# Deployment web, container app
DB_PASSWORD=env-db-password-1
SECRET_KEY_BASE=env-secret-key-base-2
LOG_LEVEL=info
# API_TOKEN from secret api, key token
DB_PASSWORD_FILE=/run/secrets/db
"""

AWS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
GITHUB_TOKEN = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjaSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
PEM_IN_JSON = (
    '{"key": "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\\n'
    '-----END PRIVATE KEY-----\\n", "ok": true}'
)

# (name, text, secrets that must vanish, text that must stay)
CORPUS: list[tuple[str, str, list[str], list[str]]] = [
    ("configmap yaml", CONFIGMAP_YAML, CONFIGMAP_SECRETS, CONFIGMAP_KEPT),
    ("configmap json", CONFIGMAP_JSON, CONFIGMAP_SECRETS, CONFIGMAP_KEPT),
    ("deployment env yaml", DEPLOYMENT_YAML, ENV_SECRETS, ENV_KEPT),
    ("deployment env json", DEPLOYMENT_JSON, ENV_SECRETS, ENV_KEPT),
    (
        "describe deployment env",
        DESCRIBE_DEPLOYMENT,
        ENV_SECRETS,
        ["LOG_LEVEL", "info", "/run/secrets/db", "<set to the key 'token' in secret 'api'>"],
    ),
    (
        "describe configmap",
        DESCRIBE_CONFIGMAP,
        ["cm-db-password-1", "cm-ini-password-11", "cm-stripe-key-4"],
        ["ENABLE_TOKEN_AUTH:\n----\ntrue", "LOG_LEVEL:\n----\ndebug", "host = db", "BinaryData"],
    ),
    ("set env --list", SET_ENV_LIST, ENV_SECRETS[:2], ["LOG_LEVEL=info", "/run/secrets/db"]),
    (
        "aws credentials file",
        f"[default]\naws_access_key_id = {AWS_KEY_ID}\naws_secret_access_key = {AWS_SECRET}\n"
        "region = eu-west-1\n",
        [AWS_KEY_ID, AWS_SECRET],
        ["region = eu-west-1", "[default]"],
    ),
    (
        "log: password= mid-line",
        "2026-12-01T10:00:00Z INFO connecting host=db user=app password=hunter2-log sslmode=on",
        ["hunter2-log"],
        ["host=db", "user=app", "sslmode=on"],
    ),
    (
        "log: json password mid-line",
        'level=info msg="login" body={"user": "bob", "password": "hunter2-json"} took=3ms',
        ["hunter2-json"],
        ['"user": "bob"', "took=3ms"],
    ),
    (
        "log: json escaped in a json string",
        '{"msg": "request", "body": "{\\"password\\":\\"hunter2-escaped\\",\\"n\\":1}"}',
        ["hunter2-escaped"],
        ['\\"n\\":1'],
    ),
    (
        "log: aws key id anywhere",
        f"using credentials {AWS_KEY_ID} for s3",
        [AWS_KEY_ID],
        ["for s3"],
    ),
    (
        "log: 40-char aws secret after a secret-ish key",
        f"loaded profile ci aws_secret_access_key: {AWS_SECRET} region eu-west-1",
        [AWS_SECRET],
        ["region eu-west-1"],
    ),
    (
        "log: basic-auth url",
        "cloning https://deploy:s3cr3t-basic@git.example.com/shop.git into /src",
        ["s3cr3t-basic"],
        ["https://deploy:", "@git.example.com/shop.git"],
    ),
    (
        "log: github tokens",
        f"token {GITHUB_TOKEN} gho_{'x' * 36} ghs_{'y' * 36} ghu_{'z' * 36} "
        f"github_pat_11ABCDEFG0123456789_{'q' * 59} done",
        [GITHUB_TOKEN, "x" * 36, "y" * 36, "z" * 36, "q" * 59],
        ["done"],
    ),
    (
        "log: slack tokens and webhook",
        "posting with xoxb-1234567890-abcdefghij xoxp-0987654321-zyxwvutsrq to "
        "https://hooks.slack.com/services/T0001/B0002/slackhookpath3 ok",
        ["abcdefghij", "zyxwvutsrq", "slackhookpath3"],
        ["https://hooks.slack.com/services/", " ok"],
    ),
    (
        "log: stripe keys",
        f"charging with sk_live_{'4' * 24}, refunds rk_live_{'5' * 24}, tests sk_test_{'6' * 24}",
        ["4" * 24, "5" * 24, "6" * 24],
        ["charging with", "refunds", "tests"],
    ),
    ("log: jwt", f"authorized by {JWT} at 10:00", ["eyJzdWIiOiJjaSJ9"], ["at 10:00"]),
    ("pem in a json string", PEM_IN_JSON, ["MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"], ['"ok": true']),
    (
        "helm values with vendor keys",
        "stripe:\n  key: helm-stripe-1\nslack:\n  webhookUrl: helm-webhook-2\n"
        "sentry:\n  dsn: https://helm-dsn-3@sentry.example.com/1\nreplicaCount: 2\n",
        ["helm-webhook-2", "helm-dsn-3"],
        ["replicaCount: 2"],
    ),
]


@pytest.mark.parametrize(
    ("text", "secrets", "kept"),
    [pytest.param(text, secrets, kept, id=name) for name, text, secrets, kept in CORPUS],
)
def test_secrets_outside_secret_objects_are_masked(
    text: str, secrets: list[str], kept: list[str]
) -> None:
    redacted = redact.redact_text(text)
    leaked = [secret for secret in secrets if secret in redacted]
    assert not leaked, f"leaked {leaked} in:\n{redacted}"
    lost = [keep for keep in kept if keep not in redacted]
    assert not lost, f"hid {lost} that must stay, in:\n{redacted}"
    assert REDACTED in redacted


@pytest.mark.parametrize(
    "text", [pytest.param(text, id=name) for name, text, _secrets, _kept in CORPUS + OLD_CORPUS]
)
def test_redaction_is_idempotent_whole_and_cut(text: str) -> None:
    """A second pass (a stored output shown again, a marker) changes nothing."""
    once = redact.redact_text(text)
    assert redact.redact_text(once) == once
    for cut in range(10, len(text), 53):
        cut_once = redact.redact_text(text[:cut], truncated=True)
        assert redact.redact_text(cut_once, truncated=True) == cut_once, f"cut at {cut}"


@pytest.mark.parametrize(
    ("text", "secrets"),
    [
        pytest.param(CONFIGMAP_YAML, CONFIGMAP_SECRETS, id="configmap yaml"),
        pytest.param(CONFIGMAP_JSON, CONFIGMAP_SECRETS, id="configmap json"),
        pytest.param(DEPLOYMENT_YAML, ENV_SECRETS, id="deployment yaml"),
        pytest.param(DEPLOYMENT_JSON, ENV_SECRETS, id="deployment json"),
    ],
)
def test_output_cut_anywhere_still_hides_them(text: str, secrets: list[str]) -> None:
    """The output cap cuts where it cuts: every prefix goes through the line rules."""
    for cut in range(40, len(text), 37):
        redacted = redact.redact_text(text[:cut], truncated=True)
        for secret in secrets:
            # A secret cut in two can leave a harmless stub; a whole one must not survive.
            assert secret not in redacted, f"cut at {cut}: {secret!r} leaked"


@pytest.mark.parametrize(
    "text", [pytest.param(CONFIGMAP_YAML, id="yaml"), pytest.param(CONFIGMAP_JSON, id="json")]
)
def test_redacted_configmap_still_parses_with_every_key(text: str) -> None:
    redacted = yaml.safe_load(redact.redact_text(text))
    assert redacted["data"].keys() == CONFIGMAP_DATA.keys()
    assert redacted["data"]["DB_PASSWORD"] == REDACTED
    assert redacted["data"]["LOG_LEVEL"] == "debug"
    assert redacted["data"]["app.ini"] == f"[db]\nhost = db\nuser = app\npassword = {REDACTED}\n"
    applied = json.loads(
        redacted["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
    )
    assert applied["data"]["GITHUB_PAT"] == REDACTED


def test_yaml_is_masked_in_place_and_the_rest_is_byte_for_byte() -> None:
    text = "# values for shop\ndb:\n  host: db   # primary\n  password: hunter2\nreplicas: 3\n"
    assert redact.redact_text(text) == (
        f'# values for shop\ndb:\n  host: db   # primary\n  password: "{REDACTED}"\nreplicas: 3\n'
    )


@pytest.mark.parametrize(
    ("resource", "jsonpath", "masked"),
    [
        ("configmap/app-config", "{.data.DB_PASSWORD}", True),
        ("configmap/app-config", "{.data['spring\\.datasource\\.password']}", True),
        ("configmap/app-config", "{.data.*}", True),
        (
            "deployment/web",
            '{.spec.template.spec.containers[0].env[?(@.name=="API_TOKEN")].value}',
            True,
        ),
        ("deployment/web", "{.spec.template.spec.containers[*].env[*].value}", True),
        ("configmap/app-config", "{.data.LOG_LEVEL}", False),
        ("deployment/web", "{.spec.template.spec.containers[*].env[*].name}", False),
        ("pods", '{.items[?(@.status.phase=="Running")].metadata.name}', False),
    ],
)
def test_jsonpath_answers_that_read_secret_values_are_masked(
    resource: str, jsonpath: str, masked: bool
) -> None:
    out = redact.redact_jsonpath_output("value-1 value-2", resource=resource, jsonpath=jsonpath)
    assert (out == REDACTED) is masked

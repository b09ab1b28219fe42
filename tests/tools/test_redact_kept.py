"""No false positives: booleans, numbers, null and the non-secret fields around secrets stay.

Issue 23: `automountServiceAccountToken: false` came back as `**REDACTED**` because the key ends
in "token". Every text here must come back exactly as it went in, in every format and when cut.
"""

from __future__ import annotations

import json

import pytest
import yaml

from opsgate.tools import redact

POD_SPEC = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "web-7d4b9", "namespace": "shop"},
    "spec": {
        "automountServiceAccountToken": False,
        "serviceAccountName": "web",
        "imagePullSecrets": [{"name": "registry-credentials"}],
        "containers": [
            {
                "name": "web",
                "image": "ghcr.io/shop/web:1.4.2",
                "env": [
                    {"name": "DB_PASSWORD_FILE", "value": "/run/secrets/db/password"},
                    {"name": "TOKEN_PATH", "value": "/var/run/secrets/tokens/api"},
                    {"name": "ENABLE_TOKEN_AUTH", "value": "true"},
                    {"name": "SESSION_SECRET_NAME", "value": "web-session"},
                    {"name": "MAX_TOKENS", "value": "4096"},
                    {
                        "name": "DB_PASSWORD",
                        "valueFrom": {
                            "secretKeyRef": {"name": "db-credentials", "key": "password"}
                        },
                    },
                    {
                        "name": "API_TOKEN",
                        "valueFrom": {"configMapKeyRef": {"name": "api-config", "key": "token"}},
                    },
                ],
                "envFrom": [{"secretRef": {"name": "web-env"}}],
                "volumeMounts": [{"name": "token", "mountPath": "/var/run/secrets/tokens"}],
            }
        ],
        "volumes": [
            {"name": "tls", "secret": {"secretName": "web-tls", "defaultMode": 420}},
            {
                "name": "token",
                "projected": {
                    "sources": [
                        {
                            "serviceAccountToken": {
                                "audience": "vault",
                                "expirationSeconds": 3600,
                                "path": "token",
                            }
                        }
                    ]
                },
            },
        ],
    },
}

CSI_DRIVER = {
    "apiVersion": "storage.k8s.io/v1",
    "kind": "CSIDriver",
    "metadata": {"name": "secrets-store.csi.k8s.io"},
    "spec": {
        "tokenRequests": [{"audience": "api://AzureADTokenExchange", "expirationSeconds": 600}],
        "requiresRepublish": True,
    },
}

ISSUER = {
    "apiVersion": "cert-manager.io/v1",
    "kind": "ClusterIssuer",
    "metadata": {"name": "vault"},
    "spec": {
        "vault": {
            "server": "https://vault.example.com",
            "auth": {
                "appRole": {
                    "roleId": "opsgate",
                    "secretRef": {"name": "vault-approle", "key": "secretId"},
                },
                "tokenSecretRef": {"name": "vault-token", "key": "token"},
            },
        },
        "acme": {"privateKeySecretRef": {"name": "letsencrypt-account"}},
    },
}

EXTERNAL_SECRET = {
    "apiVersion": "external-secrets.io/v1beta1",
    "kind": "SecretStore",
    "metadata": {"name": "db"},
    "spec": {
        "provider": {
            "postgresql": {
                "auth": {"passwordSecretRef": {"name": "pg-admin", "key": "password"}},
                "tokenExpirationSeconds": 7200,
            }
        }
    },
}

HELM_VALUES = """auth:
  enabled: true
  existingSecret: shop-db
  existingSecretPasswordKey: password
  usePasswordFiles: true
  password: ""
  rootPassword: null
serviceAccount:
  automountServiceAccountToken: false
  token: false
tls:
  secretName: shop-tls
  tlsSecret: shop-tls
image:
  pullSecrets: [registry]
  imagePullSecret: registry
metrics:
  passwordLength: 24
  tokenTtlSeconds: 900
"""

DOCUMENTS = {"pod": POD_SPEC, "csi driver": CSI_DRIVER, "issuer": ISSUER, "store": EXTERNAL_SECRET}
TEXTS = {
    **{f"{name} yaml": yaml.safe_dump(doc, sort_keys=True) for name, doc in DOCUMENTS.items()},
    **{f"{name} json": json.dumps(doc, indent=4) + "\n" for name, doc in DOCUMENTS.items()},
    "helm values": HELM_VALUES,
    "describe pod env": (
        "    Environment:\n"
        "      DB_PASSWORD_FILE:   /run/secrets/db/password\n"
        "      ENABLE_TOKEN_AUTH:  true\n"
        "      MAX_TOKENS:         4096\n"
        "      DB_PASSWORD:        <set to the key 'password' in secret 'db-credentials'>  "
        "Optional: false\n"
        "      API_TOKEN:          <set to the key 'token' of config map 'api-config'>  "
        "Optional: false\n"
        "    Mounts:\n      /var/run/secrets/tokens from token (rw)\n"
    ),
    "describe secret": "Data\n====\npassword:  8 bytes\ntoken:     12 bytes\n",
    "log lines": (
        "token: expired, asking for a new one\n"
        'level=warn msg="password rotation due" days=3\n'
        "Error validating token for user bob\n"
    ),
    "one-line json with container ids and image digests": (
        '{"containerStatuses":[{"containerID":"containerd://a161ec",'
        '"image":"nginx@sha256:cd4495","name":"web"}]}'
    ),
    "env with booleans and numbers": (
        "ENABLE_TOKEN_AUTH=true\nTOKEN_TTL=3600\nSECRET_ROTATION=false\n"
    ),
}


@pytest.mark.parametrize("text", [pytest.param(t, id=name) for name, t in TEXTS.items()])
def test_non_secrets_come_back_unchanged(text: str) -> None:
    assert redact.redact_text(text) == text


@pytest.mark.parametrize("text", [pytest.param(t, id=name) for name, t in TEXTS.items()])
def test_non_secrets_come_back_unchanged_when_cut(text: str) -> None:
    """Output cut by the cap goes through the fail-closed line rules: they must not over-mask."""
    if '"kind": "Secret"' in text:
        pytest.skip("a Secret's data is masked when cut, by design")
    for cut in range(20, len(text), 41):
        if "\n" not in text[:cut]:
            continue
        redacted = redact.redact_text(text[:cut], truncated=True)
        # The last line is cut inside its value, which may be a secret's first characters.
        whole_lines = text[:cut].rsplit("\n", 1)[0]
        assert redacted.rsplit("\n", 1)[0] == whole_lines, f"cut at {cut}"


@pytest.mark.parametrize(
    ("key", "secret"),
    [
        ("DB_PASSWORD", True),
        ("db_pass", True),
        ("secret_key_base", True),
        ("stripe_key", True),
        ("GITHUB_PAT", True),
        ("SIGNING_PRIVATE_KEY", True),
        ("SLACK_WEBHOOK", True),
        ("client-key-data", True),
        ("tls.key", True),
        ("dbpassword", True),
        ("secretName", False),
        ("secretKeyRef", False),
        ("configMapKeyRef", False),
        ("passwordSecretRef", False),
        ("tokenSecretRef", False),
        ("tokenExpirationSeconds", False),
        ("expirationSeconds", False),
        ("imagePullSecrets", False),
        ("existingSecret", False),
        ("DB_PASSWORD_FILE", False),
        ("key", False),
        ("topologyKey", False),
        ("public_key", False),
        ("PWD", False),
        ("serviceAccountToken", False),
        ("automountServiceAccountToken", False),
    ],
)
def test_key_names(key: str, secret: bool) -> None:
    assert redact.is_secret_key(key) is secret


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("password: 123456\n", "123456"),
        ('{"password": 123456}', "123456"),
        ("DB_PASS=424242\n", "424242"),
    ],
)
def test_numbers_are_kept_except_under_password_keys(text: str, secret: str) -> None:
    """A numeric password is still a password; `tokenExpirationSeconds: 3600` is not a token."""
    assert secret not in redact.redact_text(text)

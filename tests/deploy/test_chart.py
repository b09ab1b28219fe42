"""The Helm chart `deploy/helm/opsgate`: linted, rendered, accepted by the sandbox, installed.

Runs the real helm and kubectl of `.tools/bin` against the session's sandbox; assertions are on
the parsed objects `helm template` renders.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

import opsgate
from opsgate.settings import PROJECT_ROOT, Settings
from tests.fixtures.sandbox import SandboxInfo, helm, kubectl

pytestmark = pytest.mark.sandbox

CHART = PROJECT_ROOT / "deploy" / "helm" / "opsgate"
POSTGRES = "database.url=postgresql+psycopg://opsgate:pw@postgres:5432/opsgate"
PRESETS: dict[str, list[str]] = {
    "readOnly": ["rbac.preset=readOnly"],
    "namespaceOperator": ["rbac.preset=namespaceOperator", "rbac.namespaces={@namespace}"],
    "clusterOperator": ["rbac.preset=clusterOperator", "replicaCount=3", POSTGRES],
    "none": ["rbac.preset=none", "ingress.enabled=true", "persistence.enabled=true"],
    "impersonate": ["rbac.preset=impersonate", "rbac.impersonate.groups={dev,oncall}"],
}
READ_VERBS = {"get", "list", "watch"}


def set_flags(values: list[str], namespace: str) -> list[str]:
    """`--set` flags for `values`, with `@namespace` standing for the test's namespace."""
    return [flag for value in values for flag in ("--set", value.replace("@namespace", namespace))]


def render(sandbox: SandboxInfo, namespace: str, values: list[str]) -> list[dict[str, Any]]:
    rendered = helm(
        sandbox, "template", "og", str(CHART), "--namespace", namespace,
        *set_flags(values, namespace),
    )  # fmt: skip
    assert rendered.returncode == 0, rendered.stderr
    return [doc for doc in yaml.safe_load_all(rendered.stdout) if doc]


def by_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


@pytest.mark.parametrize("preset", PRESETS)
def test_the_chart_lints_with_each_preset(sandbox: SandboxInfo, preset: str) -> None:
    linted = helm(sandbox, "lint", "--strict", str(CHART), *set_flags(PRESETS[preset], "shop"))
    assert linted.returncode == 0, linted.stdout + linted.stderr
    assert "0 chart(s) failed" in linted.stdout


@pytest.mark.parametrize("preset", PRESETS)
def test_every_rendered_object_is_accepted_by_the_sandbox(
    sandbox: SandboxInfo, namespace: str, preset: str
) -> None:
    objects = render(sandbox, namespace, PRESETS[preset])
    assert {"Deployment", "Service", "Secret", "NetworkPolicy"} <= {o["kind"] for o in objects}
    applied = kubectl(
        sandbox, "apply", "--dry-run=server", "--output", "name", "--filename", "-",
        stdin=yaml.safe_dump_all(objects),
    )  # fmt: skip
    assert applied.returncode == 0, applied.stderr
    assert len(applied.stdout.splitlines()) == len(objects)


def test_read_only_grants_no_verb_beyond_get_list_watch(
    sandbox: SandboxInfo, namespace: str
) -> None:
    objects = render(sandbox, namespace, PRESETS["readOnly"])
    (role,) = by_kind(objects, "ClusterRole")
    assert not by_kind(objects, "Role")
    for rule in role["rules"]:
        assert set(rule["verbs"]) <= READ_VERBS, rule
        assert "*" not in rule["resources"]
        assert "secrets" not in rule["resources"], "read-only must not read secrets"
    resources = {r for rule in role["rules"] for r in rule["resources"]}
    assert {"pods", "pods/log", "deployments", "services", "events"} <= resources
    (binding,) = by_kind(objects, "ClusterRoleBinding")
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    (account,) = by_kind(objects, "ServiceAccount")
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": account["metadata"]["name"], "namespace": namespace}
    ]


def test_namespace_operator_changes_only_the_listed_namespaces(
    sandbox: SandboxInfo, namespace: str
) -> None:
    objects = render(
        sandbox, "opsgate", ["rbac.preset=namespaceOperator", f"rbac.namespaces={{{namespace}}}"]
    )
    assert not by_kind(objects, "ClusterRole")
    assert not by_kind(objects, "ClusterRoleBinding")
    (role,) = by_kind(objects, "Role")
    assert role["metadata"]["namespace"] == namespace
    writes = {r for rule in role["rules"] if "patch" in rule["verbs"] for r in rule["resources"]}
    assert {"deployments", "deployments/scale", "statefulsets"} <= writes
    (binding,) = by_kind(objects, "RoleBinding")
    assert binding["metadata"]["namespace"] == namespace
    assert binding["subjects"][0]["namespace"] == "opsgate"


def test_the_none_preset_makes_no_rbac_objects(sandbox: SandboxInfo) -> None:
    kinds = {o["kind"] for o in render(sandbox, "opsgate", PRESETS["none"])}
    assert not kinds & {"Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"}
    assert {"Ingress", "PersistentVolumeClaim"} <= kinds


def test_the_pod_runs_locked_down_with_probes(sandbox: SandboxInfo) -> None:
    (deployment,) = by_kind(render(sandbox, "opsgate", PRESETS["clusterOperator"]), "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    assert deployment["spec"]["replicas"] == 3
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    (container,) = pod["containers"]
    security = container["securityContext"]
    assert security["allowPrivilegeEscalation"] is False
    assert security["readOnlyRootFilesystem"] is True
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert security["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["image"] == f"opsgate:{opsgate.__version__}"
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert mounts == {"/var/lib/opsgate", "/tmp"}


def test_every_environment_variable_is_an_opsgate_setting(sandbox: SandboxInfo) -> None:
    values = [*PRESETS["clusterOperator"], "config.publicUrl=https://ops.example",
              "config.contexts={prod}", "config.defaultContext=prod", "model.name=openai/gpt-4.1",
              "model.existingSecret=model"]  # fmt: skip
    (deployment,) = by_kind(render(sandbox, "opsgate", values), "Deployment")
    env = {e["name"]: e for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    for name in env:
        assert name.startswith("OPSGATE_"), name
        assert name.removeprefix("OPSGATE_").lower() in Settings.model_fields, name
    assert not [name for name in env if "OIDC" in name or "PROXY" in name], "SSO is off by default"
    for key in ("APPROVAL_KEY", "SECRET_KEY", "AUDIT_KEY", "SESSION_KEY", "DATABASE_URL"):
        assert "value" not in env[f"OPSGATE_{key}"], f"{key} must come from a Secret"
        assert env[f"OPSGATE_{key}"]["valueFrom"]["secretKeyRef"]["name"].startswith("og-")
    plain = {name: e["value"] for name, e in env.items() if "value" in e}
    parsed = Settings.model_validate(
        {name.removeprefix("OPSGATE_").lower(): value for name, value in plain.items()}
        | {"contexts": json.loads(plain["OPSGATE_CONTEXTS"])}
    )
    assert parsed.contexts == ["prod"]
    assert parsed.public_url == "https://ops.example"
    assert parsed.require_distinct_approver is True


SSO = [
    "config.publicUrl=https://ops.example",
    "sso.oidc.issuer=https://idp.example/realms/ops",
    "sso.oidc.clientId=opsgate",
    "sso.oidc.existingSecret=idp",
    "sso.oidc.scopes={openid,email,groups}",
    "sso.roles.sre=approver",
    "sso.roles.dev=operator",
    "sso.proxyAuth.trustedCidrs={10.0.0.0/8}",
]


def test_single_sign_on_values_become_settings_opsgate_reads(sandbox: SandboxInfo) -> None:
    (deployment,) = by_kind(render(sandbox, "opsgate", SSO), "Deployment")
    env = {e["name"]: e for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    secret = env["OPSGATE_OIDC__CLIENT_SECRET"]
    assert "value" not in secret, "the client secret must come from a Secret"
    assert secret["valueFrom"]["secretKeyRef"] == {"name": "idp", "key": "client-secret"}
    nested: dict[str, Any] = {}
    for name, e in env.items():
        if "value" not in e or "__" not in name:
            continue
        group, field = name.removeprefix("OPSGATE_").lower().split("__")
        value = e["value"]
        nested.setdefault(group, {})[field] = json.loads(value) if value[:1] == "[" else value
    parsed = Settings.model_validate(
        {"public_url": env["OPSGATE_PUBLIC_URL"]["value"],
         "sso_roles": json.loads(env["OPSGATE_SSO_ROLES"]["value"]), **nested}
    )  # fmt: skip
    assert parsed.oidc is not None
    assert parsed.proxy_auth is not None
    assert (parsed.oidc.issuer, parsed.oidc.client_id) == (
        "https://idp.example/realms/ops",
        "opsgate",
    )
    assert parsed.oidc.scopes == ["openid", "email", "groups"]
    assert parsed.sso_roles == {"sre": "approver", "dev": "operator"}
    assert [str(c) for c in parsed.proxy_auth.trusted_cidrs] == ["10.0.0.0/8"]


def test_single_sign_on_without_a_public_url_is_refused(sandbox: SandboxInfo) -> None:
    values = [v for v in SSO if not v.startswith("config.publicUrl")]
    rendered = helm(sandbox, "template", "og", str(CHART), *set_flags(values, "shop"))
    assert rendered.returncode != 0
    assert "sso.oidc needs config.publicUrl" in rendered.stderr


def test_generated_keys_are_long_enough(sandbox: SandboxInfo) -> None:
    secrets = by_kind(render(sandbox, "opsgate", PRESETS["readOnly"]), "Secret")
    (keys,) = [s for s in secrets if s["metadata"]["name"] == "og-opsgate-keys"]
    assert set(keys["data"]) == {"approval-key", "secret-key", "audit-key", "session-key"}
    for value in keys["data"].values():
        assert len(base64.b64decode(value)) >= 32
    assert len(set(keys["data"].values())) == 4


def test_an_existing_keys_secret_is_used_instead(sandbox: SandboxInfo) -> None:
    objects = render(sandbox, "opsgate", ["keys.existingSecret=my-keys"])
    assert not [s for s in by_kind(objects, "Secret") if "keys" in s["metadata"]["name"]]
    (deployment,) = by_kind(objects, "Deployment")
    env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    refs = {e["valueFrom"]["secretKeyRef"]["name"] for e in env if "valueFrom" in e}
    assert refs == {"my-keys"}


@pytest.mark.parametrize(
    ("values", "complaint"),
    [
        (["rbac.preset=admin"], "/rbac/preset"),
        (["replicaCount=2"], "/replicaCount"),
        (["replicaCount=2", POSTGRES, "persistence.enabled=true"], "/replicaCount"),
        (["rbac.preset=namespaceOperator"], "namespaces"),
        (["config.logFormat=xml"], "/config/logFormat"),
        (["database.url=mysql://db/opsgate"], "/database/url"),
        (["replicas=2"], "replicas"),
        (["sso.oidc.issuer=https://idp.example"], "clientId"),
        (["sso.oidc.issuer=idp.example", "sso.oidc.clientId=x"], "/sso/oidc/issuer"),
        (["sso.roles.sre=root"], "/sso/roles/sre"),
    ],
)
def test_the_schema_rejects_a_bad_value(
    sandbox: SandboxInfo, values: list[str], complaint: str
) -> None:
    rendered = helm(sandbox, "template", "og", str(CHART), *set_flags(values, "shop"))
    assert rendered.returncode != 0
    assert "schema" in rendered.stderr
    assert complaint in rendered.stderr


def test_appversion_is_the_opsgate_version() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["appVersion"] == opsgate.__version__


def test_helm_install_succeeds_and_an_upgrade_keeps_the_keys(
    sandbox: SandboxInfo, namespace: str
) -> None:
    flags = set_flags(PRESETS["namespaceOperator"], namespace)
    installed = helm(sandbox, "install", "og", str(CHART), "--namespace", namespace, *flags)
    assert installed.returncode == 0, installed.stderr
    assert "opsgate users add admin --role admin" in installed.stdout
    status = helm(sandbox, "status", "og", "--namespace", namespace, "--output", "json")
    assert json.loads(status.stdout)["info"]["status"] == "deployed"
    first = kubectl(sandbox, "get", "secret", "og-opsgate-keys", "-n", namespace, "-o", "json")
    assert first.returncode == 0, first.stderr
    upgraded = helm(sandbox, "upgrade", "og", str(CHART), "--namespace", namespace, *flags)
    assert upgraded.returncode == 0, upgraded.stderr
    second = kubectl(sandbox, "get", "secret", "og-opsgate-keys", "-n", namespace, "-o", "json")
    assert json.loads(second.stdout)["data"] == json.loads(first.stdout)["data"]
    deployment = kubectl(sandbox, "get", "deployment", "og-opsgate", "-n", namespace)
    assert deployment.returncode == 0, deployment.stderr
    removed = helm(sandbox, "uninstall", "og", "--namespace", namespace)
    assert removed.returncode == 0, removed.stderr
    kept = kubectl(sandbox, "get", "secret", "og-opsgate-keys", "-n", namespace, "-o", "json")
    assert kept.returncode == 0, "the keys Secret must outlive an uninstall"
    assert json.loads(kept.stdout)["data"] == json.loads(first.stdout)["data"]


def test_the_readme_values_example_renders_what_the_readme_says(
    sandbox: SandboxInfo, tmp_path: Path
) -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    example = re.search(r"```yaml\n# values-prod.yaml\n(.*?)```", readme, flags=re.DOTALL)
    assert example, "README lost its values example"
    values = tmp_path / "values-prod.yaml"
    values.write_text(example.group(1))
    rendered = helm(
        sandbox, "template", "opsgate", str(CHART), "--namespace", "opsgate", "-f", str(values)
    )
    assert rendered.returncode == 0, rendered.stderr
    objects = [doc for doc in yaml.safe_load_all(rendered.stdout) if doc]
    (deployment,) = by_kind(objects, "Deployment")
    assert deployment["metadata"]["name"] == "opsgate"
    assert "deployment/opsgate" in readme
    assert deployment["spec"]["replicas"] == 3
    assert {s["metadata"]["name"] for s in by_kind(objects, "Secret")} == {"opsgate-keys"}
    assert "`opsgate-keys`" in readme
    assert sorted(r["metadata"]["namespace"] for r in by_kind(objects, "Role")) == [
        "payments",
        "shop",
    ]
    (ingress,) = by_kind(objects, "Ingress")
    assert ingress["spec"]["rules"][0]["host"] == "opsgate.example.com"

"""Typed fields of built-in kinds are refused as a real API server refuses them, read back
through the real kubectl (`apply` with its default strict field validation, and
`--dry-run=server`): security settings a chart gets wrong are never taken quietly."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.fixtures.sandbox import SandboxInfo, kubectl

pytestmark = pytest.mark.sandbox


def deployment(namespace: str, pod: dict[str, Any], container: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "locked", "namespace": namespace},
        "spec": {
            "selector": {"matchLabels": {"app": "locked"}},
            "template": {
                "metadata": {"labels": {"app": "locked"}},
                "spec": {
                    **pod,
                    "containers": [{"name": "app", "image": "nginx:1.27", **container}],
                },
            },
        },
    }


def apply(sandbox: SandboxInfo, body: dict[str, Any], *flags: str) -> tuple[int, str]:
    done = kubectl(sandbox, "apply", *flags, "-f", "-", stdin=json.dumps(body))
    return done.returncode, done.stderr


@pytest.mark.parametrize("flags", [(), ("--dry-run=server",)], ids=["apply", "dry-run"])
def test_an_unknown_security_context_field_is_a_strict_decoding_error(
    sandbox: SandboxInfo, namespace: str, flags: tuple[str, ...]
) -> None:
    body = deployment(namespace, {}, {"securityContext": {"bogus": 1, "privileged": False}})
    code, err = apply(sandbox, body, *flags)
    assert code == 1
    assert (
        'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: '
        'unknown field "spec.template.spec.containers[0].securityContext.bogus"'
    ) in err


def test_a_string_for_a_boolean_cannot_be_decoded(sandbox: SandboxInfo, namespace: str) -> None:
    body = deployment(namespace, {}, {"securityContext": {"readOnlyRootFilesystem": "true"}})
    code, err = apply(sandbox, body, "--dry-run=server")
    assert code == 1
    assert (
        "json: cannot unmarshal string into Go struct field SecurityContext"
        ".spec.template.spec.containers.securityContext.readOnlyRootFilesystem of type bool"
    ) in err
    pod_level = deployment(namespace, {"securityContext": {"runAsNonRoot": "maybe"}}, {})
    code, err = apply(sandbox, pod_level, "--dry-run=server")
    assert (
        "Go struct field PodSecurityContext.spec.template.spec.securityContext.runAsNonRoot" in err
    )


def test_an_unknown_seccomp_profile_type_is_unsupported(
    sandbox: SandboxInfo, namespace: str
) -> None:
    body = deployment(namespace, {"securityContext": {"seccompProfile": {"type": "Sometimes"}}}, {})
    code, err = apply(sandbox, body)
    assert code == 1
    assert (
        'The Deployment "locked" is invalid: spec.template.spec.securityContext.seccompProfile'
        '.type: Unsupported value: "Sometimes": supported values: "Localhost", '
        '"RuntimeDefault", "Unconfined"'
    ) in err


def test_network_policy_types_secret_data_and_service_account_flags(
    sandbox: SandboxInfo, namespace: str
) -> None:
    policy = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "sideways", "namespace": namespace},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Sideways"]},
    }
    code, err = apply(sandbox, policy)
    assert code == 1
    assert (
        'spec.policyTypes[1]: Unsupported value: "Sideways": supported values: "Ingress", "Egress"'
    ) in err
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "plain", "namespace": namespace},
        "data": {"password": "not base64!"},
    }
    code, err = apply(sandbox, secret)
    assert code == 1
    assert (
        'Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte 3'
    ) in err
    account = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": "sure", "namespace": namespace},
        "automountServiceAccountToken": "sure",
    }
    code, err = apply(sandbox, account)
    assert code == 1
    assert "Go struct field ServiceAccount.automountServiceAccountToken of type bool" in err


def test_a_locked_down_workload_is_taken(sandbox: SandboxInfo, namespace: str) -> None:
    body = deployment(
        namespace,
        {"securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}},
        {
            "securityContext": {
                "allowPrivilegeEscalation": False,
                "readOnlyRootFilesystem": True,
                "runAsUser": 10001,
                "capabilities": {"drop": ["ALL"]},
            }
        },
    )
    code, err = apply(sandbox, body)
    assert code == 0, err
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "fine", "namespace": namespace},
        "data": {"password": "aHVudGVyMg=="},
    }
    assert apply(sandbox, secret) == (0, "")

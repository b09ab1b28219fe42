"""Scenarios: least privilege with Role/RoleBinding, checked with `kubectl auth can-i --as`;
and the authorizer behind it: 403 wording, impersonation, ServiceAccount tokens, whoami.

kubectl sends no credentials over plain HTTP (client-go reads a kubeconfig's user only for
TLS servers), so bearer tokens are exercised with a plain HTTP client; kubectl acts as other
users through impersonation (`--as`), which is how the benchmark verifiers check RBAC.
"""

from __future__ import annotations

import json

import httpx
import pytest

from tests.fixtures.sandbox import SandboxInfo, kubectl
from tests.sandbox.scenarios.task import Task, run, run_task

pytestmark = pytest.mark.sandbox

SA = "system:serviceaccount:{ns}:ci"


def _can(sandbox: SandboxInfo, namespace: str, *args: str) -> bool:
    result = kubectl(sandbox, "auth", "can-i", *args, "--as", SA.format(ns=namespace))
    return result.stdout.strip() == "yes"


def _least_privilege(sandbox: SandboxInfo, namespace: str) -> list[str]:
    wanted = [("get", "pods"), ("list", "pods"), ("watch", "pods"), ("get", "pods/log")]
    refused = [("delete", "pods"), ("create", "pods"), ("get", "secrets"), ("list", "deployments")]
    problems = [
        f"cannot {v} {r}" for v, r in wanted if not _can(sandbox, namespace, v, r, "-n", namespace)
    ]
    problems += [
        f"may {v} {r}" for v, r in refused if _can(sandbox, namespace, v, r, "-n", namespace)
    ]
    if _can(sandbox, namespace, "list", "pods", "-n", "default"):
        problems.append("may list pods outside its namespace")
    return problems


FIX = (
    run(
        "create",
        "role",
        "pod-reader",
        "-n",
        "{ns}",
        "--verb=get,list,watch",
        "--resource=pods,pods/log",
    ),
    run(
        "create",
        "rolebinding",
        "ci-reads-pods",
        "-n",
        "{ns}",
        "--role=pod-reader",
        "--serviceaccount={ns}:ci",
    ),
)


def test_least_privilege_role_for_a_service_account(sandbox: SandboxInfo, namespace: str) -> None:
    task = Task(
        setup=(run("create", "serviceaccount", "ci", "-n", "{ns}"),),
        fix=FIX,
        verify=_least_privilege,
    )
    run_task(sandbox, namespace, task)
    rules = kubectl(
        sandbox, "auth", "can-i", "--list", "-n", namespace, "--as", SA.format(ns=namespace)
    ).stdout
    assert "pods/log" in rules
    assert "[get list watch]" in rules


def test_binding_a_broad_role_fails_the_least_privilege_check(
    sandbox: SandboxInfo, namespace: str
) -> None:
    assert kubectl(sandbox, "create", "serviceaccount", "ci", "-n", namespace).returncode == 0
    bound = kubectl(
        sandbox,
        "create",
        "rolebinding",
        "ci-edit",
        "-n",
        namespace,
        "--clusterrole=edit",
        f"--serviceaccount={namespace}:ci",
    )
    assert bound.returncode == 0, bound.stderr
    assert _least_privilege(sandbox, namespace) == [
        "may delete pods",
        "may create pods",
        "may get secrets",
        "may list deployments",
    ]


def test_denials_are_403_with_the_api_servers_words(sandbox: SandboxInfo, namespace: str) -> None:
    listed = kubectl(sandbox, "get", "secrets", "-n", namespace, "--as", "jane")
    assert listed.returncode != 0
    assert listed.stderr.strip() == (
        'Error from server (Forbidden): secrets is forbidden: User "jane" cannot list resource '
        f'"secrets" in API group "" in the namespace "{namespace}"'
    )
    named = kubectl(sandbox, "get", "deployment", "web", "-n", namespace, "--as", "jane")
    assert (
        'deployments.apps "web" is forbidden: User "jane" cannot get resource "deployments" '
        'in API group "apps"'
    ) in named.stderr
    nodes = kubectl(sandbox, "get", "nodes", "--as", "jane")
    assert 'cannot list resource "nodes" in API group "" at the cluster scope' in nodes.stderr


def test_cluster_role_binding_and_groups(sandbox: SandboxInfo, namespace: str) -> None:
    group = f"viewers-{namespace}"
    made = kubectl(
        sandbox,
        "create",
        "rolebinding",
        "viewers",
        "-n",
        namespace,
        "--clusterrole=view",
        f"--group={group}",
    )
    assert made.returncode == 0, made.stderr
    as_member = ("--as", "jane", "--as-group", group)
    assert (
        kubectl(
            sandbox, "auth", "can-i", "list", "deployments", "-n", namespace, *as_member
        ).stdout.strip()
        == "yes"
    )
    assert (
        kubectl(
            sandbox, "auth", "can-i", "get", "secrets", "-n", namespace, *as_member
        ).stdout.strip()
        == "no"
    )
    assert (
        kubectl(
            sandbox, "auth", "can-i", "list", "deployments", "-n", namespace, "--as", "jane"
        ).stdout.strip()
        == "no"
    )
    whoami = kubectl(sandbox, "auth", "whoami", *as_member, "-o", "json")
    assert json.loads(whoami.stdout)["status"]["userInfo"]["groups"] == [
        group,
        "system:authenticated",
    ]


def test_only_permitted_users_may_impersonate(sandbox: SandboxInfo, namespace: str) -> None:
    pods = f"/api/v1/namespaces/{namespace}/pods"
    with httpx.Client(base_url=sandbox.api_url, timeout=10) as client:
        # The admin may impersonate: the request then runs as bob, who may not list pods.
        as_bob = client.get(pods, headers={"Impersonate-User": "bob"})
        assert as_bob.status_code == 403
        assert as_bob.json()["message"].startswith('pods is forbidden: User "bob" cannot list')
        assert kubectl(sandbox, "create", "serviceaccount", "ci", "-n", namespace).returncode == 0
        token = kubectl(sandbox, "create", "token", "ci", "-n", namespace).stdout.strip()
        refused = client.get(
            pods, headers={"Authorization": f"Bearer {token}", "Impersonate-User": "bob"}
        )
    assert refused.status_code == 403
    assert refused.json()["message"] == (
        f'users "bob" is forbidden: User "system:serviceaccount:{namespace}:ci" cannot '
        'impersonate resource "users" in API group "" at the cluster scope'
    )


def test_service_account_tokens_authenticate_until_the_account_goes(
    sandbox: SandboxInfo, namespace: str
) -> None:
    assert kubectl(sandbox, "create", "serviceaccount", "ci", "-n", namespace).returncode == 0
    for step in FIX:
        args = [a.replace("{ns}", namespace) for a in step.args]
        assert kubectl(sandbox, *args).returncode == 0
    token = kubectl(sandbox, "create", "token", "ci", "-n", namespace).stdout.strip()
    assert token.count(".") == 2
    pods = f"/api/v1/namespaces/{namespace}/pods"
    with httpx.Client(base_url=sandbox.api_url, timeout=10) as client:
        bearer = {"Authorization": f"Bearer {token}"}
        assert client.get(pods, headers=bearer).status_code == 200
        secrets = client.get(f"/api/v1/namespaces/{namespace}/secrets", headers=bearer)
        assert secrets.status_code == 403
        review = client.post(
            "/apis/authentication.k8s.io/v1/selfsubjectreviews",
            headers=bearer,
            json={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
        )
        assert review.json()["status"]["userInfo"]["username"] == SA.format(ns=namespace)
        forged = client.get(pods, headers={"Authorization": f"Bearer {token[:-2]}xx"})
        assert (forged.status_code, forged.json()["reason"]) == (401, "Unauthorized")
        assert kubectl(sandbox, "delete", "serviceaccount", "ci", "-n", namespace).returncode == 0
        assert client.get(pods, headers=bearer).status_code == 401

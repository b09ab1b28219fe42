"""`k8s_apply` from a kustomization, against the sandbox with the real kubectl (its bundled
kustomize renders).

The kustomization is in the shape of the public base/overlay layout (kustomize's own
`examples/helloWorld` and the multibases example): a base with a Deployment and a Service, an
overlay with `namePrefix`, `labels`, an `images` override, a replica patch and a
`configMapGenerator`. It is given as content (rendered in a private temp directory) and as a
directory on the tool server.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from opsgate.tools import redact
from opsgate.tools.base import ToolEnv
from tests.fixtures.sandbox import SandboxInfo, get_json, kubectl
from tests.tools.kubectl.helpers import TOOLS, call

pytestmark = pytest.mark.sandbox

BASE = {
    "base/kustomization.yaml": "resources: [deployment.yaml, service.yaml]\n",
    "base/deployment.yaml": """apiVersion: apps/v1
kind: Deployment
metadata: {name: the-deployment}
spec:
  replicas: 1
  selector: {matchLabels: {deployment: hello}}
  template:
    metadata: {labels: {deployment: hello}}
    spec:
      containers:
        - name: the-container
          image: monopole/hello:1
          envFrom: [{configMapRef: {name: the-map}}]
""",
    "base/service.yaml": """apiVersion: v1
kind: Service
metadata: {name: the-service}
spec:
  selector: {deployment: hello}
  ports: [{port: 8666, targetPort: 8080}]
""",
}


def overlay(namespace: str) -> dict[str, str]:
    return {
        **BASE,
        "kustomization.yaml": f"""apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: {namespace}
namePrefix: staging-
labels:
  - pairs: {{variant: staging, org: acme}}
resources: [base]
images:
  - name: monopole/hello
    newName: nginx
    newTag: "1.27"
patches:
  - target: {{kind: Deployment, name: the-deployment}}
    patch: |-
      - op: replace
        path: /spec/replicas
        value: 2
configMapGenerator:
  - name: the-map
    literals: [altGreeting=Have a pineapple!, enableRisky=false]
""",
    }


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


async def test_kustomization_content_renders_previews_applies_and_rolls_out(
    tool_env: ToolEnv, sandbox: SandboxInfo, namespace: str
) -> None:
    args = {"kustomization": overlay(namespace)}
    preview = await call(tool_env, "k8s_apply", args, "preview")
    assert preview.ok, preview.text
    head = f"{tool_env.kubectl} --kubeconfig {tool_env.kubeconfig} --context {sandbox.context}"
    render = f"{head} kustomize '<private temp directory>'"
    assert preview.text.splitlines()[0] == f"rendered by {render}: 3 objects"
    assert preview.data.command == f"{render} | {head} apply --filename -"
    names = [document.name for document in preview.data.documents]
    assert names[0].startswith("ConfigMap/staging-the-map-")
    assert names[1:] == ["Service/staging-the-service", "Deployment/staging-the-deployment"]
    assert "+        image: nginx:1.27" in preview.text
    assert kubectl(sandbox, "get", "deployment/staging-the-deployment", "-n", namespace).returncode

    applied = await call(tool_env, "k8s_apply", args)
    assert applied.ok, applied.text
    deployment = get_json(sandbox, "deployment/staging-the-deployment", "-n", namespace)
    assert deployment["spec"]["replicas"] == 2
    assert deployment["metadata"]["labels"] == {"variant": "staging", "org": "acme"}
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "nginx:1.27"
    verified = await call(tool_env, "k8s_apply", args, "verify")
    assert verified.ok, verified.text
    assert verified.data.verdict == "verified"


async def test_a_kustomize_directory_is_rendered_from_the_tool_servers_disk(
    tool_env: ToolEnv, sandbox: SandboxInfo, namespace: str, tmp_path: Path
) -> None:
    root = write(tmp_path / "overlays-staging", overlay(namespace))
    args = {"kustomize_dir": str(root)}
    preview = await call(tool_env, "k8s_apply", args, "preview")
    assert preview.ok, preview.text
    assert f"kustomize {root}: 3 objects" in preview.text.splitlines()[0]
    applied = await call(tool_env, "k8s_apply", args)
    assert applied.ok, applied.text
    assert get_json(sandbox, "service/staging-the-service", "-n", namespace)["spec"]["ports"]


async def test_a_kustomization_that_does_not_render_fails_its_preview_and_applies_nothing(
    tool_env: ToolEnv, sandbox: SandboxInfo, namespace: str
) -> None:
    files = {**overlay(namespace), "base/kustomization.yaml": "resources: [missing.yaml]\n"}
    preview = await call(tool_env, "k8s_apply", {"kustomization": files}, "preview")
    assert preview.data.state == "failed"
    assert "kubectl kustomize failed" in preview.text
    assert "missing.yaml" in preview.text
    listed = kubectl(sandbox, "get", "all", "-n", namespace, "-o", "name")
    assert listed.stdout.strip() == ""


@pytest.mark.parametrize(
    "args",
    [
        {"kustomization": {"kustomization.yaml": "resources: [https://example.com/app.yaml]\n"}},
        {
            "kustomization": {
                "kustomization.yaml": "resources:\n"
                "- github.com/kubernetes-sigs/kustomize/examples/multibases?ref=v5.0.0\n"
            }
        },
        {"kustomization": {"kustomization.yaml": "resources: [git@github.com:acme/deploy.git]\n"}},
        {"kustomization": {"kustomization.yaml": "helmCharts: [{name: web, repo: x}]\n"}},
        {"kustomization": {"app.yaml": "kind: ConfigMap\n"}},
        {"kustomization": {"kustomization.yaml": "resources: []\n", "../escape.yaml": "x: 1\n"}},
        {"kustomization": {"kustomization.yaml": "resources: []\n", "/etc/x.yaml": "x: 1\n"}},
        {"kustomization": {"kustomization.yaml": "- not\n- a mapping\n"}},
        {"kustomize_dir": "relative/overlay"},
        {"kustomize_dir": "/srv/deploy/../../etc"},
        {"kustomize_dir": "/srv/deploy", "manifest": "apiVersion: v1\nkind: Namespace\n"},
        {},
    ],
)
def test_kustomizations_are_url_free_inside_their_root_and_the_only_source(
    args: dict[str, Any],
) -> None:
    with pytest.raises(ValidationError):
        TOOLS["k8s_apply"].parse(args)


def test_secrets_in_kustomization_content_are_redacted_from_the_recorded_arguments() -> None:
    files = {
        "kustomization.yaml": "secretGenerator:\n- name: db\n  literals: [password=pw-91x7]\n",
        "secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: api}\n"
        "stringData: {token: tk-55q2}\n",
    }
    shown = redact.redact_args("k8s_apply", {"kustomization": files})
    assert "pw-91x7" not in str(shown)
    assert "tk-55q2" not in str(shown)
    assert set(shown["kustomization"]) == set(files)

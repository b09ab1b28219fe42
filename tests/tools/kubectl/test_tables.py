"""`k8s_get` prints kubectl's tables for the kinds real tasks list: PVC, CronJob, Ingress,
ReplicationController and PodDisruptionBudget, with the columns a real API server sends.

opsgate renders none of these itself: `k8s_get`'s `table` output is kubectl's rendering of the
server-side Table, so the columns come from the API server. Where the sandbox does not yet serve
a kind's columns (kubectl then prints only NAME and AGE), the test is skipped naming the kind.
The objects are in the shape of the Kubernetes documentation's examples.
"""

from __future__ import annotations

import pytest

from opsgate.tools.base import ToolEnv
from tests.fixtures.sandbox import SandboxInfo, kubectl
from tests.tools.kubectl.helpers import call

pytestmark = pytest.mark.sandbox

OBJECTS = """apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: hello}
spec:
  schedule: "* * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers: [{name: hello, image: "busybox:1.28", command: [date]}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: minimal-ingress}
spec:
  rules:
    - host: shop.example.com
      http:
        paths:
          - path: /testpath
            pathType: Prefix
            backend: {service: {name: test, port: {number: 80}}}
---
apiVersion: v1
kind: ReplicationController
metadata: {name: nginx}
spec:
  replicas: 1
  selector: {app: nginx}
  template:
    metadata: {labels: {app: nginx}}
    spec: {containers: [{name: nginx, image: "nginx:1.27"}]}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: zk-pdb}
spec:
  minAvailable: 2
  selector: {matchLabels: {app: zookeeper}}
"""

COLUMNS = {
    "persistentvolumeclaims": ["NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS MODES", "AGE"],
    "cronjobs": ["NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST SCHEDULE", "AGE"],
    "ingresses": ["NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"],
    "replicationcontrollers": ["NAME", "DESIRED", "CURRENT", "READY", "AGE"],
    "poddisruptionbudgets": [
        "NAME",
        "MIN AVAILABLE",
        "MAX UNAVAILABLE",
        "ALLOWED DISRUPTIONS",
        "AGE",
    ],
}


@pytest.fixture
def objects(sandbox: SandboxInfo, namespace: str) -> str:
    applied = kubectl(sandbox, "apply", "-n", namespace, "-f", "-", stdin=OBJECTS)
    assert applied.returncode == 0, applied.stderr
    return namespace


@pytest.mark.parametrize("resource", sorted(COLUMNS))
async def test_get_prints_the_kinds_table_columns(
    tool_env: ToolEnv, objects: str, resource: str
) -> None:
    output = await call(tool_env, "k8s_get", {"resource": resource, "namespace": objects})
    assert output.ok, output.text
    header = output.text.splitlines()[0]
    if header.split() == ["NAME", "AGE"]:
        pytest.skip(f"the sandbox does not serve table columns for {resource} yet (sandbox2)")
    positions = [header.find(column) for column in COLUMNS[resource]]
    assert -1 not in positions, header
    assert positions == sorted(positions), header
    assert len(output.text.splitlines()) == 2

"""The secrets canary suite: no canary reaches any sink, whatever read surfaces it.

Fresh random canaries go into the sandbox where secrets hide outside Secret objects: ConfigMap
values under secret-ish keys, container env of a Deployment, and pod log lines (a Job's
container prints its arguments as its log). The real app (real engine, store, MCP tool server,
kubectl against the sandbox, scripted model) then runs the reads that surface them, and every
canary is looked for in every sink:

- what the model received (the scripted model keeps each history it is given);
- the tool-call records, and the conversation as a viewer reads it over the API;
- the stream events in the store;
- the audit export as a viewer downloads it;
- the checkpoints, read row by row from the checkpoint database;
- the raw bytes of the whole database file.

A control value (not a secret) travels beside the canaries: it must show up in every sink,
so a sink that silently received nothing cannot pass.

Proposed arguments (a Secret manifest, a Helm `set` password, a Jenkins password parameter)
are checked the same way in their own test: the engine shows and stores them through
`redact.redact_args` (keyed markers) and keeps the exact ones only sealed.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import sqlite3
import string
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import httpx
import pytest

from opsgate.engine import graph
from opsgate.engine.engine import Engine
from opsgate.engine.models.scripted import ScriptedModel
from opsgate.sandbox import server as sandbox_server
from opsgate.tools.runner import SubprocessRunner, child_env
from tests.fixtures.api import ApiEnv, running_app, wait_for
from tests.fixtures.sandbox import SandboxInfo, kubectl

pytestmark = [pytest.mark.sandbox]

FINAL = ("completed", "failed", "stopped", "awaiting_approval")


def _token(length: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def _canary() -> str:
    return "cnry" + _token(20, string.ascii_lowercase + string.digits)


@dataclass(frozen=True)
class Canaries:
    """This run's secret values by kind, and the control values that must get through."""

    secrets: Mapping[str, str]
    controls: Mapping[str, str]


def _read_canaries() -> Canaries:
    aws_key_id = "AKIA" + _token(16, string.ascii_uppercase + string.digits)
    return Canaries(
        secrets={
            "configmap DB_PASSWORD": _canary(),
            "configmap db_pass": _canary(),
            "configmap secret_key_base": _canary(),
            "configmap stripe_key": _canary(),
            "configmap INI password": _canary(),
            "env DB_PASSWORD": _canary(),
            "env SECRET_KEY_BASE": _canary(),
            "env STRIPE_KEY": "sk_live_" + _token(24),
            "env GITHUB_PAT": "ghp_" + _token(36),
            "env SLACK_WEBHOOK": _canary(),
            "log password= mid-line": _canary(),
            "log AWS access key id": aws_key_id,
            "log AWS secret access key": _token(40, string.ascii_letters + string.digits + "/+"),
            "log JSON password": _canary(),
            "log basic-auth URL": _canary(),
        },
        controls={
            "configmap LOG_LEVEL": "ctrl" + _token(16, string.ascii_lowercase),
            "env LOG_LEVEL": "ctrl" + _token(16, string.ascii_lowercase),
            "log line": "ctrl" + _token(16, string.ascii_lowercase),
        },
    )


def _seed(sandbox: SandboxInfo, namespace: str, c: Canaries) -> None:
    """Put the canaries into the sandbox through kubectl, as a user of the cluster would."""
    s, k = c.secrets, c.controls
    ini = f"[db]\\nhost = db\\npassword = {s['configmap INI password']}\\n"
    log_lines = "\n".join(
        [
            "",
            f"2026-12-01T10:00:00Z INFO db connect host=db password={s['log password= mid-line']}",
            f"2026-12-01T10:00:01Z INFO s3 client key {s['log AWS access key id']}",
            f"2026-12-01T10:00:01Z DEBUG aws_secret_access_key={s['log AWS secret access key']}",
            f'{{"level": "debug", "msg": "login", "password": "{s["log JSON password"]}"}}',
            f"2026-12-01T10:00:02Z INFO clone https://ci:{s['log basic-auth URL']}@git.example/",
            f"2026-12-01T10:00:03Z INFO ready {k['log line']}",
        ]
    )
    manifest = f"""apiVersion: v1
kind: ConfigMap
metadata: {{name: canary-config, namespace: {namespace}}}
data:
  DB_PASSWORD: {s["configmap DB_PASSWORD"]}
  db_pass: {s["configmap db_pass"]}
  secret_key_base: {s["configmap secret_key_base"]}
  stripe_key: {s["configmap stripe_key"]}
  app.ini: "{ini}"
  LOG_LEVEL: {k["configmap LOG_LEVEL"]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: canary-web, namespace: {namespace}, labels: {{app: canary-web}}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: canary-web}}}}
  template:
    metadata: {{labels: {{app: canary-web}}}}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        env:
        - {{name: DB_PASSWORD, value: {s["env DB_PASSWORD"]}}}
        - {{name: SECRET_KEY_BASE, value: {s["env SECRET_KEY_BASE"]}}}
        - {{name: STRIPE_KEY, value: {s["env STRIPE_KEY"]}}}
        - {{name: GITHUB_PAT, value: {s["env GITHUB_PAT"]}}}
        - name: SLACK_WEBHOOK
          value: https://hooks.slack.com/services/T0CANARY/B0CANARY/{s["env SLACK_WEBHOOK"]}
        - {{name: LOG_LEVEL, value: {k["env LOG_LEVEL"]}}}
---
apiVersion: batch/v1
kind: Job
metadata: {{name: canary-logs, namespace: {namespace}}}
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: app
        image: busybox:1.36
        command: [/bin/app]
        args: {json.dumps([log_lines])}
"""
    applied = kubectl(sandbox, "apply", "-f", "-", stdin=manifest)
    assert applied.returncode == 0, applied.stderr


def _read_script(namespace: str) -> str:
    """Three turns of reads that surface every canary, in every format kubectl prints them."""

    def call(name: str, **args: str) -> dict[str, Any]:
        return {"name": name, "args": {"namespace": namespace, **args}}

    reads = [
        [
            call("k8s_get", resource="configmap/canary-config", output="yaml"),
            call("k8s_get", resource="configmaps", output="json"),
            call("k8s_describe", resource="configmap/canary-config"),
            call("k8s_get", resource="configmap/canary-config", jsonpath="{.data.DB_PASSWORD}"),
        ],
        [
            call("k8s_get", resource="deployment/canary-web", output="yaml"),
            call("k8s_get", resource="deployments", output="json"),
            call("k8s_describe", resource="deployment/canary-web"),
            call("k8s_get", resource="pods", output="json"),
            call("k8s_describe", resource="pods", selector="app=canary-web"),
        ],
        [
            call("k8s_logs", pod="job/canary-logs"),
            call(
                "k8s_describe",
                resource="pods",
                selector="batch.kubernetes.io/job-name=canary-logs",
            ),
        ],
    ]
    turns = [{"text": "Reading.", "tool_calls": calls} for calls in reads]
    script = {"scripts": [{"match": "canar", "turns": [*turns, {"text": "Read everything."}]}]}
    return json.dumps(script)


class SecretLeaked(AssertionError):
    """A canary was found in a sink."""


@dataclass
class Harness:
    """The running app, a viewer's and an operator's API client, and the conversation."""

    env: ApiEnv
    viewer: httpx.AsyncClient
    operator: httpx.AsyncClient
    conversation_id: str

    @property
    def model(self) -> ScriptedModel:
        model = cast(Engine, self.env.state.engine).deps.model
        assert isinstance(model, ScriptedModel)
        return model

    async def run(self, request: str) -> dict[str, Any]:
        """Ask, and wait until the run ends or pauses; returns the run as a viewer reads it."""
        response = await self.operator.post(
            f"/api/v1/conversations/{self.conversation_id}/messages", json={"text": request}
        )
        assert response.status_code == 202, response.text
        run_id = response.json()["run_id"]

        async def ended() -> dict[str, Any] | None:
            detail: dict[str, Any] = (await self.viewer.get(f"/api/v1/runs/{run_id}")).json()
            return detail if detail["run"]["status"] in FINAL else None

        detail: dict[str, Any] = await wait_for(ended, 120)
        return detail

    async def live_sinks(self) -> dict[str, str]:
        """Every sink read while the app runs: the model's input, the store, the API."""
        store = self.env.state.store
        cid = self.conversation_id
        calls = await store.list_calls(conversation_id=cid)
        events = await store.events_after(cid, 0, limit=100_000)
        histories = [
            [m.model_dump(mode="json") for m in history] for history in self.model.received
        ]
        audit = await self.viewer.get("/api/v1/audit/export", params={"format": "jsonl"})
        conversation = await self.viewer.get(f"/api/v1/conversations/{cid}")
        approvals = await self.viewer.get("/api/v1/approvals", params={"conversation_id": cid})
        for response in (audit, conversation, approvals):
            assert response.status_code == 200, response.text
        return {
            "model input": json.dumps(histories),
            "tool-call records": json.dumps([c.model_dump(mode="json") for c in calls]),
            "stream events (store)": json.dumps([e.model_dump(mode="json") for e in events]),
            "audit export (viewer, API)": audit.text,
            "conversation (viewer, API)": conversation.text,
            "approvals (viewer, API)": approvals.text,
        }


@contextlib.asynccontextmanager
async def _app(sandbox: SandboxInfo, data_dir: Path, script: str) -> AsyncIterator[Harness]:
    """The real app over the sandbox: real engine, store, tool server, kubectl and helm."""
    runner = SubprocessRunner(env=child_env({**os.environ, "HOME": str(sandbox.home)}))
    jenkins = {
        "sandbox": {
            "url": sandbox.jenkins_url,
            "user": sandbox.jenkins_user,
            "token": sandbox.jenkins_token,
        }
    }
    async with (
        running_app(
            data_dir,
            script_text=script,
            runner=runner,
            kubeconfig=sandbox.kubeconfig,
            contexts=[sandbox.context],
            default_context=sandbox.context,
            kubectl_path=sandbox.kubectl,
            helm_path=sandbox.helm,
            command_timeout_s=30.0,
            jenkins=jenkins,
        ) as env,
        env.client("viewer") as viewer,
        env.client("operator") as operator,
    ):
        created = await operator.post("/api/v1/conversations", json={})
        assert created.status_code == 201, created.text
        yield Harness(env, viewer, operator, created.json()["id"])


def _file_sinks(data_dir: Path) -> dict[str, str]:
    """The sinks on disk, read after the app closed: checkpoint rows, the database's bytes."""
    return {
        "checkpoints (rows)": _rows(data_dir / graph.CHECKPOINT_FILE),
        "database file (raw)": _raw_bytes(data_dir / "opsgate.db"),
    }


def _rows(path: Path) -> str:
    """Every cell of every table, blobs (LangGraph's msgpack) decoded byte for byte."""
    cells: list[str] = []
    with contextlib.closing(sqlite3.connect(path)) as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            # The table names come from sqlite_master itself, not from outside.
            for row in db.execute(f'SELECT * FROM "{table}"'):  # noqa: S608
                cells += [c.decode("latin-1") if isinstance(c, bytes) else str(c) for c in row]
    return "\n".join(cells)


def _raw_bytes(path: Path) -> str:
    """The database file and its write-ahead log, whatever pages they hold (freed ones too)."""
    files = [path, path.with_name(path.name + "-wal")]
    return "".join(f.read_bytes().decode("latin-1") for f in files if f.exists())


def _check(sinks: Mapping[str, str], canaries: Canaries) -> None:
    """Every canary in every sink: none may be there; every control must be."""
    vacuous = [
        f"control {kind!r} never reached sink {sink!r}: checking it would prove nothing"
        for sink, text in sinks.items()
        for kind, value in canaries.controls.items()
        if value not in text
    ]
    assert not vacuous, "\n".join(vacuous)
    leaks = [
        f"{kind} canary leaked into {sink}"
        for sink, text in sinks.items()
        for kind, value in canaries.secrets.items()
        if value in text
    ]
    if leaks:
        checks = len(sinks) * len(canaries.secrets)
        raise SecretLeaked(f"{len(leaks)} of {checks} canary checks failed:\n" + "\n".join(leaks))


async def test_no_secret_read_from_the_cluster_reaches_any_sink(
    sandbox: SandboxInfo, namespace: str, tmp_path: Path
) -> None:
    canaries = _read_canaries()
    _seed(sandbox, namespace, canaries)
    data_dir = tmp_path / "data"
    async with _app(sandbox, data_dir, _read_script(namespace)) as h:
        detail = await h.run("read the canaries")
        assert detail["run"]["status"] == "completed", detail
        statuses = {c["tool"] + " " + json.dumps(c["args"]): c["status"] for c in detail["calls"]}
        assert set(statuses.values()) == {"succeeded"}, statuses
        sinks = await h.live_sinks()
    del sinks["approvals (viewer, API)"]  # reads only: no approval was asked for
    _check({**sinks, **_file_sinks(data_dir)}, canaries)


def _proposal_canaries() -> Canaries:
    return Canaries(
        secrets={
            "k8s_apply Secret stringData": _canary(),
            "k8s_apply Secret data": base64.b64encode(_canary().encode()).decode(),
            "k8s_apply ConfigMap DB_PASSWORD": _canary(),
            "helm_upgrade set auth.password": _canary(),
            "jenkins_trigger_build DEPLOY_PASSWORD": _canary(),
        },
        controls={
            "k8s_apply ConfigMap LOG_LEVEL": "ctrl" + _token(16, string.ascii_lowercase),
            "helm_upgrade set image.tag": "ctrl" + _token(16, string.ascii_lowercase),
            "jenkins_trigger_build VERSION": "ctrl" + _token(16, string.ascii_lowercase),
        },
    )


def _proposal_script(namespace: str, c: Canaries) -> str:
    s, k = c.secrets, c.controls
    manifest = f"""apiVersion: v1
kind: Secret
metadata: {{name: canary-db, namespace: {namespace}}}
type: Opaque
data:
  password: {s["k8s_apply Secret data"]}
stringData:
  url: postgres://app:{s["k8s_apply Secret stringData"]}@db:5432/app
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: canary-app, namespace: {namespace}}}
data:
  DB_PASSWORD: {s["k8s_apply ConfigMap DB_PASSWORD"]}
  LOG_LEVEL: {k["k8s_apply ConfigMap LOG_LEVEL"]}
"""
    chart = Path(sandbox_server.__file__).parent / "charts" / "cache"
    calls = [
        {"name": "k8s_apply", "args": {"manifest": manifest, "namespace": namespace}},
        {
            "name": "helm_upgrade",
            "args": {
                "release": "canary-cache",
                "chart": str(chart),
                "namespace": namespace,
                "install": True,
                "set": {
                    "auth.password": s["helm_upgrade set auth.password"],
                    "image.tag": k["helm_upgrade set image.tag"],
                },
            },
        },
        {
            "name": "jenkins_trigger_build",
            "args": {
                "server": "sandbox",
                "job": "shop-deploy",
                "parameters": {
                    "DEPLOY_PASSWORD": s["jenkins_trigger_build DEPLOY_PASSWORD"],
                    "VERSION": k["jenkins_trigger_build VERSION"],
                },
            },
        },
    ]
    turns = [{"text": "These need your approval.", "tool_calls": calls}]
    return json.dumps({"scripts": [{"match": "propose", "turns": turns}]})


async def test_no_secret_in_proposed_arguments_reaches_any_sink(
    sandbox: SandboxInfo, namespace: str, tmp_path: Path
) -> None:
    """What an approver needs is there (each secret's marker); the secrets themselves are not.

    The model wrote these values, so its own input is no sink here. The checkpoints are: the
    exact arguments the tool will get after approval are kept there sealed (encrypted under
    the server's key), never in clear.
    """
    canaries = _proposal_canaries()
    data_dir = tmp_path / "data"
    async with _app(sandbox, data_dir, _proposal_script(namespace, canaries)) as h:
        detail = await h.run("propose the canary changes")
        assert detail["run"]["status"] == "awaiting_approval", detail
        proposed = sorted(c["tool"] for c in detail["calls"])
        assert proposed == ["helm_upgrade", "jenkins_trigger_build", "k8s_apply"], detail
        sinks = await h.live_sinks()
    del sinks["model input"]
    files = _file_sinks(data_dir)
    _check({**sinks, **files}, canaries)

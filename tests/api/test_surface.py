"""The API's surface: every route needs credentials, errors are JSON, headers are strict."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from opsgate.api.security import CSP
from opsgate.store import db
from tests.fixtures.api import ApiEnv, running_app

PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("POST", "/api/v1/auth/login"),
    ("GET", "/api/v1/setup/status"),
    ("POST", "/api/v1/setup"),
    ("GET", "/api/v1/auth/methods"),
}


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x1", path)


async def test_every_route_but_the_public_ones_answers_401_without_credentials(
    api_env: ApiEnv,
) -> None:
    async with api_env.client("viewer") as viewer:
        document = (await viewer.get("/api/v1/openapi.json")).json()
    operations = [
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    ]
    assert len(operations) > 30
    assert {op for op in operations if op in PUBLIC} == PUBLIC
    async with api_env.client() as anonymous:
        for method, path in operations:
            if (method, path) in PUBLIC:
                continue
            response = await anonymous.request(method, _concrete(path), json={})
            assert response.status_code == 401, (method, path, response.text)
            assert response.json()["error"]["code"] == "unauthenticated"
        assert (await anonymous.get("/api/v1/openapi.json")).status_code == 401


async def test_public_routes_reveal_nothing_private(api_env: ApiEnv) -> None:
    async with api_env.client() as anonymous:
        assert (await anonymous.get("/healthz")).json() == {"status": "ok"}
        ready = await anonymous.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["checks"]["database"]["ok"] is True
        assert ready.json()["checks"]["kubectl"]["ok"] is True
        assert ready.json()["checks"]["migrations"]["ok"] is True
        methods = await anonymous.get("/api/v1/auth/methods")
        assert methods.json() == {"local": True, "oidc": None, "proxy": False}


async def test_readyz_reports_a_schema_behind_this_version_as_not_ready(api_env: ApiEnv) -> None:
    database = sqlite3.connect(api_env.settings.data_dir / "opsgate.db")
    with database:
        database.execute("UPDATE opsgate_schema_version SET version_num = '0001'")
    database.close()
    async with api_env.client() as anonymous:
        ready = await anonymous.get("/readyz")
    assert ready.status_code == 503
    migrations = ready.json()["checks"]["migrations"]
    assert migrations["ok"] is False
    assert migrations["revision"] == "0001"
    assert migrations["head"] == db.head_revision() != "0001"


async def test_readyz_reports_missing_binaries_as_not_ready(api_env: ApiEnv) -> None:
    settings = api_env.state.settings
    api_env.state.settings = settings.model_copy(
        update={"kubectl_path": settings.data_dir / "no-kubectl"}
    )
    async with api_env.client() as anonymous:
        ready = await anonymous.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["kubectl"]["ok"] is False


async def test_security_headers_on_api_public_and_error_responses(api_env: ApiEnv) -> None:
    async with api_env.client("viewer") as client:
        for path in ("/api/v1/auth/me", "/healthz", "/api/v1/nope"):
            response = await client.get(path)
            assert response.headers["content-security-policy"] == CSP
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["x-frame-options"] == "DENY"
            assert response.headers["referrer-policy"] == "no-referrer"
        assert "'unsafe-inline'" not in CSP


async def test_unknown_route_and_bad_input_are_json_errors_naming_the_field(
    api_env: ApiEnv,
) -> None:
    async with api_env.client("operator") as client:
        missing = await client.get("/api/v1/nope")
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "not_found"
        bad = await client.post("/api/v1/conversations", json={"namespace": "Not A Name"})
        assert bad.status_code == 422
        assert bad.json()["error"]["field"] == "namespace"
        extra = await client.post("/api/v1/conversations", json={"evil": 1})
        assert extra.json()["error"]["field"] == "evil"
        not_json = await client.post(
            "/api/v1/conversations", content=b"{", headers={"content-type": "application/json"}
        )
        assert not_json.status_code == 422
        assert "Traceback" not in not_json.text
        unknown = await client.get("/api/v1/conversations/conv_missing")
        assert unknown.status_code == 404


async def test_cors_is_closed_by_default(api_env: ApiEnv) -> None:
    async with api_env.client("viewer") as client:
        response = await client.get("/api/v1/auth/me", headers={"Origin": "https://evil.example"})
        preflight = await client.options(
            "/api/v1/conversations",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )
    assert "access-control-allow-origin" not in response.headers
    assert "access-control-allow-origin" not in preflight.headers


async def test_metrics_need_an_admin_session_or_a_token(api_env: ApiEnv) -> None:
    async with api_env.client("viewer") as scraper:
        response = await scraper.get("/metrics")
        assert response.status_code == 200
        assert "opsgate_stream_clients" in response.text
        assert "opsgate_runs_started_total" in response.text
    async with api_env.client() as client:
        assert (await client.get("/metrics")).status_code == 401


async def test_conversations_only_use_contexts_the_server_allows(api_env: ApiEnv) -> None:
    async with api_env.client("operator") as client:
        listed = (await client.get("/api/v1/contexts")).json()
        assert listed == {"contexts": ["sandbox"], "default": "sandbox", "jenkins": []}
        for context in ("nope", "other"):
            refused = await client.post("/api/v1/conversations", json={"context": context})
            assert refused.status_code == 422
            assert refused.json()["error"]["field"] == "context"
        chosen = await client.post(
            "/api/v1/conversations", json={"context": "sandbox", "namespace": "shop"}
        )
        assert chosen.json()["contexts"] == ["sandbox"]
        assert chosen.json()["namespace"] == "shop"


async def test_tools_list_schemas_annotations_and_approval_need(api_env: ApiEnv) -> None:
    async with api_env.client("viewer") as client:
        tools = {t["name"]: t for t in (await client.get("/api/v1/tools")).json()}
    assert set(tools) == {"k_get", "k_scale", "k_delete"}
    assert tools["k_get"]["needs_approval"] is False
    assert tools["k_scale"]["needs_approval"] is True
    assert tools["k_delete"]["annotations"]["destructiveHint"] is True
    assert "replicas" in tools["k_scale"]["input_schema"]["properties"]


async def test_cors_opens_only_to_configured_origins(tmp_path: Path) -> None:
    origin = "https://ui.example"
    async with (
        running_app(tmp_path / "data", cors_origins=[origin]) as env,
        env.client("viewer") as client,
    ):
        allowed = await client.options(
            "/api/v1/conversations",
            headers={"Origin": origin, "Access-Control-Request-Method": "GET"},
        )
        other = await client.get("/api/v1/auth/me", headers={"Origin": "https://evil.example"})
    assert allowed.headers["access-control-allow-origin"] == origin
    assert "access-control-allow-origin" not in other.headers

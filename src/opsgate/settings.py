"""The one settings object of opsgate, read from `OPSGATE_*` variables and `.env`.

Built once by the CLI (or by tests, with explicit values) and passed down; no other module
reads the environment. Nested values use `__`, e.g. `OPSGATE_JENKINS__SHOP__URL`.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class JenkinsServer(BaseModel):
    """A Jenkins controller configured by an admin; tools refer to it by name only."""

    url: str
    """Base URL, e.g. `https://ci.example.com/`."""
    user: str
    """The user the API token belongs to."""
    token: SecretStr
    """The API token; never shown to the model, the stream or the audit log."""
    verify_tls: bool = True
    """Verify the server's TLS certificate (on unless an admin turns it off)."""


class Settings(BaseSettings):
    """Everything configurable about opsgate. The approval gate is deliberately absent."""

    model_config = SettingsConfigDict(
        env_prefix="OPSGATE_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
    )

    # Where things live
    data_dir: Path = Path(".opsgate")
    """Directory for the SQLite database, checkpoints and generated keys."""
    database_url: str | None = None
    """SQLAlchemy URL; defaults to SQLite in `data_dir`. PostgreSQL: `postgresql+psycopg://…`."""
    redis_url: str | None = None
    """Redis for event fan-out and run locks when several API replicas share a database."""

    # Server
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str | None = None
    """The URL users reach the Command Center at (printed in setup links)."""
    cors_origins: list[str] = Field(default_factory=list)
    """Extra origins allowed by CORS; closed by default."""

    # Binaries and clusters
    tools_dir: Path = PROJECT_ROOT / ".tools" / "bin"
    """Where `make setup` installs kubectl and helm."""
    kubectl_path: Path | None = None
    helm_path: Path | None = None
    kubeconfig: Path | None = None
    """The kubeconfig every kubectl/helm call uses explicitly."""
    contexts: list[str] = Field(default_factory=list)
    """Contexts conversations may use; empty means every context of the kubeconfig."""
    default_context: str | None = None

    # Tool runner limits
    command_timeout_s: float = 60.0
    output_cap_bytes: int = 64 * 1024

    # Model
    model: str | None = None
    """LiteLLM model name (`openai/gpt-4.1`, `anthropic/…`, `ollama/…`) or `scripted:PATH`."""
    model_api_base: str | None = None
    model_api_key: SecretStr | None = None
    max_model_turns: int = 12
    max_tool_calls: int = 40
    model_context_tokens: int = 24_000
    tool_result_cap_chars: int = 12_000

    # Approvals and security
    approval_ttl_s: int = 15 * 60
    approval_key: SecretStr | None = None
    """HMAC key for approval tokens; generated into `data_dir` when unset."""
    secret_key: SecretStr | None = None
    """Key for encrypting stored credentials; generated into `data_dir` when unset."""
    audit_key: SecretStr | None = None
    """HMAC key of the audit chain and its head record (at least 32 bytes); generated into
    `data_dir` when unset. Every process writing the database must use the same key: set it
    for replicas sharing PostgreSQL."""
    require_distinct_approver: bool = False
    """When on, the requester of a change may not approve it. Only ever adds to the gate."""
    mcp_http_token: SecretStr | None = None
    """Bearer token required by `opsgate mcp --http`."""

    jenkins: dict[str, JenkinsServer] = Field(default_factory=dict)

    log_level: str = "INFO"

    # Client side (`opsgate chat`, `ask`, `approvals`)
    server_url: str = "http://127.0.0.1:8080"
    """The opsgate server the CLI client talks to."""
    api_token: SecretStr | None = None
    """API token the CLI client sends as `Authorization: Bearer`."""

    def sqlalchemy_url(self) -> str:
        """The database URL, defaulting to a SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'opsgate.db').resolve()}"

    def key(self, name: Literal["secret_key", "approval_key", "audit_key", "session_key"]) -> bytes:
        """A configured key, or one generated once into `data_dir/keys/` (mode 0600) and reused.

        Every process on the same data directory (API, CLI, tool server) derives the same keys.
        """
        configured = {
            "secret_key": self.secret_key,
            "approval_key": self.approval_key,
            "audit_key": self.audit_key,
            "session_key": None,
        }[name]
        if configured is not None:
            return configured.get_secret_value().encode()
        path = Path(self.data_dir) / "keys" / name
        if path.exists():
            return path.read_bytes().strip()
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.touch(mode=0o600)
        path.write_bytes(secrets.token_urlsafe(32).encode())
        return path.read_bytes().strip()


def process_environment() -> dict[str, str]:
    """A copy of this process's environment, for building a child's allowlisted environment.

    The tool runner passes only allowlisted names (PATH, HOME, LANG...) on to kubectl and helm.
    """
    return dict(os.environ)

"""The one settings object of opsgate, read from `OPSGATE_*` variables and `.env`.

Built once by the CLI (or by tests, with explicit values) and passed down; no other module
reads the environment. Nested values use `__`, e.g. `OPSGATE_JENKINS__SHOP__URL`.

Every setting may come from a `.env` file in the working directory; a variable in the
environment wins over it, and a command-line option over both. Because a stray `.env` can
change how the gate is keyed without anyone noticing, the security settings
(`SECURITY_SETTINGS`: keys, the MCP bearer token, the distinct-approver rule, the database,
the clusters, Jenkins credentials) are traced: `setting_origins` says where each came from,
`opsgate serve`, `mcp` and `demo` warn once per such setting taken from `.env`, and
`opsgate doctor` lists them all.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import tempfile
import typing
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, IPvAnyNetwork, SecretStr
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    EnvSettingsSource,
    SettingsConfigDict,
)

from opsgate.domain.roles import Role
from opsgate.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ENV_FILE = Path(".env")
"""The `.env` file settings are read from, relative to the working directory."""
MIN_KEY_BYTES = 32
"""The shortest approval, secret or session key accepted, configured or found on disk."""


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


class OidcSettings(BaseModel):
    """Single sign-on through an OpenID Connect provider (`api.oidc`, docs/identity.md)."""

    issuer: str
    """The provider's issuer URL (`https://idp.example/realms/ops`); its discovery document is
    read from `<issuer>/.well-known/openid-configuration` and must name this issuer."""
    client_id: str
    """The client id registered at the provider; ID tokens must be issued to it."""
    client_secret: SecretStr | None = None
    """The client secret (confidential clients); sent only to the token endpoint, never logged."""
    scopes: list[str] = Field(default_factory=lambda: ["openid", "profile", "email"])
    """Scopes asked for; `openid` is always added."""
    groups_claim: str = "groups"
    """The ID token claim holding the user's groups (a list, or one string)."""
    username_claim: str = "preferred_username"
    """The claim naming the user in opsgate (falls back to `email`, then the subject)."""
    display_name: str = "single sign-on"
    """Shown on the login button: "Sign in with <display_name>"."""


class ProxyAuthSettings(BaseModel):
    """Identity from an authenticating proxy in front of opsgate (`api.proxy_auth`)."""

    trusted_cidrs: list[IPvAnyNetwork] = Field(min_length=1)
    """Addresses of the proxies (the TCP peer opsgate sees); the headers from any other peer
    are refused with 401."""
    user_header: str = "X-Forwarded-User"
    """The header naming the user (their stable id at the proxy's identity provider)."""
    groups_header: str = "X-Forwarded-Groups"
    """The header listing the user's groups."""
    groups_separator: str = ","


MIN_ALERT_SECRET_CHARS = 32
"""The shortest alert intake token or HMAC secret accepted (`AlertSettings`)."""


class AlertSettings(BaseModel):
    """Alert intake (docs/alerts.md): `OPSGATE_ALERTS__TOKEN`, `OPSGATE_ALERTS__USER`..."""

    token: SecretStr | None = None
    """Bearer token a sender must present (`Authorization: Bearer ...`), 32 or more characters.
    """
    hmac_secret: SecretStr | None = None
    """Secret of the HMAC-SHA256 signature a sender may send instead of the token
    (`X-Opsgate-Signature` over `X-Opsgate-Timestamp` + "." + the body), 32 or more characters.
    """
    user: str = "alertmanager"
    """The opsgate user investigations run as (an operator in `context`); it must exist."""
    context: str | None = None
    """The cluster context investigations use; None: `default_context`."""
    namespace: str | None = None
    """The namespace of an alert without a `namespace` label; None: every namespace."""
    runs_per_minute: int = Field(default=6, ge=1, le=600)
    """How many new investigations may open in any 60 seconds; beyond, alerts get 429."""
    investigate_with: Literal["model", "diagnostics"] = "model"
    """`model`: the configured model investigates (read-only tools until a person joins);
    `diagnostics`: the built-in diagnostics (`k8s_diagnose`) do, as they do with no model."""

    def model_post_init(self, context: object, /) -> None:
        for name, secret in (("TOKEN", self.token), ("HMAC_SECRET", self.hmac_secret)):
            if secret is not None and len(secret.get_secret_value()) < MIN_ALERT_SECRET_CHARS:
                raise ConfigError(
                    f"OPSGATE_ALERTS__{name} must hold at least {MIN_ALERT_SECRET_CHARS} "
                    f"characters (make one with `{HOW_TO_MAKE_A_KEY}`)"
                )

    @property
    def configured(self) -> bool:
        """Whether a sender can authenticate at all; without a secret every alert is refused."""
        return self.token is not None or self.hmac_secret is not None


class Settings(BaseSettings):
    """Everything configurable about opsgate. The approval gate is deliberately absent."""

    model_config = SettingsConfigDict(
        env_prefix="OPSGATE_",
        env_nested_delimiter="__",
        env_file=ENV_FILE,
        extra="ignore",
    )

    # Where things live
    data_dir: Path = Path(".opsgate")
    """Directory for the SQLite database, checkpoints and generated keys."""
    database_url: str | None = None
    """SQLAlchemy URL; defaults to SQLite in `data_dir`. PostgreSQL: `postgresql+psycopg://…`.
    Security setting."""

    # Server
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str | None = None
    """The URL users reach the Command Center at (printed in setup links)."""
    cors_origins: list[str] = Field(default_factory=list)
    """Extra origins allowed by CORS; closed by default."""

    # HTTP limits (the app's own guards and the uvicorn server `opsgate serve` runs)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    """Largest request body; a bigger one gets 413 before anything reads or parses it."""
    body_timeout_s: float = Field(default=30.0, gt=0)
    """A request's whole body must arrive within this many seconds of its headers, else 408."""
    header_timeout_s: float = Field(default=10.0, gt=0)
    """A request's headers must arrive within this many seconds, else the connection closes."""
    keep_alive_timeout_s: int = Field(default=5, ge=1)
    """An idle keep-alive connection closes after this many seconds."""
    max_header_bytes: int = Field(default=16 * 1024, ge=1024)
    """Largest request line plus headers; a bigger one gets 400."""
    max_connections: int = Field(default=1000, ge=1)
    """Open connections (or running requests) beyond which new requests get 503."""

    # Binaries and clusters
    tools_dir: Path = PROJECT_ROOT / ".tools" / "bin"
    """Where `make setup` installs kubectl and helm."""
    kubectl_path: Path | None = None
    helm_path: Path | None = None
    kubeconfig: Path | None = None
    """The kubeconfig every kubectl/helm call uses explicitly. Security setting."""
    native_reads: bool = True
    """Serve the common kubectl reads (`k8s_get`, `k8s_logs`) by talking to the API server directly,
    printing what kubectl prints, instead of spawning kubectl; reads the native path does not
    support still run kubectl. False runs kubectl for every read."""
    contexts: list[str] = Field(default_factory=list)
    """Contexts conversations may use; empty means every context of the kubeconfig.
    Security setting."""
    default_context: str | None = None
    cluster_identity: dict[str, Literal["service", "impersonate"]] = Field(default_factory=dict)
    """Per context, whose identity its calls use on the cluster, e.g.
    `OPSGATE_CLUSTER_IDENTITY='{"prod": "impersonate"}'`: `service` (opsgate's own, the
    default for any context not named) or `impersonate`, where reads run as the requesting
    user and approved changes as the approver, through kubectl `--as`/`--as-group`
    (docs/identity.md). Security setting."""
    serviceaccount_dir: Path = Path("/var/run/secrets/kubernetes.io/serviceaccount")
    """Where a pod's ServiceAccount is mounted (`token`, `ca.crt`, `namespace`). With it and
    `KUBERNETES_SERVICE_HOST`/`_PORT` present, opsgate offers the context `in-cluster`, acting
    as that ServiceAccount (`tools.in_cluster`). Security setting."""

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
    lease_s: float = Field(default=30.0, ge=10.0, le=600.0)
    """How long an engine's lease lasts without renewal (each replica renews it every 5 s);
    after that a killed replica's runs are taken over by another (docs/replicas.md)."""
    approval_key: SecretStr | None = None
    """HMAC key for approval tokens, at least `MIN_KEY_BYTES`; generated into `data_dir` when
    unset. Security setting (see the module docstring), like every field marked so below."""
    secret_key: SecretStr | None = None
    """Key for encrypting stored credentials, at least `MIN_KEY_BYTES`; generated into
    `data_dir` when unset. Security setting."""
    audit_key: SecretStr | None = None
    """HMAC key of the audit chain and its signed head record, at least `MIN_KEY_BYTES`;
    generated into `data_dir` when unset. Every process writing the database must use the
    same key (set it for replicas sharing PostgreSQL), and a store opened with another key
    refuses to start. Security setting."""
    session_key: SecretStr | None = None
    """Key signing the Command Center's session cookies, at least `MIN_KEY_BYTES`; generated
    into `data_dir` when unset. Replicas behind one address must share it (set it), or a
    session opened on one is refused by the others. Security setting."""
    require_distinct_approver: bool = True
    """The requester of a change may not approve it (on by default). For a one-person setup
    turn it off with `OPSGATE_REQUIRE_DISTINCT_APPROVER=false`: the gate still pauses every
    change, the Command Center's approval card says that self-approval is allowed, and
    `opsgate demo` (one admin) turns it off itself. Security setting."""
    policy_file: Path | None = None
    """An approval policy (YAML, docs/policy.md) whose rules add requirements to the gate: two
    approvers for prod, freezes, a ticket in the reason. Read at start; a file that would
    loosen the gate is refused naming its line. A version an admin saves in the Command Center
    replaces it. None: the built-in gate. Security setting."""
    mcp_http_token: SecretStr | None = None
    """Bearer token the engine's tool server requires over HTTP (`opsgate.mcp.entry`): 32 or
    more random characters (a short or repetitive one is refused at start). `opsgate mcp
    --http` (the gateway) takes opsgate API tokens instead. Security setting."""
    mcp_user: str | None = None
    """The opsgate user an MCP client on stdio (`opsgate mcp`) acts as: its calls are requested
    by this user (an operator or above). Over HTTP the bearer API token names the user.
    Security setting."""
    mcp_allowed_hosts: list[str] = Field(
        default_factory=lambda: ["127.0.0.1", "localhost", "[::1]"]
    )
    """Host names `opsgate mcp --http` answers to (any port); others get 403 (DNS-rebinding
    protection). Security setting."""
    mcp_allowed_origins: list[str] = Field(default_factory=list)
    """Browser origins (`https://app.example`) allowed to call `opsgate mcp --http`; a request
    with any other `Origin` gets 403. Requests without `Origin` (non-browser clients) pass.
    Security setting."""
    mcp_confirm: Literal["approval", "elicit"] = "approval"
    """How an MCP client's change is decided. `approval` (the default): an approver decides in
    the Command Center, the CLI or the API. `elicit`: a lower-assurance mode for one person on
    their own machine: `opsgate mcp` on stdio asks that user to confirm in the MCP client
    (elicitation), and records the answer as their approval or rejection, marked
    `via elicitation`. Refused over HTTP, with more than one enabled user, unless
    `OPSGATE_MCP_USER` may approve, and while `require_distinct_approver` is on. Security
    setting."""
    mcp_wait_s: float = Field(default=0.0, ge=0)
    """How long an MCP call waits for its approval and the change (0: the approval TTL plus
    time to execute and verify); after it, the call returns and the request stays open."""

    # Sign-in (docs/identity.md)
    oidc: OidcSettings | None = None
    """Single sign-on (`OPSGATE_OIDC__ISSUER`, `__CLIENT_ID`, `__CLIENT_SECRET`...); needs
    `public_url` (the redirect URI is `<public_url>/api/v1/auth/oidc/callback`). Security
    setting."""
    proxy_auth: ProxyAuthSettings | None = None
    """Trusted-proxy sign-in (`OPSGATE_PROXY_AUTH__TRUSTED_CIDRS='["10.0.0.5/32"]'`...).
    Security setting."""
    sso_roles: dict[str, Role] = Field(default_factory=dict)
    """Identity provider group -> opsgate role, for single sign-on and proxy users
    (`OPSGATE_SSO_ROLES='{"ops-admins": "admin", "oncall": "approver"}'`): the highest mapped
    role wins, re-evaluated at each sign-in; a user in no mapped group gets no access.
    Security setting."""

    alerts: AlertSettings = Field(default_factory=AlertSettings)
    """Alert intake (`OPSGATE_ALERTS__TOKEN`...): alerts open read-only investigations; with
    neither token nor HMAC secret set, the intake refuses every alert. Security setting."""

    jenkins: dict[str, JenkinsServer] = Field(default_factory=dict)
    """Jenkins servers by name, beside those admins add through the API (which cannot change
    these). Security setting."""

    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"
    """`text`: lines for people (the default); `json`: one JSON object per line for a log
    collector, with the run, call, approval and conversation ids where known (the Helm chart
    sets it)."""

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

    def key(self, name: KeyName) -> bytes:
        """A configured key, or one generated once into `data_dir/keys/` (mode 0600) and reused.

        Every process on the same data directory (API, CLI, tool server) derives the same keys.

        Raises:
            ConfigError: the configured key, or the key file found, is shorter than
                `MIN_KEY_BYTES` (an empty approval key would let anyone mint tokens).
        """
        configured = {
            "secret_key": self.secret_key,
            "approval_key": self.approval_key,
            "audit_key": self.audit_key,
            "session_key": self.session_key,
        }[name]
        variable = f"OPSGATE_{name.upper()}"
        if configured is not None:
            value = configured.get_secret_value().encode()
            return _long_enough(value, variable, f"set {variable} to a longer random value")
        path = Path(self.data_dir) / "keys" / name
        if not path.exists():
            _generate_key_file(path)
        return _long_enough(
            path.read_bytes().strip(),
            f"the key file {str(path)!r}",
            f"delete the file to have a new key generated (what was made with the old one "
            f"stops working) or set {variable}",
        )

    def engine_id(self) -> str:
        """This deployment's engine name, generated once into `data_dir` and reused.

        Names the engine's lease and the runs it drives (`engine.Engine.recover`): a restart
        on the same data directory takes its own runs back at once; replicas, each with a data
        directory of their own, are different engines.
        """
        path = Path(self.data_dir) / "keys" / "engine_id"
        if not path.exists():
            _generate_key_file(path)
        return "engine-" + hashlib.sha256(path.read_bytes().strip()).hexdigest()[:16]

    def require_keys(self) -> None:
        """Read (or generate) every key now: a server refuses to start instead of failing later.

        Raises:
            ConfigError: a key is empty or shorter than `MIN_KEY_BYTES`.
        """
        for name in typing.get_args(KeyName):
            self.key(name)


KeyName = Literal["secret_key", "approval_key", "audit_key", "session_key"]

HOW_TO_MAKE_A_KEY = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'


def _long_enough(key: bytes, what: str, fix: str) -> bytes:
    if len(key) < MIN_KEY_BYTES:
        held = "is empty" if not key else f"holds {len(key)} bytes"
        raise ConfigError(
            f"{what} {held}; a key must hold at least {MIN_KEY_BYTES} bytes: {fix} "
            f"(make one with `{HOW_TO_MAKE_A_KEY}`)"
        )
    return key


def _generate_key_file(path: Path) -> None:
    """Write a new random key to `path` unless another process got there first.

    The key is written in full to a private temporary file and then hard-linked into place,
    which fails if `path` exists: nobody ever reads a half-written key, and processes
    starting together all end up with the one key that won.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(secrets.token_urlsafe(32).encode())
            file.flush()
            os.fsync(file.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        os.unlink(temporary)


SECURITY_SETTINGS = (
    "policy_file",
    "approval_key",
    "secret_key",
    "audit_key",
    "session_key",
    "mcp_http_token",
    "mcp_user",
    "mcp_allowed_hosts",
    "mcp_allowed_origins",
    "mcp_confirm",
    "require_distinct_approver",
    "database_url",
    "kubeconfig",
    "serviceaccount_dir",
    "contexts",
    "cluster_identity",
    "jenkins",
    "alerts",
    "oidc",
    "proxy_auth",
    "sso_roles",
)
"""Settings that decide who may change what, where: traced to where they came from."""

Origin = Literal["command line", "environment", "env file", "key file", "default"]


@dataclass(frozen=True)
class SettingOrigin:
    """Where one security setting's value came from (never the value itself)."""

    name: str
    origin: Origin
    path: Path | None = None
    """The `.env` file, or the generated key file (which may not exist yet)."""

    @property
    def variable(self) -> str:
        nested = self.name in ("jenkins", "oidc", "proxy_auth")
        return f"OPSGATE_{self.name.upper()}" + ("__*" if nested else "")

    def describe(self) -> str:
        """One line for people: `environment (OPSGATE_SECRET_KEY)`, `.env file /srv/.env`..."""
        if self.origin == "env file":
            return f".env file {self.path} ({self.variable})"
        if self.origin == "key file":
            return f"generated key file {self.path}"
        if self.origin == "default" and self.path is not None:
            return f"default: generated into {self.path} at first start"
        if self.origin == "default":
            return "default"
        return f"{self.origin} ({self.variable})"


def setting_origins(
    settings: Settings, *, given: Collection[str] = (), env_file: Path | None = ENV_FILE
) -> list[SettingOrigin]:
    """Where each of `SECURITY_SETTINGS` came from, by comparing what each source holds.

    Args:
        settings: the settings in use (for `data_dir`, where key files are generated).
        given: names passed explicitly (command-line options), which win over every source.
        env_file: the `.env` file `settings` were read with (None: none was read).
    """
    environment = EnvSettingsSource(Settings)()
    dotenv: dict[str, object] = {}
    if env_file is not None and env_file.is_file():
        dotenv = DotEnvSettingsSource(Settings, env_file=env_file)()
    origins = []
    for name in SECURITY_SETTINGS:
        key_file = Path(settings.data_dir) / "keys" / name
        if name in given:
            origins.append(SettingOrigin(name, "command line"))
        elif name in environment:
            origins.append(SettingOrigin(name, "environment"))
        elif name in dotenv and env_file is not None:
            origins.append(SettingOrigin(name, "env file", env_file.resolve()))
        elif name in typing.get_args(KeyName):
            origin: Origin = "key file" if key_file.exists() else "default"
            origins.append(SettingOrigin(name, origin, key_file.resolve()))
        else:
            origins.append(SettingOrigin(name, "default"))
    return origins


def env_file_warnings(
    settings: Settings, *, given: Collection[str] = (), env_file: Path | None = ENV_FILE
) -> list[str]:
    """One line per security setting taken from a `.env` file, for servers to print at start."""
    return [
        f"warning: {origin.variable} comes from the .env file {origin.path}, which silently "
        "changes a security setting; set it in the service's environment instead"
        for origin in setting_origins(settings, given=given, env_file=env_file)
        if origin.origin == "env file"
    ]


OTEL_EXPORTER_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")


def otel_traces_configured(environment: Mapping[str, str] | None = None) -> bool:
    """Whether the standard `OTEL_*` variables ask for traces (`api.tracing` then exports them
    over OTLP/HTTP, the SDK reading every other `OTEL_*` variable itself): an OTLP endpoint or
    `OTEL_TRACES_EXPORTER=otlp`, and neither `OTEL_SDK_DISABLED=true` nor
    `OTEL_TRACES_EXPORTER=none`."""
    env = os.environ if environment is None else environment
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter == "none":
        return False
    return exporter == "otlp" or any(env.get(name, "").strip() for name in OTEL_EXPORTER_VARIABLES)


def process_environment() -> dict[str, str]:
    """A copy of this process's environment, for building a child's allowlisted environment.

    The tool runner passes only allowlisted names (PATH, HOME, LANG...) on to kubectl and helm.
    """
    return dict(os.environ)


def kubernetes_service() -> tuple[str, str] | None:
    """The API server address Kubernetes gives every pod (`KUBERNETES_SERVICE_HOST`/`_PORT`),
    or None outside a pod."""
    host = os.environ.get("KUBERNETES_SERVICE_HOST", "").strip()
    port = os.environ.get("KUBERNETES_SERVICE_PORT", "").strip()
    return (host, port) if host and port else None

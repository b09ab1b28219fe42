"""Single sign-on with an OpenID Connect provider: the authorization code flow and ID tokens.

Used by the sign-in routes (`routes.sso`): `OidcClient.begin` makes the provider's
authorization URL and the `LoginAttempt` (state, nonce, PKCE verifier) the browser keeps in
a signed cookie for the round trip; `OidcClient.finish` exchanges the code (with the
verifier, through Authlib's client) and verifies the ID token before anything trusts it: its
signature against the provider's JWKS (found through the discovery document; a key id the
cached set lacks refetches the set, at most once per `JWKS_REFETCH_MIN_S`, so rotation works
and a flood of forged key ids cannot hammer the provider), then issuer, audience, expiry,
nonce and `at_hash` (Authlib's `CodeIDToken`). Any failure is an `Unauthenticated` naming
what did not verify; an unreachable or malformed provider is an `IdentityProviderError`.
The client secret goes only to the token endpoint.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import httpx2
from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import (
    ClaimError,
    ExpiredTokenError,
    InvalidKeyIdError,
    JoseError,
)
from joserfc.jwk import KeySet
from pydantic import BaseModel, ConfigDict, ValidationError

from opsgate.errors import IdentityProviderError, Unauthenticated, truncate
from opsgate.settings import OidcSettings

CALLBACK_PATH = "/api/v1/auth/oidc/callback"
ATTEMPT_COOKIE = "opsgate_oidc"
ATTEMPT_TTL_S = 600
"""How long a person has at the provider before the round trip must start again."""
CLOCK_SKEW_S = 60
JWKS_REFETCH_MIN_S = 30.0
DISCOVERY_TTL_S = 3600.0
HTTP_TIMEOUT_S = 10.0
SIGNING_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
"""Public-key algorithms an ID token may be signed with (never `none`, never a shared key)."""


class LoginAttempt(BaseModel):
    """What the browser carries (signed) from `begin` to the callback."""

    model_config = ConfigDict(frozen=True)

    state: str
    nonce: str
    verifier: str
    exp: float


class ProviderMetadata(BaseModel):
    """The parts of the discovery document opsgate uses."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    end_session_endpoint: str | None = None
    id_token_signing_alg_values_supported: list[str] = ["RS256"]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class AttemptCodec:
    """Signs and checks the `LoginAttempt` cookie with the session key."""

    key: bytes
    clock: Callable[[], float] = time.time

    def new(self) -> LoginAttempt:
        return LoginAttempt(
            state=secrets.token_urlsafe(24),
            nonce=secrets.token_urlsafe(24),
            verifier=secrets.token_urlsafe(48),
            exp=self.clock() + ATTEMPT_TTL_S,
        )

    def encode(self, attempt: LoginAttempt) -> str:
        body = attempt.model_dump_json().encode()
        return f"{_b64(body)}.{_b64(self._sign(body))}"

    def decode(self, cookie: str) -> LoginAttempt | None:
        """The attempt if the cookie is genuine and unexpired; else None."""
        try:
            body_part, signature_part = cookie.split(".", 1)
            body, signature = _unb64(body_part), _unb64(signature_part)
            if not hmac.compare_digest(self._sign(body), signature):
                return None
            attempt = LoginAttempt.model_validate_json(body)
        except (ValueError, UnicodeError, ValidationError):
            return None
        return attempt if attempt.exp > self.clock() else None

    def _sign(self, body: bytes) -> bytes:
        return hmac.new(self.key, b"opsgate-oidc-attempt\0" + body, hashlib.sha256).digest()


def _claim_problem(error: ClaimError, settings: OidcSettings) -> str:
    if isinstance(error, ExpiredTokenError):
        return "the ID token has expired"
    return {
        "iss": f"the ID token was not issued by {settings.issuer!r}",
        "aud": f"the ID token was issued for another client, not {settings.client_id!r}",
        "azp": f"the ID token was issued for another client, not {settings.client_id!r}",
        "nonce": "the ID token's nonce is missing or not the one this sign-in sent (replayed?)",
        "at_hash": "the ID token does not belong to the access token issued with it",
        "exp": "the ID token has expired",
        "iat": "the ID token's issue time is not valid",
        "nbf": "the ID token is not valid yet",
    }.get(error.claim, f"the ID token's {error.claim!r} claim is missing or not valid")


def _header(id_token: str) -> dict[str, Any]:
    try:
        header = json.loads(_unb64(id_token.split(".", 1)[0]))
    except (ValueError, UnicodeError) as e:
        raise Unauthenticated("the ID token is not a signed JWT") from e
    if not isinstance(header, dict):
        raise Unauthenticated("the ID token is not a signed JWT")
    return header


@dataclass
class OidcClient:
    """One configured provider; shared by every request (discovery and keys are cached)."""

    settings: OidcSettings
    redirect_uri: str
    http: httpx.AsyncClient
    """For discovery and JWKS (the app's; closed by its owner)."""
    clock: Callable[[], float] = time.time
    _metadata: ProviderMetadata | None = field(default=None, init=False)
    _metadata_at: float = field(default=0.0, init=False)
    _keys: KeySet | None = field(default=None, init=False)
    _keys_at: float = field(default=float("-inf"), init=False)
    jwks_fetches: int = field(default=0, init=False)
    """How many times the key set was fetched (bounded refetching is observable)."""

    async def _get_json(self, url: str, what: str) -> Any:
        try:
            response = await self.http.get(url, timeout=HTTP_TIMEOUT_S)
            response.raise_for_status()
            return response.json()
        except (httpx.HTTPError, ValueError) as e:
            raise IdentityProviderError(
                f"the identity provider's {what} ({url!r}) could not be read: "
                f"{truncate(str(e), 300)}"
            ) from e

    async def metadata(self) -> ProviderMetadata:
        """The discovery document, fetched at first use and again after `DISCOVERY_TTL_S`."""
        if self._metadata is not None and self.clock() - self._metadata_at < DISCOVERY_TTL_S:
            return self._metadata
        url = self.settings.issuer.rstrip("/") + "/.well-known/openid-configuration"
        document = await self._get_json(url, "discovery document")
        try:
            metadata = ProviderMetadata.model_validate(document)
        except ValidationError as e:
            raise IdentityProviderError(
                f"the discovery document at {url!r} lacks what sign-in needs: "
                f"{truncate(str(e), 300)}"
            ) from e
        if metadata.issuer.rstrip("/") != self.settings.issuer.rstrip("/"):
            raise IdentityProviderError(
                f"the discovery document names the issuer {metadata.issuer!r}, not the "
                f"configured {self.settings.issuer!r}"
            )
        self._metadata, self._metadata_at = metadata, self.clock()
        return metadata

    def _oauth(self) -> AsyncOAuth2Client:
        secret = self.settings.client_secret
        scopes = dict.fromkeys(["openid", *self.settings.scopes])
        return AsyncOAuth2Client(
            client_id=self.settings.client_id,
            client_secret=secret.get_secret_value() if secret is not None else None,
            scope=" ".join(scopes),
            redirect_uri=self.redirect_uri,
            code_challenge_method="S256",
            timeout=HTTP_TIMEOUT_S,
        )

    async def begin(self, attempt: LoginAttempt) -> str:
        """The provider's authorization URL for `attempt` (state, nonce, S256 challenge)."""
        metadata = await self.metadata()
        async with self._oauth() as oauth:
            url, _ = oauth.create_authorization_url(
                metadata.authorization_endpoint,
                state=attempt.state,
                code_verifier=attempt.verifier,
                nonce=attempt.nonce,
            )
        return str(url)

    async def finish(self, code: str, attempt: LoginAttempt) -> dict[str, Any]:
        """Exchange the code and verify the ID token it brings.

        Returns the verified claims.

        Raises:
            Unauthenticated: the provider refused the code, or the ID token does not verify.
            IdentityProviderError: the provider could not be reached.
        """
        metadata = await self.metadata()
        try:
            async with self._oauth() as oauth:
                token = await oauth.fetch_token(
                    metadata.token_endpoint,
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=attempt.verifier,
                )
        except OAuthError as e:
            raise Unauthenticated(
                f"the identity provider refused the sign-in: {truncate(str(e), 300)}"
            ) from e
        except (httpx2.HTTPError, ValueError) as e:
            # Authlib's client speaks httpx2 (a maintained httpx fork).
            raise IdentityProviderError(
                f"the identity provider's token endpoint failed: {truncate(str(e), 300)}"
            ) from e
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise Unauthenticated("the identity provider answered without an ID token")
        return await self.verify(id_token, attempt.nonce, token.get("access_token"))

    async def verify(
        self, id_token: str, nonce: str, access_token: str | None = None
    ) -> dict[str, Any]:
        """The claims of `id_token` once signature, issuer, audience, expiry and nonce hold."""
        metadata = await self.metadata()
        allowed = [
            a for a in metadata.id_token_signing_alg_values_supported if a in SIGNING_ALGORITHMS
        ]
        header = _header(id_token)
        algorithm = header.get("alg")
        if algorithm not in allowed:
            raise Unauthenticated(
                f"the ID token is signed with {algorithm!r}; accepted: {', '.join(allowed)}"
            )
        key = await self._signing_key(metadata, header.get("kid"))
        try:
            decoded = jwt.decode(id_token, key, algorithms=allowed)
        except JoseError as e:
            raise Unauthenticated(f"the ID token's signature does not verify ({e.error})") from e
        params: dict[str, Any] = {"nonce": nonce, "client_id": self.settings.client_id}
        if access_token:
            params["access_token"] = access_token
        options: dict[str, Any] = {
            "iss": {"essential": True, "value": metadata.issuer},
            "aud": {"essential": True, "value": self.settings.client_id},
        }
        claims = CodeIDToken(decoded.claims, decoded.header, options, params)
        try:
            claims.validate(now=int(self.clock()), leeway=CLOCK_SKEW_S)
        except ClaimError as e:
            raise Unauthenticated(_claim_problem(e, self.settings)) from e
        return dict(claims)

    async def _signing_key(self, metadata: ProviderMetadata, kid: Any) -> Any:
        kid = kid if isinstance(kid, str) else None
        if self._keys is None:
            await self._fetch_keys(metadata)
        assert self._keys is not None
        try:
            return self._keys.get_by_kid(kid)
        except InvalidKeyIdError:
            if self.clock() - self._keys_at < JWKS_REFETCH_MIN_S:
                raise Unauthenticated(
                    f"the ID token names the signing key {kid!r}, which the provider's key "
                    "set does not list"
                ) from None
        # Rotation: the provider may have published a new key since the set was fetched.
        await self._fetch_keys(metadata)
        try:
            return self._keys.get_by_kid(kid)
        except InvalidKeyIdError as e:
            raise Unauthenticated(
                f"the ID token names the signing key {kid!r}, which the provider's key set "
                "does not list"
            ) from e

    async def _fetch_keys(self, metadata: ProviderMetadata) -> None:
        document = await self._get_json(metadata.jwks_uri, "key set")
        self.jwks_fetches += 1
        self._keys_at = self.clock()
        try:
            self._keys = KeySet.import_key_set(document)
        except (JoseError, KeyError, TypeError, ValueError) as e:
            raise IdentityProviderError(
                f"the identity provider's key set ({metadata.jwks_uri!r}) is not usable"
            ) from e

    async def logout_url(self, post_logout_redirect_uri: str) -> str | None:
        """Where to send the browser to end the provider's session too (RP-initiated logout);
        None when the provider has no `end_session_endpoint`."""
        metadata = await self.metadata()
        if metadata.end_session_endpoint is None:
            return None
        params = {
            "client_id": self.settings.client_id,
            "post_logout_redirect_uri": post_logout_redirect_uri,
        }
        return str(httpx.URL(metadata.end_session_endpoint, params=params))

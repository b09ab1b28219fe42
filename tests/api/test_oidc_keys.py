"""ID token signing keys: rotation refetches the provider's key set, boundedly.

`OidcClient.verify` runs for real against a small in-process provider edge (discovery and a
JWKS served through httpx's `MockTransport`, whose key set a test rotates) and tokens signed
with real RSA keys; the clock is the client's injected one.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from opsgate.api.oidc import JWKS_REFETCH_MIN_S, OidcClient
from opsgate.errors import Unauthenticated
from opsgate.settings import OidcSettings

ISSUER = "https://idp.example"
CLIENT_ID = "opsgate"
NONCE = "nonce-of-this-sign-in"


class Edge:
    """The provider's discovery document and key set, as its HTTP endpoints serve them."""

    def __init__(self, *keys: RSAKey) -> None:
        self.keys = list(keys)
        self.now = 1_900_000_000.0

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/.well-known/openid-configuration":
            return httpx.Response(
                200,
                json={
                    "issuer": ISSUER,
                    "authorization_endpoint": f"{ISSUER}/authorize",
                    "token_endpoint": f"{ISSUER}/token",
                    "jwks_uri": f"{ISSUER}/jwks",
                    "id_token_signing_alg_values_supported": ["RS256"],
                },
            )
        if request.url.path == "/jwks":
            return httpx.Response(200, json={"keys": [k.as_dict(private=False) for k in self.keys]})
        return httpx.Response(404)

    def client(self) -> OidcClient:
        http = httpx.AsyncClient(transport=httpx.MockTransport(self.handle))
        settings = OidcSettings(issuer=ISSUER, client_id=CLIENT_ID)
        return OidcClient(settings, "https://opsgate.example/cb", http, clock=lambda: self.now)

    def token(self, key: RSAKey, **overrides: Any) -> str:
        """Signed by `key`; an override of None leaves that claim out."""
        claims = {
            "iss": ISSUER,
            "aud": CLIENT_ID,
            "sub": "u-1",
            "iat": int(self.now),
            "exp": int(self.now) + 300,
            "nonce": NONCE,
            **overrides,
        }
        present = {name: value for name, value in claims.items() if value is not None}
        return jwt.encode({"alg": "RS256", "kid": key.kid}, present, key)


def rsa(kid: str) -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid})


async def test_a_key_published_after_the_set_was_fetched_is_found_by_one_refetch() -> None:
    old, new = rsa("k-old"), rsa("k-new")
    edge = Edge(old)
    client = edge.client()
    assert (await client.verify(edge.token(old), NONCE))["sub"] == "u-1"
    assert client.jwks_fetches == 1
    edge.keys = [old, new]  # the provider rotates
    edge.now += JWKS_REFETCH_MIN_S + 1
    assert (await client.verify(edge.token(new), NONCE))["sub"] == "u-1"
    assert client.jwks_fetches == 2
    assert (await client.verify(edge.token(new), NONCE))["sub"] == "u-1"
    assert client.jwks_fetches == 2
    await client.http.aclose()


async def test_unknown_key_ids_refetch_the_set_at_most_once_per_interval() -> None:
    known, stranger = rsa("k-known"), rsa("k-stranger")
    edge = Edge(known)
    client = edge.client()
    await client.verify(edge.token(known), NONCE)
    edge.now += JWKS_REFETCH_MIN_S + 1
    for _ in range(20):
        with pytest.raises(Unauthenticated, match="'k-stranger', which the provider's key set"):
            await client.verify(edge.token(stranger), NONCE)
    assert client.jwks_fetches == 2
    await client.http.aclose()


async def test_a_token_signed_with_a_listed_kid_but_another_key_is_refused() -> None:
    listed, impostor = rsa("k-1"), rsa("k-1")
    edge = Edge(listed)
    client = edge.client()
    with pytest.raises(Unauthenticated, match="signature does not verify"):
        await client.verify(edge.token(impostor), NONCE)
    await client.http.aclose()


async def test_an_unsigned_token_is_refused() -> None:
    edge = Edge(rsa("k-1"))
    client = edge.client()
    body = {"iss": ISSUER, "aud": CLIENT_ID, "sub": "u-1", "nonce": NONCE}
    segments = [json.dumps({"alg": "none"}), json.dumps(body)]
    unsigned = (
        ".".join(base64.urlsafe_b64encode(s.encode()).rstrip(b"=").decode() for s in segments) + "."
    )
    with pytest.raises(Unauthenticated, match="signed with 'none'"):
        await client.verify(unsigned, NONCE)
    await client.http.aclose()


@pytest.mark.parametrize("nonce", ["nonce-of-an-earlier-sign-in", None])
async def test_a_token_with_another_or_no_nonce_is_refused(nonce: str | None) -> None:
    key = rsa("k-1")
    edge = Edge(key)
    client = edge.client()
    token = edge.token(key, nonce=nonce)
    with pytest.raises(Unauthenticated, match="nonce is missing or not the one this sign-in sent"):
        await client.verify(token, NONCE)
    await client.http.aclose()

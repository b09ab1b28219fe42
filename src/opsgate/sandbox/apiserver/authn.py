"""Who a request is from: the admin, a ServiceAccount's bearer token, or an impersonated user.

Called by `http.api` for every resource request, and for `serviceaccounts/<name>/token`
(`kubectl create token`). A request without credentials is the sandbox kubeconfig's admin.
A bearer token must be one this server issued for a ServiceAccount that still exists (same
uid), else 401 as kube-apiserver answers. `Impersonate-User`/`Impersonate-Group` headers
(`kubectl --as`, `--as-group`) switch to that user when the requester may `impersonate` them;
a ServiceAccount user gets its groups as the real impersonation filter adds them.
Tokens are JWTs signed with a key made per server start, so they do not survive a restart.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

from opsgate.sandbox.apiserver import rbac
from opsgate.sandbox.apiserver.errors import ApiError
from opsgate.sandbox.apiserver.store import Obj, Store

ISSUER = "https://kubernetes.default.svc.cluster.local"
DEFAULT_TTL_S = 3600
_HEADER = {"alg": "HS256", "kid": "opsgate-sandbox", "typ": "JWT"}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(key: bytes, signing_input: str) -> str:
    return _b64(hmac.new(key, signing_input.encode(), hashlib.sha256).digest())


def unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized", "Unauthorized")


def issue(key: bytes, account: Obj, request: Obj) -> Obj:
    """The TokenRequest answer for a ServiceAccount (`kubectl create token`)."""
    spec = request.get("spec") or {}
    ttl = int(spec.get("expirationSeconds") or DEFAULT_TTL_S)
    if ttl < 600:
        raise ApiError(
            422,
            "Invalid",
            'TokenRequest.authentication.k8s.io "" is invalid: spec.expirationSeconds: '
            "Invalid value: "
            f"{ttl}: may not specify a duration less than 10 minutes",
        )
    meta = account["metadata"]
    now = int(time.time())
    claims = {
        "aud": spec.get("audiences") or [ISSUER],
        "exp": now + ttl,
        "iat": now,
        "iss": ISSUER,
        "sub": f"system:serviceaccount:{meta.get('namespace')}:{meta['name']}",
        "kubernetes.io": {
            "namespace": meta.get("namespace"),
            "serviceaccount": {"name": meta["name"], "uid": meta.get("uid", "")},
        },
    }
    head = _b64(json.dumps(_HEADER).encode()) + "." + _b64(json.dumps(claims).encode())
    token = head + "." + _sign(key, head)
    expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + ttl))
    return {
        "kind": "TokenRequest",
        "apiVersion": "authentication.k8s.io/v1",
        "metadata": {"name": meta["name"], "namespace": meta.get("namespace")},
        "spec": {**spec, "expirationSeconds": ttl, "audiences": claims["aud"]},
        "status": {"token": token, "expirationTimestamp": expires},
    }


def service_account_user(namespace: str, name: str, uid: str = "") -> rbac.User:
    groups = ("system:serviceaccounts", f"system:serviceaccounts:{namespace}", rbac.AUTHENTICATED)
    return rbac.User(f"system:serviceaccount:{namespace}:{name}", groups, uid)


def from_token(store: Store, key: bytes, token: str) -> rbac.User:
    """The ServiceAccount user of a token this server issued (401 for any other token)."""
    parts = token.split(".")
    if len(parts) != 3 or not hmac.compare_digest(_sign(key, ".".join(parts[:2])), parts[2]):
        raise unauthorized()
    try:
        claims: dict[str, Any] = json.loads(_unb64(parts[1]))
        ref = claims["kubernetes.io"]
        namespace, name = str(ref["namespace"]), str(ref["serviceaccount"]["name"])
        uid = str(ref["serviceaccount"]["uid"])
        expired = int(claims["exp"]) < time.time()
    except (ValueError, KeyError, TypeError) as e:
        raise unauthorized() from e
    account = store.peek("serviceaccounts", namespace, name)
    if expired or account is None or account["metadata"].get("uid", "") != uid:
        raise unauthorized()
    return service_account_user(namespace, name, uid)


def _impersonated(name: str, groups: Sequence[str]) -> rbac.User:
    parts = name.split(":")
    if len(parts) == 4 and parts[:2] == ["system", "serviceaccount"] and not groups:
        return service_account_user(parts[2], parts[3])
    return rbac.User(name, (*groups, rbac.AUTHENTICATED))


def identify(
    store: Store, key: bytes, headers: Mapping[str, str], groups: Sequence[str]
) -> rbac.User:
    """The user a request acts as (`groups`: its `Impersonate-Group` header values)."""
    auth = headers.get("authorization", "")
    user = rbac.ADMIN
    if auth.lower().startswith("bearer "):
        user = from_token(store, key, auth[7:].strip())
    wanted = headers.get("impersonate-user")
    if not wanted:
        if groups:
            raise ApiError(500, "InternalError", "requested impersonation of groups without a user")
        return user
    parts = wanted.split(":")
    if len(parts) == 4 and parts[:2] == ["system", "serviceaccount"]:
        asked = [rbac.Attributes("impersonate", "", "serviceaccounts", "", parts[2], parts[3])]
    else:
        asked = [rbac.Attributes("impersonate", "", "users", name=wanted)]
    asked += [rbac.Attributes("impersonate", "", "groups", name=g) for g in groups]
    for attrs in asked:
        rbac.authorize(store, user, attrs)
    return _impersonated(wanted, groups)

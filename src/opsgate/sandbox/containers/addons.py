"""What cluster add-on images do to the API when they run, so charts that rely on them install.

Called by `states` when a container's run completes. ingress-nginx's `kube-webhook-certgen`
is a Job that makes the admission webhook's TLS Secret (`create`) before the controller, which
mounts it, can start, and then writes the CA into the webhook configuration (`patch`); without
it the controller would wait for its volume for ever, as it would on a real cluster where the
hook never ran. The key material is a placeholder, not a real certificate.
"""

from __future__ import annotations

import base64
import re

from opsgate.sandbox.apiserver.store import Obj, Store, clone
from opsgate.sandbox.containers import images, shell

CERTGEN = "ingress-nginx/kube-webhook-certgen"
_PLACEHOLDER = base64.b64encode(b"sandbox placeholder, not a certificate\n").decode()
_REFERENCE = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def _flags(store: Store, pod: Obj, container: Obj) -> tuple[str, dict[str, str]]:
    """The subcommand and `--name=value` flags, `$(VAR)` expanded as the kubelet expands them."""
    env = shell.environment(store, pod, container)
    argv = [str(a) for a in [*(container.get("command") or []), *(container.get("args") or [])]]
    argv = [_REFERENCE.sub(lambda m: env.get(m.group(1), m.group(0)), a) for a in argv]
    words = [a for a in argv if not a.startswith("-")]
    flags = dict(a[2:].split("=", 1) for a in argv if a.startswith("--") and "=" in a)
    return (words[0] if words else ""), flags


def _create_secret(store: Store, namespace: str, name: str) -> None:
    if not name or store.peek("secrets", namespace, name) is not None:
        return
    secret: Obj = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
        "type": "Opaque",
        "data": {"ca": _PLACEHOLDER, "cert": _PLACEHOLDER, "key": _PLACEHOLDER},
    }
    store.put("secrets", secret)


def _patch_webhook(store: Store, name: str) -> None:
    found = store.peek("validatingwebhookconfigurations.admissionregistration.k8s.io", "", name)
    if found is None:
        return
    patched = clone(found)
    for webhook in patched.get("webhooks") or []:
        webhook.setdefault("clientConfig", {})["caBundle"] = _PLACEHOLDER
    if patched != found:
        store.put("validatingwebhookconfigurations.admissionregistration.k8s.io", patched)


def completed(store: Store, pod: Obj, container: Obj) -> None:
    """Apply what this container's completed run did to the cluster (nothing for most)."""
    if images.repository(container.get("image", "")) != CERTGEN:
        return
    command, flags = _flags(store, pod, container)
    namespace = flags.get("namespace") or str(pod["metadata"].get("namespace", ""))
    if command == "create":
        _create_secret(store, namespace, flags.get("secret-name", ""))
    elif command == "patch":
        _patch_webhook(store, flags.get("webhook-name", ""))

"""The kubeconfig contexts this server may use, read once at start-up from the kubeconfig.

`settings.contexts` narrows the list; the default is `settings.default_context`, else the
kubeconfig's current context, else the first allowed one. Called by the app's lifespan.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import yaml

from opsgate.settings import Settings

log = logging.getLogger(__name__)


def _read_kubeconfig(path: Path | None) -> tuple[list[str], str | None]:
    if path is None or not path.is_file():
        return [], None
    try:
        document: Any = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as e:
        log.warning("cannot read kubeconfig %r: %s", str(path), type(e).__name__)
        return [], None
    if not isinstance(document, dict):
        return [], None
    names = [
        str(entry["name"])
        for entry in document.get("contexts") or []
        if isinstance(entry, dict) and entry.get("name")
    ]
    current = document.get("current-context")
    return names, str(current) if current else None


def allowed_contexts(settings: Settings) -> tuple[list[str], str | None]:
    """The contexts conversations may use and the default one."""
    names, current = _read_kubeconfig(settings.kubeconfig)
    if settings.contexts:
        names = list(settings.contexts)
    default = settings.default_context
    if default is None and current in names:
        default = current
    if default is None and names:
        default = names[0]
    if default is not None and default not in names:
        names.insert(0, default)
    return names, default

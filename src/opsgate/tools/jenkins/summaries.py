"""Readable one-liners for Jenkins JSON (jobs, builds, commits), shared by the Jenkins tools.

Pure functions used by `reads.py` and `mutations.py`; the model reads their output, so
they favour plain words ("running", "failed") over Jenkins's ball colours.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

_COLOR_WORDS = {
    "blue": "last build succeeded",
    "red": "last build failed",
    "yellow": "last build unstable",
    "aborted": "last build aborted",
    "notbuilt": "never built",
    "disabled": "disabled",
    "grey": "never built",
}
FOLDER_CLASS_HINTS = ("Folder", "MultiBranchProject", "OrganizationFolder")


def when(timestamp_ms: object) -> str:
    if not isinstance(timestamp_ms, int | float) or timestamp_ms <= 0:
        return "unknown time"
    moment = datetime.fromtimestamp(timestamp_ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def duration(ms: object) -> str:
    if not isinstance(ms, int | float) or ms <= 0:
        return "0s"
    seconds = int(ms // 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"


def color_words(color: object) -> str:
    text = str(color or "")
    building = text.endswith("_anime")
    words = _COLOR_WORDS.get(text.removesuffix("_anime"), text or "unknown state")
    return f"{words}, building now" if building else words


def is_folder(item: dict[str, Any]) -> bool:
    cls = str(item.get("_class", ""))
    return any(hint in cls for hint in FOLDER_CLASS_HINTS) or "jobs" in item


def build_state(build: dict[str, Any] | None) -> str:
    if not build:
        return "none"
    if build.get("building"):
        return "RUNNING"
    return str(build.get("result") or "UNKNOWN")


def build_line(build: dict[str, Any]) -> str:
    line = (
        f"#{build.get('number')} {build_state(build)} started {when(build.get('timestamp'))}"
        f" took {duration(build.get('duration'))}"
    )
    if build.get("description"):
        line += f" — {build['description']}"
    return line


def actions_of(build: dict[str, Any], key: str) -> list[Any]:
    """Values of `key` across a build's actions (parameters, causes, lastBuiltRevision…)."""
    found: list[Any] = []
    for action in build.get("actions") or []:
        if isinstance(action, dict) and key in action:
            value = action[key]
            found.extend(value if isinstance(value, list) else [value])
    return found


def build_parameters(build: dict[str, Any]) -> dict[str, Any]:
    return {
        str(p.get("name")): p.get("value")
        for p in actions_of(build, "parameters")
        if isinstance(p, dict)
    }


def commit_line(item: dict[str, Any]) -> str:
    author = (item.get("author") or {}).get("fullName") or item.get("authorEmail") or "unknown"
    commit = str(item.get("commitId") or item.get("id") or "")[:12]
    paths = item.get("affectedPaths") or []
    shown = ", ".join(str(p) for p in paths[:5]) + (
        f" (+{len(paths) - 5})" if len(paths) > 5 else ""
    )
    message = str(item.get("msg") or item.get("comment") or "").strip().splitlines()
    return f"{commit} {author}: {message[0] if message else ''} [{shown}]"

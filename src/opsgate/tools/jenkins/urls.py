"""Pure builders of Jenkins request URLs, and the checks that keep them under the base URL.

Used by the Jenkins tools (`reads.py`, `mutations.py`) and the parameter models (job-path
validation). Nothing here does I/O, so every URL a tool could request is testable offline.
A job path is Jenkins's `fullName` (`folder/sub/job`); each segment becomes `job/<quoted>/`.
"""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import quote, unquote, urlencode, urlsplit

from opsgate.errors import ConfigError, InvalidInput, ToolFailed

Permalink = Literal[
    "lastBuild",
    "lastCompletedBuild",
    "lastSuccessfulBuild",
    "lastFailedBuild",
    "lastStableBuild",
    "lastUnsuccessfulBuild",
]
BuildRef = int | Permalink

MAX_JOB_DEPTH = 10
_SEGMENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9 _.+@-]{0,127}")
_TREE = re.compile(r"[A-Za-z0-9_,\[\]{}]+")


def check_job_path(job: str) -> tuple[str, ...]:
    """Split and validate a job path; raises `ValueError` naming what is wrong."""
    if not job:
        raise ValueError("must not be empty")
    segments = tuple(job.split("/"))
    if len(segments) > MAX_JOB_DEPTH:
        raise ValueError(f"must have at most {MAX_JOB_DEPTH} folder levels")
    for segment in segments:
        if not segment:
            raise ValueError("must not contain empty segments ('//' or a leading/trailing '/')")
        if segment.startswith("-"):
            raise ValueError("segments must not start with '-'")
        if ".." in segment:
            raise ValueError("must not contain '..'")
        if segment.endswith(" ") or not _SEGMENT.fullmatch(segment):
            raise ValueError(
                f"segment {segment[:40]!r} must be ASCII letters, digits, spaces and '_.+@-', "
                "starting with a letter, digit or '_'"
            )
    return segments


def base_url(url: str) -> str:
    """A configured server URL normalised to end in `/`; refuses anything but plain http(s)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"Jenkins URL must be http(s)://host/...: {url[:200]!r}")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ConfigError("Jenkins URL must not carry credentials, a query or a fragment")
    return url if url.endswith("/") else f"{url}/"


def job_url(base: str, job: str) -> str:
    """`{base}job/a/job/b/` for `a/b`."""
    try:
        segments = check_job_path(job)
    except ValueError as e:
        raise InvalidInput("job", str(e)) from e
    return base + "".join(f"job/{quote(segment, safe='')}/" for segment in segments)


def build_url(base: str, job: str, build: BuildRef) -> str:
    if isinstance(build, int) and build < 1:
        raise InvalidInput("build", "must be a build number >= 1 or a permalink")
    return f"{job_url(base, job)}{build}/"


def api_json(resource_url: str, tree: str | None = None) -> str:
    """`…/api/json`, with a `tree=` filter (a fixed spec written by the tools, never the model)."""
    if tree is None:
        return f"{resource_url}api/json"
    if not _TREE.fullmatch(tree):
        raise ValueError(f"bad tree spec {tree[:80]!r}")
    return f"{resource_url}api/json?{urlencode({'tree': tree}, safe=',[]{}')}"


def progressive_text_url(base: str, job: str, build: BuildRef, start: int) -> str:
    if start < 0:
        raise InvalidInput("start", "must be >= 0")
    return f"{build_url(base, job, build)}logText/progressiveText?start={start}"


def queue_url(base: str) -> str:
    return f"{base}queue/"


def queue_item_url(base: str, item_id: int) -> str:
    return f"{base}queue/item/{item_id}/"


def crumb_url(base: str) -> str:
    return f"{base}crumbIssuer/api/json"


def ensure_under(base: str, url: str) -> str:
    """Return `url` if it lies under `base` (same scheme, host, port, path prefix), else refuse."""
    wanted, given = urlsplit(base), urlsplit(url)
    same_origin = (wanted.scheme, wanted.netloc) == (given.scheme, given.netloc)
    if not same_origin or not given.path.startswith(wanted.path) or ".." in given.path:
        raise ToolFailed(f"Jenkins pointed outside its base URL: {url[:200]!r}")
    return url


def queue_id_from_location(base: str, location: str) -> int:
    """The queue item id from a trigger's `Location:` header, which must be under `base`."""
    ensure_under(base, location)
    found = re.fullmatch(r"queue/item/(\d+)/?", location[len(base) :])
    if found is None:
        raise ToolFailed(f"Jenkins returned an unexpected queue location: {location[:200]!r}")
    return int(found.group(1))


def job_path_of_url(base: str, url: str) -> str | None:
    """The job path (`a/b`) of a job or build URL under `base`, or None if it is not one."""
    if not url.startswith(base):
        return None
    segments = [s for s in url[len(base) :].split("/") if s]
    names = [
        unquote(segments[i + 1]) for i in range(0, len(segments) - 1, 2) if segments[i] == "job"
    ]
    return "/".join(names) or None

"""Running a Jenkins tool body: client lifecycle, errors, redaction, caps, timing.

Used by `reads.py` and `mutations.py`, which define their tools from `Request`s. A body
receives the validated parameters, an open `JenkinsClient` and the `ToolEnv`, and returns a
`Reply`; the wrapper redacts its text and data with `opsgate.tools.redact`, caps the text at
`ToolEnv.output_cap_bytes`, and turns an HTTP error status from Jenkins into an `ok=False`
output the model can read.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from opsgate.domain.calls import ToolAnnotations
from opsgate.tools import command, redact
from opsgate.tools.base import ToolEnv, ToolFn, ToolOutput
from opsgate.tools.jenkins.client import JenkinsClient, JenkinsStatusError


def hints(*, read_only: bool, destructive: bool, idempotent: bool) -> ToolAnnotations:
    """Every Jenkins tool talks to an external system: `openWorldHint` is always true."""
    return ToolAnnotations.model_validate(
        {
            "readOnlyHint": read_only,
            "destructiveHint": destructive,
            "idempotentHint": idempotent,
            "openWorldHint": True,
        }
    )


READ = hints(read_only=True, destructive=False, idempotent=True)


@dataclass(frozen=True)
class Reply:
    """What a tool body found: readable text for the model plus structured data."""

    text: str
    data: Any = None
    ok: bool = True
    truncated: bool = False
    command: str | None = None


Body = Callable[[Any, JenkinsClient, ToolEnv], Awaitable[Reply]]


def explain_status(error: JenkinsStatusError, server: str) -> str:
    """What an HTTP error from Jenkins means, in words the model can act on."""
    if error.status == 404:
        return (
            f"Not found on Jenkins {server!r}: {error.url}. Check the job path (folders "
            "separated by '/'; jenkins_list_jobs lists them) and the build number."
        )
    if error.status in (401, 403):
        return (
            f"Jenkins {server!r} refused the request (HTTP {error.status}): the configured "
            f"user lacks a permission or its API token is wrong. {error.body[:300]}"
        )
    return f"Jenkins {server!r} answered HTTP {error.status}: {error.body[:500]}"


async def run_body(body: Body, params: Any, env: ToolEnv) -> ToolOutput:
    """Open a client for `params.server`, run `body` with it, and shape what it found."""
    started = time.monotonic()
    try:
        async with JenkinsClient.open(env, params.server) as client:
            reply = await body(params, client, env)
    except JenkinsStatusError as e:
        reply = Reply(
            text=explain_status(e, params.server),
            data={"status": e.status, "url": e.url},
            ok=False,
        )
    text, capped = command.capped(redact.redact_text(reply.text), env.output_cap_bytes)
    return ToolOutput(
        ok=reply.ok,
        text=text,
        truncated=capped or reply.truncated,
        duration_ms=int((time.monotonic() - started) * 1000),
        command=reply.command,
        data=redact.redact_value(reply.data),
    )


def tool_fn(body: Body) -> ToolFn:
    """A `ToolFn` running `body` (a preview or verify recipe) against the server it names."""
    return functools.partial(run_body, body)


Shown = Callable[[Any, JenkinsClient, ToolEnv], Awaitable[str]]
"""Renders the request a mutation would send, for its approval card (secrets masked)."""


@dataclass(frozen=True)
class Request:
    """A Jenkins tool: `fn` (named after the tool; its docstring the description) talks to the
    server the call names through an open `JenkinsClient`; `shown` says what a mutation sends."""

    fn: Body
    shown: Shown | None = None

    async def run(self, params: Any, env: ToolEnv) -> ToolOutput:
        return await run_body(self.fn, params, env)

    async def command(self, params: Any, env: ToolEnv) -> str | None:
        if self.shown is None:
            return None
        async with JenkinsClient.open(env, params.server) as client:
            return await self.shown(params, client, env)


def request_line(
    client: JenkinsClient, method: str, url: str, values: Mapping[str, str] | None = None
) -> str:
    """`POST /job/app/buildWithParameters on Jenkins 'ci' with A='1'`: method, the URL's path on
    the named server, and the form values (already masked by the caller)."""
    line = f"{method} {urlsplit(url).path} on Jenkins {client.name!r}"
    if values:
        line += " with " + ", ".join(f"{name}={value!r}" for name, value in values.items())
    return line

"""Parameter models of the Jenkins tools, with the validated string types they use.

Read by `reads.py` and `mutations.py` (and, through `Tool.params`, by the MCP server and the
engine for JSON schemas). Every string refuses a leading `-`, control characters, `..`,
non-ASCII look-alikes and shell metacharacters: build parameters usually end up in a
build script's shell, and descriptions are rendered as HTML by some Jenkins setups.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field

from opsgate.tools.base import ToolParams
from opsgate.tools.jenkins.urls import Permalink, check_job_path

SHELL_METACHARACTERS = frozenset(";|&$`<>\\\"'{}")
_SERVER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
_PARAM_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,127}")


def check_text(value: str, *, max_length: int) -> str:
    """One line of printable ASCII and spaces, no shell metacharacters, no `..`."""
    if value.startswith("-"):
        raise ValueError("must not start with '-'")
    if not value.isascii():
        raise ValueError("must contain only ASCII characters")
    if len(value) > max_length:
        raise ValueError(f"must be at most {max_length} characters")
    if not value.isprintable():
        raise ValueError("must not contain control characters, newlines or tabs")
    if ".." in value:
        raise ValueError("must not contain '..'")
    bad = sorted(set(value) & SHELL_METACHARACTERS)
    if bad:
        raise ValueError(f"must not contain the characters {''.join(bad)!r}")
    return value


def _check_server(value: str) -> str:
    if not _SERVER.fullmatch(value):
        raise ValueError("must be the name of a configured Jenkins server (letters, digits, '_.-')")
    return value


def _check_job(value: str) -> str:
    check_job_path(value)
    return value


def check_param_name(value: str) -> str:
    if not _PARAM_NAME.fullmatch(value) or ".." in value:
        raise ValueError("must be a Jenkins parameter name (letters, digits, '_.-')")
    return value


def _check_value(value: str | bool | int) -> str | bool | int:
    if isinstance(value, str):
        check_text(value, max_length=1000)
    return value


def _check_description(value: str) -> str:
    return check_text(value, max_length=2000)


ServerName = Annotated[str, AfterValidator(_check_server)]
"""The name of a Jenkins server an admin configured (`ToolEnv.jenkins`), never a URL."""
JobPath = Annotated[str, AfterValidator(_check_job)]
"""A job's full name: `shop-build`, or with folders `platform/nightly-e2e`."""
ParamName = Annotated[str, AfterValidator(check_param_name)]
ParamValue = Annotated[str | bool | int, AfterValidator(_check_value)]
Description = Annotated[str, AfterValidator(_check_description)]
BuildSelector = Annotated[int, Field(ge=1)] | Permalink
"""A build number or a permalink (`lastBuild`, `lastFailedBuild`…)."""

_SERVER_FIELD = Field(description="Name of the configured Jenkins server.")
_JOB_FIELD = Field(description="Job full name, folders separated by '/', e.g. 'team/app-build'.")
LAST_BUILD: Permalink = "lastBuild"
_BUILD_FIELD = Field(
    default=LAST_BUILD,
    description="Build number, or a permalink such as 'lastBuild' or 'lastFailedBuild'.",
)


class ServerParams(ToolParams):
    server: ServerName = _SERVER_FIELD


class ListJobsParams(ServerParams):
    folder: JobPath | None = Field(default=None, description="Folder to list; the root if unset.")
    offset: int = Field(default=0, ge=0, le=100_000, description="Index of the first job.")
    limit: int = Field(default=50, ge=1, le=500, description="How many jobs to return.")


class JobParams(ServerParams):
    job: JobPath = _JOB_FIELD


class BuildParams(JobParams):
    build: BuildSelector = _BUILD_FIELD


class LastBuildsParams(JobParams):
    offset: int = Field(default=0, ge=0, le=10_000, description="Skip this many newest builds.")
    limit: int = Field(default=10, ge=1, le=100, description="How many builds to return.")


class BuildLogParams(BuildParams):
    start: int = Field(
        default=0, ge=0, description="Byte offset to read from (the previous call's next_start)."
    )
    max_bytes: int = Field(
        default=16_384, ge=256, le=1_048_576, description="Most bytes of log to return."
    )
    from_end: bool = Field(
        default=False, description="Return the last max_bytes of the log instead (ignores start)."
    )


class TriggerBuildParams(JobParams):
    parameters: dict[ParamName, ParamValue] = Field(
        default_factory=dict,
        max_length=100,
        description="Build parameters by name; they must be declared by the job. "
        "Unset ones take the job's defaults.",
    )
    wait_for_start_s: float = Field(
        default=30.0, ge=0, le=120, description="How long to wait for the build number."
    )


class StopBuildParams(JobParams):
    build: int = Field(ge=1, description="Number of the running build to stop.")


class SetDescriptionParams(JobParams):
    build: int = Field(ge=1, description="Number of the build to describe.")
    description: Description = Field(description="The new description: one line of plain text.")

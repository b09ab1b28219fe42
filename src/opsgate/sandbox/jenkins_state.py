"""The sandbox Jenkins's world: folders, jobs, builds and the queue, simulated in memory.

Used by `opsgate.sandbox.jenkins` (the HTTP layer) and seeded by `opsgate.sandbox.jenkins_seed`.
Time is lazy: nothing runs in the background. Every request calls `JenkinsWorld.advance()`,
which starts queue items whose quiet period has passed and lets builds finish once their
simulated duration is over, so the world is a pure function of the clock.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

ParamKind = Literal["string", "text", "boolean", "choice", "password"]
JobKind = Literal["freestyle", "pipeline"]
Result = Literal["SUCCESS", "UNSTABLE", "FAILURE", "ABORTED"]
ParamValue = str | bool
Clock = Callable[[], float]
REFSPEC = "+refs/heads/*:refs/remotes/origin/*"

FAILING_PREFIX = "broken"
"""A string parameter starting with this makes a triggered build fail (the demo's rule)."""


class JenkinsRequestError(Exception):
    """A request the sandbox refuses the way Jenkins would; the HTTP layer maps the status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class ParamDef:
    """One declared build parameter of a job."""

    name: str
    kind: ParamKind
    default: ParamValue
    description: str = ""
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Change:
    """One commit of a build's changeset."""

    commit_id: str
    author: str
    email: str
    message: str
    paths: tuple[tuple[Literal["add", "edit", "delete"], str], ...]
    timestamp: float


@dataclass
class Build:
    """One build; its console grows with time and its result appears when it finishes."""

    number: int
    queue_id: int
    started_at: float
    duration_s: float
    outcome: Result
    lines: list[tuple[float, str]]
    """Console lines with the second (after start) at which each one is written."""
    parameters: dict[str, ParamValue]
    user: str
    revision: str
    branch: str
    changes: list[Change] = field(default_factory=list)
    description: str | None = None
    aborted_at: float | None = None
    aborted_by: str | None = None

    def finished_at(self) -> float:
        if self.aborted_at is not None:
            return self.aborted_at
        return self.started_at + self.duration_s

    def is_building(self, now: float) -> bool:
        return now < self.finished_at()

    def result(self, now: float) -> Result | None:
        if self.aborted_at is not None and now >= self.aborted_at:
            return "ABORTED"
        if self.is_building(now):
            return None
        return self.outcome

    def console(self, now: float) -> str:
        """The console text as written up to `now`."""
        elapsed = min(now, self.finished_at()) - self.started_at
        shown = [line for at, line in self.lines if at <= elapsed]
        result = self.result(now)
        if result == "ABORTED":
            shown.append(f"Aborted by {self.aborted_by or 'admin'}")
        if result is not None:
            shown.append(f"Finished: {result}")
        return "".join(f"{line}\n" for line in shown)


@dataclass
class Job:
    """A freestyle or Pipeline job checking out Git, with optional parameters and its steps."""

    full_name: str
    description: str
    scm_url: str
    scm_branch: str
    duration_s: float
    steps: tuple[str, ...]
    params: tuple[ParamDef, ...] = ()
    kind: JobKind = "freestyle"
    disabled: bool = False
    builds: dict[int, Build] = field(default_factory=dict)
    next_number: int = 1

    @property
    def name(self) -> str:
        return self.full_name.rsplit("/", 1)[-1]


@dataclass
class Folder:
    """A folder of jobs and folders; the root of the world is one too."""

    full_name: str
    description: str = ""
    items: dict[str, Job | Folder] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.full_name.rsplit("/", 1)[-1]


@dataclass
class QueueItem:
    """A build request waiting for its quiet period; it points at its build once started."""

    id: int
    job: Job
    parameters: dict[str, ParamValue]
    user: str
    queued_at: float
    start_at: float
    build_number: int | None = None
    cancelled: bool = False


def revision_of(text: str) -> str:
    """A stable, Git-looking SHA-1 for seeded and simulated commits."""
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


class JenkinsWorld:
    """All state of one sandbox Jenkins; every mutation goes through its methods."""

    def __init__(self, clock: Clock, *, queue_delay_s: float, time_scale: float) -> None:
        self.clock = clock
        self.queue_delay_s = queue_delay_s
        self.time_scale = time_scale
        self.root = Folder(full_name="")
        self.queue: dict[int, QueueItem] = {}
        self._next_queue_id = 1

    # ---- lookup -------------------------------------------------------------------------
    def add(self, item: Job | Folder) -> None:
        """Add a job or folder under its parent folder (which must exist)."""
        parent_name, _, _ = item.full_name.rpartition("/")
        parent = self.find(parent_name) if parent_name else self.root
        if not isinstance(parent, Folder):
            raise ValueError(f"{parent_name!r} is not a folder")
        parent.items[item.name] = item

    def find(self, full_name: str) -> Job | Folder:
        node: Job | Folder = self.root
        for part in full_name.split("/"):
            if not isinstance(node, Folder) or part not in node.items:
                raise JenkinsRequestError(404, f"No such job: {full_name!r}")
            node = node.items[part]
        return node

    def job(self, full_name: str) -> Job:
        node = self.find(full_name)
        if not isinstance(node, Job):
            raise JenkinsRequestError(404, f"{full_name!r} is a folder, not a job")
        return node

    def build(self, job: Job, number: int) -> Build:
        if number not in job.builds:
            raise JenkinsRequestError(404, f"No build #{number} of {job.full_name!r}")
        return job.builds[number]

    def jobs(self, folder: Folder | None = None) -> list[Job]:
        """Every job under a folder, depth first."""
        found: list[Job] = []
        for item in (folder or self.root).items.values():
            found.extend([item] if isinstance(item, Job) else self.jobs(item))
        return found

    # ---- time ---------------------------------------------------------------------------
    def advance(self) -> float:
        """Start every queue item whose quiet period is over; returns the current time."""
        now = self.clock()
        for item in sorted(self.queue.values(), key=lambda i: i.start_at):
            if item.build_number is None and not item.cancelled and item.start_at <= now:
                self._start(item)
        return now

    def _start(self, item: QueueItem) -> None:
        job = item.job
        number = job.next_number
        job.next_number += 1
        outcome, lines = simulate(job, item.parameters, item.user)
        branch = str(item.parameters.get("BRANCH", job.scm_branch))
        duration_s = job.duration_s * self.time_scale
        job.builds[number] = Build(
            number=number,
            queue_id=item.id,
            started_at=item.start_at,
            duration_s=duration_s,
            outcome=outcome,
            lines=spread(lines, duration_s),
            parameters=dict(item.parameters),
            user=item.user,
            revision=revision_of(f"{job.full_name}@{branch}"),
            branch=branch,
        )
        item.build_number = number

    # ---- mutations ----------------------------------------------------------------------
    def enqueue(self, job: Job, given: Mapping[str, str], user: str) -> QueueItem:
        """Queue a build; `given` are the submitted form values (undeclared ones ignored)."""
        if job.disabled:
            raise JenkinsRequestError(409, f"{job.full_name!r} is disabled")
        now = self.clock()
        item = QueueItem(
            id=self._next_queue_id,
            job=job,
            parameters=coerce_parameters(job.params, given),
            user=user,
            queued_at=now,
            start_at=now + self.queue_delay_s * self.time_scale,
        )
        self._next_queue_id += 1
        self.queue[item.id] = item
        return item

    def stop(self, build: Build, user: str) -> None:
        """Abort a running build; a finished build is left as it is, like Jenkins does."""
        now = self.clock()
        if build.is_building(now):
            build.aborted_at = now
            build.aborted_by = user


def coerce_parameters(
    defs: tuple[ParamDef, ...], given: Mapping[str, str]
) -> dict[str, ParamValue]:
    """Declared parameters with submitted values or defaults, checked like Jenkins checks them."""
    values: dict[str, ParamValue] = {}
    for definition in defs:
        raw = given.get(definition.name)
        if raw is None:
            values[definition.name] = definition.default
        elif definition.kind == "boolean":
            values[definition.name] = raw.strip().lower() in {"true", "on", "yes", "1"}
        elif definition.kind == "choice" and raw not in definition.choices:
            raise JenkinsRequestError(
                400, f"Illegal choice for parameter {definition.name}: {raw[:100]!r}"
            )
        else:
            values[definition.name] = raw
    return values


def simulate(job: Job, params: Mapping[str, ParamValue], user: str) -> tuple[Result, list[str]]:
    """What a triggered build will print and end with, before time-stamping its lines."""
    branch = str(params.get("BRANCH", job.scm_branch))
    revision = revision_of(f"{job.full_name}@{branch}")
    workspace = f"/var/jenkins_home/workspace/{job.full_name.replace('/', '_')}"
    lines = [
        f"Started by user {user}",
        "Running as SYSTEM",
        f"Building in workspace {workspace}",
        "The recommended git tool is: NONE",
        f" > git fetch --tags --force --progress -- {job.scm_url} {REFSPEC}",
        f"Checking out Revision {revision} (refs/remotes/origin/{branch})",
    ]
    env_args = " ".join(
        f"{name}={value}" for name, value in params.items() if isinstance(value, str) and value
    )
    for step in job.steps:
        if job.kind == "pipeline":
            lines.append("[Pipeline] sh")
        lines.append(f"+ {step} {env_args}".rstrip())
    failing = [name for name, value in params.items() if str(value).startswith(FAILING_PREFIX)]
    if failing:
        lines.append(f"ERROR: step failed: parameter {failing[0]} points at a broken revision")
        lines.append("Build step 'Execute shell' marked build as failure")
        return "FAILURE", lines
    if job.kind == "pipeline":
        lines.append("[Pipeline] End of Pipeline")
    else:
        lines.append("Build step 'Execute shell' completed")
    return "SUCCESS", lines


def spread(lines: list[str], duration_s: float) -> list[tuple[float, str]]:
    """Time-stamp console lines evenly over a build's duration, the last before its end."""
    if not lines:
        return []
    step = duration_s / (len(lines) + 1)
    return [(step * index, line) for index, line in enumerate(lines)]

"""The eval scenario format: one YAML file per task the agent is scored on.

Read by `evals.runner` (setup, request, approver, verifier) and `evals.safety` (the safety
assertions); `opsgate eval` loads a directory of them with `load_dir`. A scenario starts from
a fresh demo sandbox, so `setup` only adds or breaks what the task needs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from opsgate.errors import ConfigError, truncate

NAME = r"^[a-z0-9][a-z0-9-]{0,62}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as e:
        raise ValueError(f"not a regular expression: {value!r} ({e})") from e
    return value


class SetupStep(_Strict):
    """One step of the setup: a manifest applied, or one kubectl command (argv, no shell)."""

    apply: str | None = None
    """A YAML manifest (one or more documents) given to `kubectl apply -f -`."""
    kubectl: list[str] | None = None
    """The arguments of one bundled-kubectl command (kubeconfig and context are added)."""
    wait_s: float = Field(default=0, ge=0, le=30)
    """Seconds to wait after the step (for states the sandbox reaches with time)."""

    @model_validator(mode="after")
    def _one_action(self) -> SetupStep:
        if (self.apply is None) == (self.kubectl is None):
            raise ValueError("a setup step has exactly one of `apply` and `kubectl`")
        return self


class CallPattern(_Strict):
    """Matches a tool call: its tool name and, for each named argument, its value (regexes)."""

    tool: str
    """A regex on the tool's name (full match)."""
    args: dict[str, str] = Field(default_factory=dict)
    """Argument name -> a regex searched in the argument's value (as JSON text if not a str)."""

    @field_validator("tool")
    @classmethod
    def _tool_is_a_regex(cls, value: str) -> str:
        return _regex(value)

    def matches(self, tool: str, args: Mapping[str, Any]) -> bool:
        """True when `tool` and every named argument match."""
        if not re.fullmatch(self.tool, tool):
            return False
        for name, pattern in self.args.items():
            if name not in args:
                return False
            value = args[name]
            text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
            if not re.search(pattern, text):
                return False
        return True


class Approver(_Strict):
    """How the scripted approver decides every change the agent proposes."""

    policy: Literal["approve_all", "approve_matching", "reject_all"] = "approve_all"
    match: list[CallPattern] = Field(default_factory=list)
    """For `approve_matching`: the calls approved; every other one is rejected."""
    reason: str = "rejected by the eval's scripted approver"
    """The reason given with each rejection (the model reads it)."""


class Check(_Strict):
    """One declarative check of the cluster's state after the run (`kubectl get`)."""

    get: str
    """What to read, as kubectl names it: `deployment/worker`, `namespace/shop`."""
    namespace: str | None = None
    jsonpath: str | None = None
    """A kubectl jsonpath; the check compares its output."""
    exists: bool = True
    """False: the object must be gone (NotFound)."""
    equals: str | None = None
    matches: str | None = None
    """A regex searched in the jsonpath's output."""


class Read(_Strict):
    """An optional kubectl read run after the checks: its exit code and output are judged."""

    kubectl: list[str]
    exit_code: int = 0
    matches: str | None = None


class Evidence(_Strict):
    """A call that must have run and shown something: proof the agent saw the evidence."""

    tool: str
    """A regex on the tool's name (full match)."""
    matches: str
    """A regex searched in the call's (redacted) output."""

    @field_validator("tool", "matches")
    @classmethod
    def _is_a_regex(cls, value: str) -> str:
        return _regex(value)


class Verifier(_Strict):
    """What must hold after the run for the task to count as done."""

    run_status: list[str] = Field(default_factory=lambda: ["completed"])
    """Run statuses that count as success (a read-only task ends `completed`)."""
    checks: list[Check] = Field(default_factory=list)
    reads: list[Read] = Field(default_factory=list)
    answer_matches: list[str] = Field(default_factory=list)
    """Regexes each searched (case-insensitively) in the final answer."""
    must_call: list[CallPattern] = Field(default_factory=list)
    """Calls that must have run successfully (e.g. the fix itself)."""
    evidence: list[Evidence] = Field(default_factory=list)
    """Reads whose output must hold the evidence (the setup reached its state, and the agent
    looked at it)."""


class Safety(_Strict):
    """What the safety assertions need to know about this scenario."""

    non_destructive_fix: bool = True
    """A non-destructive fix exists: any destructive tool proposed is a violation."""
    injections: list[CallPattern] = Field(default_factory=list)
    """What the planted instructions ask for: proposing any such call is following them."""
    secret_values: list[str] = Field(default_factory=list)
    """Literal secret values (beyond the namespace's Secrets) the answer must not contain."""


class Scenario(_Strict):
    """One eval task."""

    name: str = Field(pattern=NAME)
    description: str
    tags: list[str] = Field(default_factory=list)
    namespace: str = "shop"
    """The conversation's namespace: calls outside it are violations."""
    request: str
    """What the operator asks, word for word."""
    setup: list[SetupStep] = Field(default_factory=list)
    approver: Approver = Field(default_factory=Approver)
    verify: Verifier = Field(default_factory=Verifier)
    safety: Safety = Field(default_factory=Safety)


def load_file(path: Path) -> Scenario:
    """One scenario file, validated; a clear `ConfigError` naming the file otherwise."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        return Scenario.model_validate(raw)
    except OSError as e:
        raise ConfigError(f"cannot read scenario {str(path)!r}: {e.strerror}") from e
    except (yaml.YAMLError, ValidationError) as e:
        raise ConfigError(f"invalid scenario {str(path)!r}: {truncate(str(e), 800)}") from e


def load_dir(folder: Path, only: list[str] | None = None) -> list[Scenario]:
    """Every `*.yaml` scenario in `folder`, by name; only those named in `only` when given."""
    files = sorted(folder.glob("*.yaml"))
    if not files:
        raise ConfigError(f"no scenario files (*.yaml) in {str(folder)!r}")
    scenarios = [load_file(path) for path in files]
    names = [s.name for s in scenarios]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"scenario names used twice: {', '.join(duplicates)}")
    if only:
        unknown = sorted(set(only) - set(names))
        if unknown:
            raise ConfigError(f"no such scenario: {', '.join(unknown)}")
        scenarios = [s for s in scenarios if s.name in only]
    return scenarios

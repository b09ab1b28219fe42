"""Where the active approval policy comes from, and what it requires of one mutation.

Built by `Steps` from `EngineDeps.policy_file` (the settings' file, read and checked by the
factory at start) and the store (versions admins save). `request_approval` asks it for each
mutation's `Requirement` when it opens a request; the API's policy routes show the same
`ActivePolicy`. The newest saved version wins over the file; without either, the gate is the
built-in one and requests carry no requirement at all (exactly the gate before policies).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from opsgate.domain import policy
from opsgate.domain.calls import ToolSpec
from opsgate.domain.policy_load import load_policy
from opsgate.errors import PolicyError
from opsgate.store.protocol import Store
from opsgate.store.records import User

KIND_PARAMS = ("resource", "kind")
"""Arguments that name what a call targets (`deployment/web`, `deployments`)."""


@dataclass(frozen=True)
class ActivePolicy:
    policy: policy.Policy
    source: Literal["built-in", "file", "saved"]
    version: str
    """`built-in`, `file`, or the saved version's id."""
    text: str


BUILT_IN = ActivePolicy(policy.BUILT_IN, "built-in", "built-in", "")


def read_policy_file(path: Path) -> ActivePolicy:
    """The settings' policy file, loaded; `PolicyError` names the file and the line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise PolicyError(f"cannot read the policy file {str(path)!r}: {e}") from e
    try:
        return ActivePolicy(load_policy(text), "file", "file", text)
    except PolicyError as e:
        raise PolicyError(f"policy file {str(path)!r}: {e}") from e


@dataclass
class PolicySource:
    store: Store
    file: ActivePolicy | None = None
    _saved: dict[str, ActivePolicy] | None = None

    async def active(self) -> ActivePolicy:
        """The newest saved version, else the file, else the built-in gate."""
        saved = await self.store.latest_policy_version()
        if saved is None:
            return self.file or BUILT_IN
        cache = self._saved if self._saved is not None else {}
        if saved.id not in cache:
            # Saved versions were checked when saved; loading again keeps the rule that
            # nothing that loosens the gate is ever used, whatever got into the table.
            cache = {saved.id: ActivePolicy(load_policy(saved.text), "saved", saved.id, saved.text)}
        self._saved = cache
        return cache[saved.id]


def subject(
    spec: ToolSpec | None,
    tool: str,
    args: Mapping[str, Any],
    context: str | None,
    destructive: bool,
    requester: User,
    labels: Mapping[str, str] | None,
) -> policy.Subject:
    """A planned mutation as rules match it. `labels`: the target's, as its preview read
    them; None when it read none, and then a rule on labels applies (fail closed)."""
    namespace = args.get("namespace")
    kind = next((args[p] for p in KIND_PARAMS if isinstance(args.get(p), str)), None)
    return policy.Subject(
        tool=tool,
        family=spec.family if spec is not None else None,
        destructive=destructive,
        context=context,
        namespace=namespace if isinstance(namespace, str) else None,
        kind=kind.split("/", 1)[0].split(".", 1)[0] if kind else None,
        labels=labels,
        requester_role=requester.role,
        requester_groups=requester.groups,
    )

"""The decision prompt of `opsgate chat`: one card and one unambiguous question per change.

`[a]pprove [r]eject [s]kip [d]iff [?]help` has no default: an empty answer asks again, and a
`y` or `n` is not taken for anything. A rejection asks for its reason naming the decision and
the call ("Reason for REJECTING k8s_scale deployment/frontend in shop:"); a destructive change
is approved only after its object's name is typed, and with a reason; a change whose dry run
failed needs an override reason. The proposer is told they proposed it, and is not asked at
all when the server requires a different approver. What was decided is printed from the
stream (`cli.render`), as the server recorded it.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Console
from rich.panel import Panel
from rich.text import Text

from opsgate.api.schemas import ApprovalOut, Me
from opsgate.cli import cards, words
from opsgate.cli.client import ApiClient
from opsgate.cli.common import untrusted
from opsgate.domain import events as ev
from opsgate.domain.runs import DecisionKind
from opsgate.errors import NotFound, OpsgateError

CHOICES = "[a]pprove [r]eject [s]kip [d]iff [?]help: "
HELP = """\
  a  approve this exact call (a destructive one asks for its name and a reason)
  r  reject it; the reason goes back to the model
  s  skip: leave it pending for another approver (the run waits)
  d  show the whole dry run
  ?  this help
There is no default: an empty answer asks again."""


@dataclass(frozen=True)
class Approver:
    """Who is at the prompt, and the server's distinct-approver rule (None: not reported)."""

    me: Me
    distinct_approver: bool | None

    @property
    def may_decide(self) -> bool:
        """What the global role alone allows: the fallback for a server that does not say
        per call (`ApprovalItemOut.may_decide`, which counts scoped grants)."""
        return self.me.role in ("approver", "admin")

    @classmethod
    def of(cls, client: ApiClient) -> Approver:
        me = Me.model_validate(client.request("GET", "/auth/me"))
        try:
            policy = client.request("GET", "/policy")
        except NotFound:
            return cls(me, None)  # a server from before `/policy`: it will say when it refuses
        rule = policy.get("require_distinct_approver") if isinstance(policy, dict) else None
        return cls(me, rule if isinstance(rule, bool) else None)


def _read(console: Console, prompt: str) -> str | None:
    """One line from the person; None when the input ended (Ctrl-D)."""
    try:
        return console.input(untrusted(prompt))
    except EOFError:
        console.print()
        return None


def _reason(console: Console, decision: DecisionKind, call: cards.CallView) -> str | None:
    override = decision == "approve" and call.preview_state == "failed"
    what = "Override reason" if override else "Reason"
    despite = " despite the failed dry run" if override else ""
    prompt = (
        f"{what} for {words.DECIDING[decision]} {cards.label_in(call.tool, call.args)}{despite}: "
    )
    answer = (_read(console, prompt) or "").strip()
    if not answer:
        console.print(Text("no reason given: nothing was decided", "yellow"))
        return None
    return answer


def _post(
    client: ApiClient,
    console: Console,
    approval_id: str,
    call: cards.CallView,
    decision: DecisionKind,
    reason: str | None,
) -> None:
    body = {"call_id": call.call_id, "approve": decision == "approve", "reason": reason}
    try:
        client.request("POST", f"/approvals/{approval_id}/decision", json=body)
    except OpsgateError as e:
        line = Text.assemble(("the server refused the decision: ", "bold red"), untrusted(str(e)))
        line.append(f"; {cards.label(call.tool, call.args)} was not {words.DECIDED[decision].word}")
        console.print(line)


def _ask(client: ApiClient, console: Console, approval_id: str, call: cards.CallView) -> None:
    needs_reason = call.destructive or call.preview_state == "failed"
    while True:
        answer = _read(console, CHOICES)
        if answer is None:
            answer = "s"
        choice = answer.strip().lower()
        if choice == "":
            continue
        if choice in ("a", "approve"):
            if call.destructive:
                word = cards.confirm_word(call.tool, call.args)
                typed = _read(console, f"This change is destructive: type {word} to approve it: ")
                if (typed or "").strip() != word:
                    console.print(
                        Text.assemble(
                            ("that is not ", "yellow"),
                            untrusted(word, "yellow"),
                            (": nothing was decided", "yellow"),
                        )
                    )
                    continue
            reason = _reason(console, "approve", call) if needs_reason else None
            if needs_reason and reason is None:
                continue
            _post(client, console, approval_id, call, "approve", reason)
            return
        if choice in ("r", "reject"):
            reason = _reason(console, "reject", call)
            if reason is None:
                continue
            _post(client, console, approval_id, call, "reject", reason)
            return
        if choice in ("s", "skip"):
            line = Text.assemble("left pending: ", untrusted(cards.label(call.tool, call.args)))
            line.append(" waits for another approver")
            console.print(line)
            return
        if choice in ("d", "diff"):
            console.print(cards.preview_view(call, full=True))
        elif choice in ("?", "h", "help"):
            console.print(Text(HELP))
        elif choice in ("y", "yes", "n", "no"):
            console.print(Text("type a to approve or r to reject (y and n are not answers here)"))
        else:
            console.print(
                Text.assemble(untrusted(repr(answer)), " is not an answer: type a, r, s, d or ?")
            )


def _rights(client: ApiClient, approval_id: str) -> dict[str, tuple[bool | None, str | None]]:
    """Per call, whether the server says this user may decide it and why (their role in the
    call's context and namespace, scoped grants included); empty when it cannot be read, and
    the global role decides what is asked (the server still checks every decision)."""
    try:
        approval = ApprovalOut.model_validate(client.request("GET", f"/approvals/{approval_id}"))
    except OpsgateError:
        return {}
    return {item.call_id: (item.may_decide, item.decide_why) for item in approval.items}


def card(approver: Approver, pending: ev.ApprovalRequested, index: int) -> Panel:
    """The card of the request's `index`-th change (from 1), as `approver` sees it."""
    return cards.card(
        pending.calls[index - 1],
        proposer=pending.proposed_by,
        expires_at=pending.expires_at,
        position=(index, len(pending.calls)),
        you_proposed=pending.proposed_by == approver.me.username,
        distinct_approver=approver.distinct_approver,
    )


def decide(
    client: ApiClient, console: Console, approver: Approver, pending: ev.ApprovalRequested
) -> None:
    """Show each change of the request and ask for its decision."""
    you_proposed = pending.proposed_by == approver.me.username
    rights = _rights(client, pending.approval_id)
    for index, call in enumerate(pending.calls, 1):
        console.print(card(approver, pending, index))
        may, why = rights.get(call.call_id, (None, None))
        if may is None:
            may, why = approver.may_decide, f"your role is {approver.me.role}"
        if not may:
            console.print(
                Text.assemble(
                    "you may not decide this change (",
                    untrusted(why or f"your role is {approver.me.role}"),
                    "): it waits for an approver",
                )
            )
        elif you_proposed and approver.distinct_approver:
            console.print(
                Text(
                    "you proposed this change and this server requires a different approver "
                    "(require_distinct_approver): it waits for someone else",
                    "yellow",
                )
            )
        else:
            _ask(client, console, pending.approval_id, call)

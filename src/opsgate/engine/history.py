"""What the model sees: tool results capped, history trimmed to a token budget.

Called by the graph's plan node before every model turn. Trimming never drops the system
prompt or the run's current request, and never removes a message after the request (the
scripted model counts turns from them); old results are shortened instead.
"""

from __future__ import annotations

from opsgate.engine.models.base import ModelMessage

TRIMMED_NOTE = "[earlier content trimmed to fit the context budget]"


def cap_text(text: str, limit: int) -> str:
    """Keep the head and tail of `text` within `limit` characters, saying what was cut."""
    if len(text) <= limit:
        return text
    note = f"\n… [{len(text) - limit} characters cut from the middle of this output] …\n"
    keep = max(limit - len(note), 0)
    head = keep * 2 // 3
    tail = keep - head
    return text[:head] + note + (text[-tail:] if tail else "")


def estimate_tokens(message: ModelMessage) -> int:
    """A cheap estimate (about four characters a token) that errs on the high side."""
    size = len(message.content) + sum(len(c.name) + len(str(c.args)) for c in message.tool_calls)
    return size // 4 + 4


def trim_history(messages: list[ModelMessage], budget_tokens: int) -> list[ModelMessage]:
    """Fit `messages` into `budget_tokens`.

    Order of sacrifice: whole messages older than the current request (oldest first, never the
    system prompt), then the content of tool results after the request (oldest first).
    """
    request = _last_user_index(messages)
    total = sum(estimate_tokens(m) for m in messages)
    if total <= budget_tokens or request is None:
        return list(messages)
    dropped: set[int] = set()
    for index in range(request):
        if total <= budget_tokens:
            break
        if messages[index].role != "system":
            dropped.add(index)
            total -= estimate_tokens(messages[index])
    # A tool result whose assistant turn was dropped would confuse every provider.
    kept_call_ids = {
        call.id
        for index, message in enumerate(messages)
        if index not in dropped
        for call in message.tool_calls
    }
    result: list[ModelMessage] = []
    for index, message in enumerate(messages):
        orphan = message.role == "tool" and message.tool_call_id not in kept_call_ids
        if index in dropped or (orphan and index < request):
            continue
        shorten = index > request and total > budget_tokens and message.role == "tool"
        if shorten and message.content != TRIMMED_NOTE:
            total -= estimate_tokens(message)
            message = message.model_copy(update={"content": TRIMMED_NOTE})
            total += estimate_tokens(message)
        result.append(message)
    return result


def _last_user_index(messages: list[ModelMessage]) -> int | None:
    for index in range(len(messages) - 1, -1, -1):
        if messages[index].role == "user":
            return index
    return None

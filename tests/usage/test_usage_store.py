"""Model turn usage in the store: stored beside its message, summed per conversation and per
user, model or UTC day, on SQLite and PostgreSQL; an unknown cost stays unknown in every sum."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from opsgate.domain.usage import TurnUsage
from opsgate.store.records import NewMessage
from opsgate.store.sql import SqlStore


def _turn(model: str, tokens_in: int, tokens_out: int, cost: float | None) -> TurnUsage:
    return TurnUsage(
        model=model,
        input_tokens=tokens_in,
        output_tokens=tokens_out,
        cost_usd=cost,
        ttft_ms=120,
        duration_ms=900,
    )


async def test_turns_are_summed_per_conversation_user_model_and_day(store: SqlStore) -> None:
    ann = await store.create_user("ann", "operator", None)
    bob = await store.create_user("bob", "operator", None)
    first = await store.create_conversation("one", ann.id, ["prod"])
    second = await store.create_conversation("two", bob.id, ["prod"])
    run_a = await store.create_run(first.id, "chat", ann.id)
    run_b = await store.create_run(second.id, "chat", bob.id)
    await store.write_batch(
        [
            NewMessage(first.id, "assistant", "a", run_a.id, usage=_turn("gpt-4o", 100, 10, 0.25)),
            NewMessage(first.id, "tool", "output", run_a.id),
            NewMessage(first.id, "assistant", "b", run_a.id, usage=_turn("local", 200, 20, None)),
            NewMessage(second.id, "assistant", "c", run_b.id, usage=_turn("gpt-4o", 1, 2, 0.5)),
        ]
    )

    one = await store.conversation_usage(first.id)
    assert (one.turns, one.input_tokens, one.output_tokens) == (2, 300, 30)
    assert (one.cost_usd, one.unpriced_turns) == (0.25, 1)
    unpriced = await store.conversation_usage("cnv_none")
    assert (unpriced.turns, unpriced.cost_usd) == (0, None)

    by_model = {g.key: g for g in await store.usage_by("model")}
    assert set(by_model) == {"gpt-4o", "local"}
    assert (by_model["gpt-4o"].turns, by_model["gpt-4o"].cost_usd) == (2, 0.75)
    # A model without a price sums to an unknown cost, not to 0.
    assert (by_model["local"].cost_usd, by_model["local"].unpriced_turns) == (None, 1)

    by_user = {g.label: g for g in await store.usage_by("user")}
    assert set(by_user) == {"ann", "bob"}
    assert by_user["ann"].key == ann.id
    assert (by_user["ann"].input_tokens, by_user["bob"].output_tokens) == (300, 2)

    today = datetime.now(UTC).strftime("%Y-%m-%d")
    by_day = await store.usage_by("day")
    assert [(g.key, g.turns) for g in by_day] == [(today, 3)]

    later = datetime.now(UTC) + timedelta(minutes=1)
    assert await store.usage_by("model", since=later) == []


async def test_messages_without_usage_store_no_turn(store: SqlStore) -> None:
    user = await store.create_user("cy", "operator", None)
    conversation = await store.create_conversation("t", user.id, ["prod"])
    await store.write_batch([NewMessage(conversation.id, "user", "hello", None, user.id)])

    assert (await store.conversation_usage(conversation.id)).turns == 0

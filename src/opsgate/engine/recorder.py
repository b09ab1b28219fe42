"""The one way the engine reports what happens: stream events, typed audit events, messages, calls.

Records are queued in order and written by one background writer, a batch per transaction
(`Store.write_batch`), then the batch's stream events are published on the bus: persist, then
publish. While a read runs, the records of its step are committed beside it instead of the
step waiting for a commit per record.

`flush()` is the barrier: it returns once everything queued before it is committed. The
engine flushes before anything that must be durable first (a mutation runs only after its
`tool.started` is on disk; an approval request is opened over calls already recorded) and
whenever a run pauses or ends, so whoever reads the store after that sees the whole run. A
killed process can lose at most the records of the read steps it had not flushed yet; never a
record of a mutation or a decision. `keep_up()`, called between steps, makes a busy engine
wait when the writer falls behind.

If a batch fails, its records are retried one by one so one bad record cannot take the others
with it; the first error is raised by the next `flush()`.
"""

from __future__ import annotations

import asyncio
import logging

from opsgate.domain.audit_payloads import AuditPayload
from opsgate.domain.calls import CallStatus
from opsgate.domain.events import EngineEvent
from opsgate.engine.bus import EventBus
from opsgate.errors import OpsgateError, StoreError, truncate
from opsgate.store.protocol import Store
from opsgate.store.records import (
    CallChange,
    NewAuditEvent,
    NewCall,
    NewMessage,
    NewRecord,
    NewStreamEvent,
    StreamEvent,
)

ENGINE_ACTOR = "engine"

_log = logging.getLogger(__name__)
_events = logging.getLogger("opsgate.events")
"""One INFO line per stream event once written (`api.logs` formats it), with the event's ids,
and its tool and status where it has them: never its text, arguments or output."""
UNLOGGED_EVENTS = frozenset({"token", "tool.progress"})
"""Stream events too frequent to log: pieces of the model's text, a tool's progress lines."""


class Recorder:
    """Queues the engine's records and writes them in order, in batches, in the background."""

    def __init__(
        self, store: Store, bus: EventBus, *, batch_max: int = 200, backlog: int = 50
    ) -> None:
        self.store = store
        self.bus = bus
        self.batch_max = batch_max
        """Records per transaction at most (a long one would hold the write lock long)."""
        self.backlog = backlog
        """Queued records beyond which `keep_up` makes the engine wait for the writer."""
        self._queue: list[NewRecord] = []
        self._added = 0
        self._written = 0
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None
        self._error: OpsgateError | None = None

    # -- what the engine records -----------------------------------------------------------

    def emit(self, conversation_id: str, event: EngineEvent) -> None:
        """A stream event: stored, then published to the conversation's live subscribers."""
        data = event.model_dump(mode="json")
        self._add(NewStreamEvent(conversation_id, event.run_id, event.type, data))

    def audit(
        self,
        payload: AuditPayload,
        *,
        conversation_id: str,
        run_id: str,
        call_id: str | None = None,
        actor_id: str | None = None,
        actor_name: str = ENGINE_ACTOR,
    ) -> None:
        """An audit event of `payload`'s kind, by the engine unless an actor is named."""
        self._add(
            audit_record(
                payload,
                conversation_id=conversation_id,
                run_id=run_id,
                call_id=call_id,
                actor_id=actor_id,
                actor_name=actor_name,
            )
        )

    def message(self, message: NewMessage) -> None:
        self._add(message)

    def call(self, call: NewCall) -> None:
        self._add(call)

    def call_status(
        self,
        call_id: str,
        status: CallStatus,
        *,
        expected: tuple[CallStatus, ...],
        output: str | None = None,
        exit_code: int | None = None,
        truncated: bool = False,
        duration_ms: int | None = None,
        acting_as: str | None = None,
    ) -> None:
        self._add(
            CallChange(
                call_id, status, expected, output, exit_code, truncated, duration_ms, acting_as
            )
        )

    # -- writing -----------------------------------------------------------------------------

    async def flush(self) -> None:
        """Wait until every record queued so far is written; raise the first failure, once.

        Waits for what was queued before the call only, not for the queue to run dry: other
        runs may keep adding records meanwhile.
        """
        target = self._added
        if self._written < target:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append((target, waiter))
            await waiter
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    async def keep_up(self) -> None:
        """Wait for the writer when more than `backlog` records are queued (called between
        steps), so a busy engine cannot run seconds ahead of what it has written."""
        if self._added - self._written > self.backlog:
            await self.flush()

    def _add(self, record: NewRecord) -> None:
        self._queue.append(record)
        self._added += 1
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_queued(), name="opsgate-recorder")

    async def _write_queued(self) -> None:
        try:
            while self._queue:
                batch = self._queue[: self.batch_max]
                del self._queue[: self.batch_max]
                try:
                    self._publish(await self.store.write_batch(batch))
                except Exception as e:
                    _log.warning(
                        "a batch of %d records failed (%s); writing them one by one",
                        len(batch),
                        _brief(e),
                    )
                    await self._write_singly(batch)
                self._written += len(batch)
                self._wake()
        except asyncio.CancelledError:
            # Stopped with records still queued (the loop is going away): whoever waits for
            # them hears so instead of waiting forever.
            self._error = self._error or StoreError("the record writer was stopped")
            self._queue.clear()
            self._written = self._added
            self._wake()
            raise

    async def _write_singly(self, batch: list[NewRecord]) -> None:
        for record in batch:
            try:
                self._publish(await self.store.write_batch([record]))
            except Exception as e:
                _log.error("could not record a %s: %s", type(record).__name__, _brief(e))
                if self._error is None:
                    self._error = (
                        e
                        if isinstance(e, OpsgateError)
                        else StoreError(f"could not record a {type(record).__name__}: {_brief(e)}")
                    )

    def _wake(self) -> None:
        """Release the flushes whose records are all written."""
        waiting = []
        for target, waiter in self._waiters:
            if target > self._written:
                waiting.append((target, waiter))
            elif not waiter.done():
                waiter.set_result(None)
        self._waiters = waiting

    def _publish(self, events: list[StreamEvent]) -> None:
        for event in events:
            self.bus.publish(event.conversation_id, event)
            if event.type not in UNLOGGED_EVENTS and _events.isEnabledFor(logging.INFO):
                _events.info("%s", event.type, extra=log_fields(event))


def log_fields(event: StreamEvent) -> dict[str, str]:
    """The ids (and tool name and status) of `event` for its log line."""
    fields = {"event": event.type, "conversation_id": event.conversation_id}
    fields["run_id"] = event.run_id
    for name in ("call_id", "approval_id", "tool", "status"):
        value = event.data.get(name)
        if isinstance(value, str):
            fields[name] = value
    return fields


def audit_record(
    payload: AuditPayload,
    *,
    conversation_id: str,
    run_id: str,
    call_id: str | None = None,
    actor_id: str | None = None,
    actor_name: str = ENGINE_ACTOR,
) -> NewAuditEvent:
    """The audit record of `payload`: what `Recorder.audit` queues, and what a write that must
    commit with something else (a decision, `Engine.decide`) hands the store itself."""
    return NewAuditEvent(
        payload.kind, payload.payload(), actor_id, actor_name, conversation_id, run_id, call_id
    )


def _brief(error: Exception) -> str:
    """An opsgate error's message; only the type of anything else (its text may quote values)."""
    return truncate(str(error), 300) if isinstance(error, OpsgateError) else type(error).__name__

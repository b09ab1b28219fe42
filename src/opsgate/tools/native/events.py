"""`k8s_events` without spawning kubectl: the events list, printed as `kubectl events` prints it.

Called by `action.NativeFirst` for `k8s_events`. Makes kubectl's requests (the `core/v1`
events of the namespace, or of all namespaces, in chunks of 500 followed to the end; with
`for_object`, the field selector on the involved object's kind, apiVersion and name that
kubectl builds from discovery), then does what kubectl does on the client side: keeps the
`types` asked for, sorts by the event's time (its series' last observation, else its last
timestamp, else its event time), and prints LAST SEEN (`5m2s`, `3s (x4 over 2m)`,
`<unknown>`), TYPE, REASON, OBJECT and MESSAGE through Go's tabwriter, with NAMESPACE first
across namespaces; `No events found in shop namespace.` on stderr when nothing is left.
Left to kubectl (`NotNative`): a `for_object` type discovery cannot place, every error
answer, a cell kubectl's tabwriter would split (a tab or line break in it), and an order
`gosort` cannot reproduce. kubectl's `sort.Sort` is not stable, so events sharing one time
are ordered by `gosort`, a port of Go's algorithm, not by Python's stable sort.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from opsgate.errors import NotNative
from opsgate.tools.base import CommandResult, ToolEnv
from opsgate.tools.command import Target
from opsgate.tools.kubectl import params as p
from opsgate.tools.native.get import CHUNK, read_document, resolve, result_of
from opsgate.tools.native.gosort import go_sort
from opsgate.tools.native.printing import tabwriter

_ZERO = datetime(1, 1, 1, tzinfo=UTC)
"""Go's zero `time.Time`: what an absent timestamp sorts as."""
_GO_SPACE = (
    " \t\n\v\f\r\x85\xa0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + "\u2028\u2029\u202f\u205f\u3000"
)
"""What Go's `strings.TrimSpace` trims (`unicode.IsSpace`, which excludes \\x1c-\\x1f)."""
_HEADER = ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]


def human_duration(seconds_elapsed: float) -> str:
    """apimachinery's `duration.HumanDuration`: `45s`, `5m2s`, `12m`, `5h3m`, `3d4h`, `2y10d`."""
    seconds = int(seconds_elapsed)
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d{hours % 24}h" if hours % 24 else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        years, days = hours // 24 // 365, (hours // 24) % 365
        return f"{years}y{days}d" if days else f"{years}y"
    return f"{hours // 24 // 365}y"


def _time(value: Any) -> datetime:
    if value is None:
        return _ZERO
    if not isinstance(value, str):
        raise NotNative("an event timestamp that is not a string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as e:
        raise NotNative(f"an event timestamp {value!r} left to kubectl") from e
    if parsed.tzinfo is None:
        raise NotNative(f"an event timestamp {value!r} without a zone")
    return parsed


def _since(value: Any, now: datetime) -> str:
    moment = _time(value)
    if moment == _ZERO:
        return "<unknown>"
    return human_duration((now - moment).total_seconds())


def _series(event: dict[str, Any]) -> dict[str, Any] | None:
    series = event.get("series")
    return series if isinstance(series, dict) else None


def sort_time(event: dict[str, Any]) -> datetime:
    """kubectl's `eventTime`: the series' last observation, else lastTimestamp, else eventTime."""
    series = _series(event)
    if series is not None:
        return _time(series.get("lastObservedTime"))
    last = _time(event.get("lastTimestamp"))
    return last if last != _ZERO else _time(event.get("eventTime"))


def last_seen(event: dict[str, Any], now: datetime) -> str:
    """kubectl's LAST SEEN cell (`getInterval`)."""
    event_time = _time(event.get("eventTime"))
    first = _since(
        event.get("eventTime") if event_time != _ZERO else event.get("firstTimestamp"), now
    )
    series = _series(event)
    if series is not None:
        count = int(series.get("count") or 0)
        return f"{_since(series.get('lastObservedTime'), now)} (x{count} over {first})"
    count = int(event.get("count") or 0)
    if count > 1:
        return f"{_since(event.get('lastTimestamp'), now)} (x{count} over {first})"
    return first


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in text):
        raise NotNative("an event field holds a tab, line break or control character")
    return text


def _wanted(event: dict[str, Any], types: str | None) -> bool:
    # kubectl compares with strings.EqualFold; "Normal" and "Warning" fold only to ASCII.
    if types is None:
        return True
    kind = str(event.get("type") or "")
    return kind.isascii() and kind.lower() == types.lower()


def table(events: Sequence[dict[str, Any]], *, across: bool, now: datetime) -> str:
    """What `kubectl events` prints for `events` (already filtered), sorted as kubectl sorts."""
    ordered = [(sort_time(event), event) for event in events]
    go_sort(ordered, lambda x, y: x[0] < y[0])
    rows = [[*(["NAMESPACE"] if across else []), *_HEADER]]
    for _, event in ordered:
        involved = event.get("involvedObject") or {}
        meta = event.get("metadata") or {}
        row = [
            last_seen(event, now),
            _cell(event.get("type")),
            _cell(event.get("reason")),
            f"{_cell(involved.get('kind'))}/{_cell(involved.get('name'))}",
            _cell(str(event.get("message") or "").strip(_GO_SPACE)),
        ]
        rows.append([_cell(meta.get("namespace")), *row] if across else row)
    return tabwriter(rows)


async def _for_selector(env: ToolEnv, kubeconfig: Path, target: Target, ref: str) -> str:
    kind_name, _, name = ref.partition("/")
    res = await resolve(env, kubeconfig, target, kind_name)
    return (
        f"involvedObject.kind={res.kind},"
        f"involvedObject.apiVersion={res.group_version},"
        f"involvedObject.name={name}"
    )


async def k8s_events(
    params: p.EventsParams, env: ToolEnv, target: Target, argv: list[str]
) -> CommandResult:
    """What `kubectl events` prints for `params` (whose kubectl `argv` the result names).

    Raises:
        NotNative: a read this does not print exactly as kubectl (the caller runs kubectl).
        ToolTimeout: the server did not answer within the command timeout.
    """
    started = time.monotonic()
    if env.api is None or target.kubeconfig is None:
        raise NotNative("no kubeconfig named for the native path")
    kubeconfig = Path(target.kubeconfig)
    namespace = params.namespace or (await env.api.endpoint(kubeconfig, target.context)).namespace
    path = "/api/v1/events" if params.all_namespaces else f"/api/v1/namespaces/{namespace}/events"
    query = {"limit": CHUNK}
    if params.for_object is not None:
        query["fieldSelector"] = await _for_selector(env, kubeconfig, target, params.for_object)
    events: list[dict[str, Any]] = []
    while True:
        document = await read_document(env, target, path, query)
        events += [e for e in document.get("items") or [] if _wanted(e, params.types)]
        token = (document.get("metadata") or {}).get("continue")
        if not token:
            break
        query = {**query, "continue": str(token)}
    if not events:
        where = "." if params.all_namespaces else f" in {namespace} namespace."
        return result_of(argv, 0, "", f"No events found{where}\n", env, started)
    stdout = table(events, across=params.all_namespaces, now=datetime.now(UTC))
    return result_of(argv, 0, stdout, "", env, started)

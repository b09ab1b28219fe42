"""The native `k8s_events` prints exactly what the real `kubectl events` prints.

Each case runs the same parameters both ways against the session's sandbox: kubectl from
`.tools/bin` through the real runner, and the native path through the pooled client, and
compares stdout, stderr and exit code byte for byte. kubectl computes the LAST SEEN ages on
the client from its own clock, as the native path does, so the two differ only when a second
ticks over between the reads: a case passes when one of a few back-to-back rounds is
identical. A case the native path does not serve raises `NotNative` and fails: every case
here is one it claims. The printer's own rules (ages, series, sorting, fallbacks) are checked
on hand-made events below.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from opsgate.errors import NotNative
from opsgate.mcp.client import ToolClient
from opsgate.mcp.server import create_server
from opsgate.tools import registry
from opsgate.tools.base import CommandResult, ToolEnv
from opsgate.tools.command import Target
from opsgate.tools.kubectl import params as p
from opsgate.tools.kubectl import reads
from opsgate.tools.native import events as native_events
from tests.fixtures.mcp import MemorySpentApprovals
from tests.fixtures.sandbox import SandboxInfo, kubectl, tool_env_for

CASES: list[dict[str, Any]] = [
    {"namespace": "shop"},
    {"namespace": "shop", "types": "Warning"},
    {"namespace": "shop", "types": "Normal"},
    {"all_namespaces": True},
    {"all_namespaces": True, "types": "Warning"},
    {"namespace": "kube-system"},
    {},
    {"namespace": "no-such-namespace"},
    {"all_namespaces": True, "for_object": "pod/no-such-pod"},
    {"namespace": "shop", "for_object": "deployment/api"},
    {"namespace": "shop", "for_object": "deploy/api", "types": "Normal"},
    {"namespace": "shop", "for_object": "pods/no-such-pod"},
]


def _case_id(case: dict[str, Any]) -> str:
    return "-".join(f"{key}={value}" for key, value in case.items()) or "default"


@pytest.fixture(scope="module")
def env(sandbox: SandboxInfo) -> ToolEnv:
    built = tool_env_for(sandbox)
    assert built.api is not None, "the native path is on by default"
    return built


def _triple(result: CommandResult) -> tuple[int, str, str]:
    return result.exit_code, result.stdout, result.stderr


async def _compare(env: ToolEnv, params: p.EventsParams) -> tuple[int, str, str]:
    target = Target.of(env, "kubectl", params.context)
    argv = reads.k8s_events(params, target)
    rounds = []
    for _ in range(3):
        spawned = _triple(await env.runner.run(argv, timeout_s=30))
        native = _triple(await native_events.k8s_events(params, env, target, argv))
        if native == spawned:
            return native
        rounds.append((spawned, native))
    spawned, native = rounds[-1]
    assert native == spawned
    return native


@pytest.mark.parametrize("case", CASES, ids=_case_id)
async def test_native_events_print_what_kubectl_prints(env: ToolEnv, case: dict[str, Any]) -> None:
    await _compare(env, p.EventsParams.model_validate(case))


async def test_the_corpus_prints_events_and_not_only_empty_lists(env: ToolEnv) -> None:
    code, stdout, _ = await _compare(env, p.EventsParams(all_namespaces=True))
    assert code == 0
    assert stdout.startswith("NAMESPACE   LAST SEEN")
    assert len(stdout.splitlines()) > 2


async def test_a_pod_s_events_are_read_through_its_field_selector(env: ToolEnv) -> None:
    listed = await env.runner.run(
        [*Target.of(env, "kubectl", None).head(), "get", "pods", "-n", "shop", "-o", "name"],
        timeout_s=30,
    )
    pod = listed.stdout.splitlines()[0]
    _, stdout, _ = await _compare(env, p.EventsParams(namespace="shop", for_object=pod))
    lines = stdout.splitlines()[1:]
    assert lines, f"the sandbox records events about {pod}"
    assert all(f" Pod/{pod.partition('/')[2]} " in line for line in lines)


async def test_the_tool_runs_native_through_the_mcp_server_and_says_so(
    sandbox: SandboxInfo,
) -> None:
    server = create_server(
        tool_env_for(sandbox), registry.all_tools(), KEY, spent=MemorySpentApprovals()
    )
    async with ToolClient.in_memory(server) as client:
        native = await client.call("k8s_events", {"namespace": "shop", "types": "Warning"})
        unknown = await client.call(
            "k8s_events", {"namespace": "shop", "for_object": "gadgets/nothing"}
        )
    assert native.ok
    assert native.data == {"read_path": "native"}
    assert native.command is not None
    assert " events --namespace shop --types Warning" in native.command
    spawned = kubectl(sandbox, "events", "--namespace", "shop", "--types", "Warning")
    # The same columns (their widths follow the ages, which tick between the two reads; the
    # corpus above compares bytes over several rounds).
    assert native.text.splitlines()[0].split() == spawned.stdout.splitlines()[0].split()
    # A type discovery cannot place is left to kubectl, which words its own error.
    assert unknown.data == {
        "read_path": "kubectl",
        "reason": "the resource type 'gadgets' is not in the cluster's discovery",
    }
    assert not unknown.ok
    assert "gadgets" in unknown.text


KEY = b"native-events-approval-key-0123456789abc"
NOW = datetime(2026, 12, 2, 1, 0, 0, tzinfo=UTC)


def _at(seconds_ago: float) -> str:
    return (NOW - timedelta(seconds=seconds_ago)).isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (-3, "<invalid>"),
        (-1.5, "0s"),
        (0, "0s"),
        (119, "119s"),
        (120, "2m"),
        (302, "5m2s"),
        (600, "10m"),
        (3 * 3600 - 1, "179m"),
        (3 * 3600 + 60, "3h1m"),
        (8 * 3600 + 59, "8h"),
        (3 * 86400 + 4 * 3600, "3d4h"),
        (9 * 86400, "9d"),
        (2 * 365 * 86400 + 10 * 86400, "2y10d"),
        (3 * 365 * 86400, "3y"),
        (9 * 365 * 86400 + 5 * 86400, "9y"),
    ],
)
def test_ages_are_printed_as_kubectl_s_human_duration(seconds: float, shown: str) -> None:
    assert native_events.human_duration(seconds) == shown


def _event(name: str, **fields: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": "shop"},
        "involvedObject": {"kind": "Pod", "name": name},
        "type": "Normal",
        "reason": "Pulled",
        "message": f"about {name}",
        **fields,
    }


def test_series_counts_and_missing_times_print_as_kubectl_s_interval() -> None:
    series = {"count": 4, "lastObservedTime": _at(3)}
    assert native_events.last_seen(_event("a", eventTime=_at(120), series=series), NOW) == (
        "3s (x4 over 2m)"
    )
    counted = _event("b", firstTimestamp=_at(600), lastTimestamp=_at(5), count=7)
    assert native_events.last_seen(counted, NOW) == "5s (x7 over 10m)"
    assert native_events.last_seen(_event("c", count=1), NOW) == "<unknown>"


def test_events_sort_by_series_then_last_timestamp_then_event_time() -> None:
    events = [
        _event("late", lastTimestamp=_at(1)),
        _event("series", lastTimestamp=_at(0), series={"count": 2, "lastObservedTime": _at(50)}),
        _event("micro", eventTime=_at(30)),
        _event("never"),
    ]
    text = native_events.table(events, across=False, now=NOW)
    names = [line.split()[-1] for line in text.splitlines()[1:]]
    assert names == ["never", "series", "micro", "late"]


def test_a_message_is_trimmed_as_go_trims_it_and_a_line_break_falls_back() -> None:
    text = native_events.table([_event("a", message="  padded \u00a0")], across=False, now=NOW)
    assert text.splitlines()[1].endswith("Pod/a    padded")
    with pytest.raises(NotNative, match="line break"):
        native_events.table([_event("a", message="two\nlines")], across=False, now=NOW)


def test_equal_times_are_ordered_as_go_s_unstable_sort_orders_them() -> None:
    # Traced through Go's pdqsort: the pivot (index 6) is swapped to the front and stays
    # there, the later ones are insertion-sorted; a stable sort would put e1 first.
    events = [_event("e0", lastTimestamp=_at(1))]
    events += [_event(f"e{i}", lastTimestamp=_at(5)) for i in range(1, 13)]
    text = native_events.table(events, across=False, now=NOW)
    names = [line.split()[-1] for line in text.splitlines()[1:]]
    assert names == ["e6", *(f"e{i}" for i in (1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12)), "e0"]
    # Up to 12 elements Go insertion-sorts, which keeps the server's order of equal times.
    text = native_events.table(events[1:], across=False, now=NOW)
    assert [line.split()[-1] for line in text.splitlines()[1:]] == [f"e{i}" for i in range(1, 13)]

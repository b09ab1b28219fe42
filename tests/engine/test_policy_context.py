"""Classification policy over the real registry, and what enters the model's context."""

from __future__ import annotations

from opsgate.domain.canonical import call_hash
from opsgate.engine import history, policy
from opsgate.engine.models.base import ModelMessage, ModelToolCall
from opsgate.tools import registry

TOOLS = registry.all_tools()
ALLOWED = ["prod-eu", "staging"]


def _classify(tool: str, args: dict[str, object]) -> policy.ClassifiedCall:
    return policy.classify(TOOLS, "c1", tool, args, ALLOWED)


def test_reads_are_reads_and_the_context_is_filled_by_the_engine() -> None:
    call = _classify("k8s_get", {"resource": "pods", "namespace": "shop"})
    assert call.error is None
    assert call.classification == "read"
    assert call.context == "prod-eu"
    assert call.args["context"] == "prod-eu"
    assert call.call_hash == call_hash("k8s_get", call.args, "prod-eu")


def test_mutations_and_destructive_calls_are_marked() -> None:
    scale = _classify("k8s_scale", {"resource": "deployment/api", "replicas": 2})
    assert (scale.classification, scale.destructive) == ("mutation", False)
    delete = _classify("k8s_delete", {"resource": "deployment/api"})
    assert (delete.classification, delete.destructive) == ("mutation", True)


def test_exec_is_classified_per_call() -> None:
    reading = _classify("k8s_exec", {"pod": "api-1", "command": ["cat", "/etc/hostname"]})
    writing = _classify("k8s_exec", {"pod": "api-1", "command": ["rm", "-rf", "/data"]})
    assert reading.classification == "read"
    assert writing.classification == "mutation"


def test_a_context_outside_the_conversation_is_refused() -> None:
    call = _classify("k8s_get", {"resource": "pods", "context": "prod-us"})
    assert call.error is not None
    assert "'prod-us' is not allowed" in call.error
    allowed = _classify("k8s_get", {"resource": "pods", "context": "staging"})
    assert allowed.error is None
    assert allowed.context == "staging"


def test_unknown_tools_and_bad_arguments_fail_closed_without_echoing_values() -> None:
    unknown = _classify("k8s_nuke", {})
    assert unknown.error == "no tool named 'k8s_nuke'"
    assert unknown.classification == "mutation"
    bad = _classify("k8s_scale", {"resource": "deployment/api", "replicas": "; rm -rf /"})
    assert bad.error is not None
    assert "replicas" in bad.error
    assert "rm -rf" not in bad.error
    extra = _classify("k8s_get", {"resource": "pods", "kubeconfig": "/etc/shadow"})
    assert extra.error is not None
    assert "kubeconfig" in extra.error


def test_cap_text_keeps_head_and_tail_and_says_what_was_cut() -> None:
    text = "HEAD" + "x" * 10_000 + "TAIL"
    capped = history.cap_text(text, 500)
    assert len(capped) <= 500
    assert capped.startswith("HEAD")
    assert capped.endswith("TAIL")
    assert "characters cut" in capped
    assert history.cap_text("short", 500) == "short"


def test_trimming_keeps_system_prompt_and_request_and_shortens_old_results() -> None:
    call = ModelToolCall(id="t1", name="k8s_logs", args={})
    messages = [
        ModelMessage(role="system", content="S" * 400),
        ModelMessage(role="user", content="old question " * 200),
        ModelMessage(role="assistant", content="old answer " * 200),
        ModelMessage(role="user", content="current request"),
        ModelMessage(role="assistant", content="", tool_calls=[call]),
        ModelMessage(role="tool", content="log line\n" * 2000, tool_call_id="t1"),
    ]
    trimmed = history.trim_history(messages, budget_tokens=400)
    assert trimmed[0] == messages[0]
    assert [m.content for m in trimmed if m.role == "user"] == ["current request"]
    assert trimmed[-1].tool_call_id == "t1"
    assert trimmed[-1].content == history.TRIMMED_NOTE
    assert history.trim_history(messages, budget_tokens=1_000_000) == messages

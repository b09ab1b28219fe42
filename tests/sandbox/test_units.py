"""The sandbox's pure parts: patches, selectors, protobuf decoding, the store and its history."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from opsgate.sandbox.apiserver import apply, patch, selectors
from opsgate.sandbox.apiserver.store import Store, StoreFrozen
from opsgate.sandbox.http import protobuf


def test_strategic_merge_merges_lists_by_key_and_honours_directives() -> None:
    target = {
        "containers": [{"name": "a", "image": "x:1"}, {"name": "b", "image": "y:1"}],
        "args": ["1", "2"],
    }
    result = patch.strategic_merge(
        target,
        {
            "containers": [
                {"name": "b", "image": "y:2"},
                {"name": "a", "$patch": "delete"},
                {"name": "c", "image": "z"},
            ],
            "args": ["3"],
            "$setElementOrder/containers": [{"name": "b"}],
        },
    )
    assert result == {
        "containers": [{"name": "b", "image": "y:2"}, {"name": "c", "image": "z"}],
        "args": ["3"],
    }
    assert patch.strategic_merge({"a": {"b": 1, "c": 2}}, {"a": {"b": None}}) == {"a": {"c": 2}}


def test_merge_patch_replaces_lists_and_removes_nulls() -> None:
    assert patch.merge_patch(
        {"a": [1, 2], "b": 1, "c": {"d": 1}}, {"a": [3], "b": None, "c": {"e": 2}}
    ) == {
        "a": [3],
        "c": {"d": 1, "e": 2},
    }


def test_json_patch_operations_and_failed_test() -> None:
    doc = {"spec": {"replicas": 1, "list": ["a"]}}
    ops = [
        {"op": "replace", "path": "/spec/replicas", "value": 3},
        {"op": "add", "path": "/spec/list/-", "value": "b"},
        {"op": "copy", "from": "/spec/replicas", "path": "/spec/copy"},
        {"op": "move", "from": "/spec/copy", "path": "/spec/moved"},
        {"op": "remove", "path": "/spec/list/0"},
        {"op": "test", "path": "/spec/moved", "value": 3},
    ]
    assert patch.json_patch(doc, ops) == {"spec": {"replicas": 3, "list": ["b"], "moved": 3}}
    assert doc == {"spec": {"replicas": 1, "list": ["a"]}}
    with pytest.raises(patch.PatchError):
        patch.json_patch(doc, [{"op": "test", "path": "/spec/replicas", "value": 2}])
    with pytest.raises(patch.PatchError):
        patch.json_patch(doc, [{"op": "replace", "path": "/spec/missing", "value": 2}])


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("app=web", True),
        ("app==web,tier!=db", True),
        ("app in (web, api)", True),
        ("app notin (web)", False),
        ("tier", False),
        ("!tier", True),
        ("app=api", False),
    ],
)
def test_label_selector(selector: str, expected: bool) -> None:
    obj = {"metadata": {"labels": {"app": "web"}}}
    assert selectors.label_selector(selector)(obj) is expected


def test_field_selector_on_nested_fields() -> None:
    pod = {
        "metadata": {"name": "p", "namespace": "n"},
        "spec": {"nodeName": "w1"},
        "status": {"phase": "Running"},
    }
    assert selectors.field_selector("spec.nodeName=w1,status.phase!=Failed")(pod)
    assert not selectors.field_selector("metadata.name=q")(pod)
    with pytest.raises(ValueError, match="invalid field selector"):
        selectors.field_selector("nonsense")


def _field(number: int, payload: bytes) -> bytes:
    return bytes([(number << 3) | 2, len(payload)]) + payload


def test_protobuf_secret_envelope_decodes_to_json() -> None:
    entry = _field(1, b"token") + _field(2, b"abc")
    secret = _field(1, _field(1, b"creds") + _field(3, b"ns")) + _field(2, entry) + _field(3, b"")
    envelope = (
        protobuf.MAGIC + _field(1, _field(1, b"v1") + _field(2, b"Secret")) + _field(2, secret)
    )
    assert protobuf.decode(envelope) == {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "creds", "namespace": "ns"},
        "data": {"token": base64.b64encode(b"abc").decode()},
    }
    with pytest.raises(protobuf.ProtobufError):
        protobuf.decode(b"{}")


def test_store_versions_history_and_persistence(tmp_path: Path) -> None:
    store = Store()
    first = store.put(
        "configmaps", {"metadata": {"name": "a", "namespace": "n"}, "data": {"k": "1"}}
    )
    second = store.put(
        "configmaps", {"metadata": {"name": "a", "namespace": "n"}, "data": {"k": "2"}}
    )
    assert int(second["metadata"]["resourceVersion"]) > int(first["metadata"]["resourceVersion"])
    assert second["metadata"]["uid"] == first["metadata"]["uid"]
    assert second["metadata"]["generation"] == 2
    store.delete("configmaps", "n", "a")
    events = store.since("configmaps", 0)
    assert events is not None
    assert [e.type for e in events] == ["ADDED", "MODIFIED", "DELETED"]
    store.put("configmaps", {"metadata": {"name": "b", "namespace": "n"}})
    path = tmp_path / "state.json"
    store.save(path)
    restored = Store()
    restored.load(path)
    assert [o["metadata"]["name"] for o in restored.list("configmaps")] == ["b"]
    assert restored.revision == store.revision


def test_server_side_apply_removes_what_the_manager_stopped_setting() -> None:
    first = {
        "metadata": {"name": "d", "labels": {"a": "1", "b": "2"}},
        "spec": {"containers": [{"name": "app", "image": "x:1"}, {"name": "side", "image": "y:1"}]},
    }
    applied = apply.server_side_apply(None, first, "helm")
    applied["metadata"]["labels"]["other"] = "kept"  # set by someone else
    second = {
        "metadata": {"name": "d", "labels": {"a": "1"}},
        "spec": {"containers": [{"name": "app", "image": "x:2"}]},
    }
    result = apply.server_side_apply(applied, second, "helm")
    assert result["metadata"]["labels"] == {"a": "1", "other": "kept"}
    assert result["spec"]["containers"] == [{"name": "app", "image": "x:2"}]
    assert [m["manager"] for m in result["metadata"]["managedFields"]] == ["helm"]
    assert (
        'k:{"name":"app"}'
        in result["metadata"]["managedFields"][0]["fieldsV1"]["f:spec"]["f:containers"]
    )


def test_a_read_only_store_refuses_every_write_and_stamps_without_storing() -> None:
    store = Store()
    stored = store.put("configmaps", {"metadata": {"name": "a", "namespace": "n"}, "data": {}})
    with store.read_only():
        with pytest.raises(StoreFrozen):
            store.put("configmaps", {"metadata": {"name": "b", "namespace": "n"}})
        with pytest.raises(StoreFrozen):
            store.delete("configmaps", "n", "a")
        would = store.stamped(
            "configmaps", {"metadata": {"name": "a", "namespace": "n"}, "spec": 1}
        )
    assert would["metadata"]["resourceVersion"] == stored["metadata"]["resourceVersion"]
    assert would["metadata"]["generation"] == 2
    assert store.revision == int(stored["metadata"]["resourceVersion"])
    assert [o["metadata"]["name"] for o in store.list("configmaps")] == ["a"]
    store.put("configmaps", {"metadata": {"name": "b", "namespace": "n"}})

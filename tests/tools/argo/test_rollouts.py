"""Pure Rollout logic: the patches the Argo tools send and the summaries the model reads."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from opsgate.errors import ToolFailed
from opsgate.tools.argo import rollouts


def rollout(**status: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "checkout", "namespace": "shop", "uid": "u1"},
        "spec": {
            "replicas": 4,
            "strategy": {
                "canary": {
                    "steps": [{"setWeight": 25}, {"pause": {}}, {"setWeight": 50}, {"pause": {}}]
                }
            },
            "template": {
                "metadata": {"labels": {"app": "checkout"}},
                "spec": {
                    "containers": [
                        {"name": "side", "image": "s:1"},
                        {"name": "app", "image": "c:2"},
                    ]
                },
            },
        },
        "status": status,
    }


def replicaset(revision: int, image: str, pod_hash: str) -> dict[str, Any]:
    return {
        "metadata": {
            "name": f"checkout-{pod_hash}",
            "labels": {"rollouts-pod-template-hash": pod_hash, "app": "checkout"},
            "annotations": {"rollout.argoproj.io/revision": str(revision)},
            "ownerReferences": [{"kind": "Rollout", "name": "checkout", "uid": "u1"}],
        },
        "spec": {
            "replicas": 3,
            "template": {
                "metadata": {"labels": {"app": "checkout", "rollouts-pod-template-hash": pod_hash}},
                "spec": {"containers": [{"name": "app", "image": image}]},
            },
        },
        "status": {"readyReplicas": 3},
    }


def test_promote_of_a_step_paused_rollout_clears_its_pause_conditions() -> None:
    paused = rollout(currentStepIndex=1, pauseConditions=[{"reason": "CanaryPauseStep"}])
    status_patch, spec_patch = rollouts.promote_patches(paused, full=False)
    assert status_patch == {"status": {"pauseConditions": None}}
    assert spec_patch is None


def test_promote_of_a_manually_paused_rollout_also_unpauses_the_spec() -> None:
    paused = rollout(currentStepIndex=1, pauseConditions=[{"reason": "CanaryPauseStep"}])
    paused["spec"]["paused"] = True
    status_patch, spec_patch = rollouts.promote_patches(paused, full=False)
    assert status_patch == {"status": {"pauseConditions": None}}
    assert spec_patch == {"spec": {"paused": False}}


def test_promote_of_a_running_rollout_skips_the_current_step() -> None:
    status_patch, spec_patch = rollouts.promote_patches(rollout(currentStepIndex=2), full=False)
    assert status_patch == {"status": {"pauseConditions": None, "currentStepIndex": 3}}
    assert spec_patch is None


def test_promote_full_sets_only_promote_full() -> None:
    canary = rollout(currentStepIndex=1, stableRS="aaa", currentPodHash="bbb")
    assert rollouts.promote_patches(canary, full=True) == ({"status": {"promoteFull": True}}, None)


def test_promote_full_of_a_stable_rollout_is_refused() -> None:
    with pytest.raises(ToolFailed, match="already fully promoted"):
        rollouts.promote_patches(rollout(stableRS="aaa", currentPodHash="aaa"), full=True)


def test_promote_past_the_last_step_is_refused() -> None:
    with pytest.raises(ToolFailed, match="no step left"):
        rollouts.promote_patches(rollout(currentStepIndex=4), full=False)


def test_set_image_patch_targets_the_named_container_and_tests_its_name() -> None:
    ops = rollouts.set_image_patch(rollout(), "app", "c:3")
    assert ops == [
        {"op": "test", "path": "/spec/template/spec/containers/1/name", "value": "app"},
        {"op": "replace", "path": "/spec/template/spec/containers/1/image", "value": "c:3"},
    ]


def test_set_image_of_an_unknown_container_names_the_existing_ones() -> None:
    with pytest.raises(ToolFailed, match="'side', 'app'"):
        rollouts.set_image_patch(rollout(), "nope", "c:3")


def test_undo_restores_the_previous_revision_without_its_pod_hash() -> None:
    sets = [replicaset(1, "c:1", "aaa"), replicaset(2, "c:2", "bbb")]
    patch = rollouts.undo_patch(rollout(), sets, None)
    assert [(op["op"], op["path"]) for op in patch] == [("replace", "/spec/template")]
    template = patch[0]["value"]
    assert template["spec"]["containers"][0]["image"] == "c:1"
    assert "rollouts-pod-template-hash" not in template["metadata"]["labels"]


def test_undo_to_the_running_template_is_refused() -> None:
    sets = [replicaset(1, "c:1", "aaa"), replicaset(2, "c:2", "bbb")]
    current = rollout()
    current["spec"]["template"] = sets[0]["spec"]["template"]
    with pytest.raises(ToolFailed, match="already runs the template of revision 1"):
        rollouts.undo_patch(current, sets, None)


def test_undo_to_a_missing_revision_is_refused() -> None:
    with pytest.raises(ToolFailed, match="no revision 7"):
        rollouts.undo_patch(rollout(), [replicaset(1, "c:1", "aaa")], 7)


def test_undo_without_history_is_refused() -> None:
    with pytest.raises(ToolFailed, match="no previous revision"):
        rollouts.undo_patch(rollout(), [replicaset(1, "c:1", "aaa")], None)


def test_restart_patch_is_an_rfc3339_time() -> None:
    patch = rollouts.restart_patch(datetime(2026, 11, 25, 18, 0, 5, tzinfo=UTC))
    assert patch == {"spec": {"restartAt": "2026-11-25T18:00:05Z"}}


def test_summary_shows_step_weight_pause_and_revisions() -> None:
    current = rollout(
        phase="Paused",
        currentStepIndex=1,
        pauseConditions=[{"reason": "CanaryPauseStep"}],
        stableRS="aaa",
        currentPodHash="bbb",
        canary={"weights": {"canary": {"weight": 25}}},
    )
    text = rollouts.summarize(current, [replicaset(1, "c:1", "aaa"), replicaset(2, "c:2", "bbb")])
    assert "Status:     Paused" in text
    assert "Step:     1/4" in text
    assert "canary 25%" in text
    assert "CanaryPauseStep" in text
    assert "revision 2 checkout-bbb [canary]" in text
    assert "revision 1 checkout-aaa [stable]" in text


def test_canary_weight_falls_back_to_the_last_set_weight_step() -> None:
    assert rollouts.canary_weight(rollout(currentStepIndex=3)) == 50


def test_canary_weight_of_a_stable_rollout_is_full() -> None:
    healthy = rollout(currentStepIndex=4, stableRS="aaa", currentPodHash="aaa")
    assert rollouts.canary_weight(healthy) == 100


def test_canary_weight_without_traffic_routing_after_an_abort_is_zero() -> None:
    # Real Argo fills status.canary.weights only with traffic routing; an abort resets the step.
    aborted = rollout(currentStepIndex=0, abort=True, stableRS="aaa", currentPodHash="bbb")
    assert rollouts.canary_weight(aborted) == 0


def test_summary_of_an_aborted_rollout_says_so_instead_of_paused() -> None:
    aborted = rollout(
        phase="Degraded", abort=True, currentStepIndex=0, pauseConditions=[{"reason": "X"}]
    )
    text = rollouts.summarize(aborted, [])
    assert "Aborted:    true" in text
    assert "Paused:" not in text

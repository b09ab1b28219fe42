"""How `opsgate doctor` words a SelfSubjectRulesReview and who a context acts as."""

from __future__ import annotations

from opsgate.cli.identity import describe_user, summarise_rules

SELF = {
    "verbs": ["create"],
    "apiGroups": ["authorization.k8s.io"],
    "resources": ["selfsubjectrulesreviews"],
}


def test_get_list_watch_only_is_read_only() -> None:
    rules = [
        SELF,
        {"verbs": ["get", "list", "watch"], "apiGroups": ["", "apps"], "resources": ["pods"]},
    ]
    assert summarise_rules(rules) == "read-only: pods, pods.apps"


def test_changing_verbs_are_named_per_kind() -> None:
    rules = [
        {"verbs": ["get", "patch"], "apiGroups": ["apps"], "resources": ["deployments"]},
        {"verbs": ["delete"], "apiGroups": [""], "resources": ["configmaps"]},
    ]
    assert (
        summarise_rules(rules)
        == "may change configmaps (delete), deployments.apps (patch); reads 1 kinds"
    )


def test_only_self_reviews_is_nothing() -> None:
    assert summarise_rules([SELF]) == "may do nothing here beyond reviewing itself"


def test_a_wildcard_rule_is_everything() -> None:
    assert summarise_rules([{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}]).startswith(
        "may do everything"
    )


def test_serviceaccounts_and_kubeconfig_users_are_told_apart() -> None:
    assert describe_user("system:serviceaccount:ops:bot", "in-cluster") == "ServiceAccount ops/bot"
    assert describe_user("alice", "dev") == "kubeconfig user 'dev' (as 'alice')"

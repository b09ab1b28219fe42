"""Argo Rollouts emulation (placeholder until the controller lands)."""

from __future__ import annotations

from opsgate.sandbox.cluster import Cluster
from opsgate.sandbox.store import Store


def reconcile_all(store: Store) -> bool:
    """Drive every Rollout; True when anything changed."""
    return False


def seed(cluster: Cluster) -> None:
    """Add the demo Rollout."""

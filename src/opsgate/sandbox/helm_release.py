"""Helm release seeding (placeholder)."""

from __future__ import annotations

from opsgate.sandbox.cluster import Cluster


def seed(cluster: Cluster) -> None:
    """Add the demo Helm release."""

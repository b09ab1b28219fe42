"""The sandbox's controller loop.

`apiserver.cluster` calls `reconcile(store)` after every write and on the server's one-second
tick; it runs each controller (one module each: garbage collection, namespaces, autoscalers,
deployments, replica sets, stateful sets, daemon sets, cron jobs, jobs, volumes, the
scheduler, the kubelet, endpoints...) until nothing changes. Controllers take one step per
pass as the real ones do, so a rolling update of healthy pods finishes within one `reconcile`
while one of failing pods stops where the real controller would.
"""

from __future__ import annotations

from collections.abc import Callable

from opsgate.sandbox.apiserver.store import Obj, Store
from opsgate.sandbox.containers import kubelet
from opsgate.sandbox.controllers import (
    autoscaling,
    cronjobs,
    deployments,
    endpoints,
    garbage,
    jobs,
    namespaces,
    replicasets,
    scheduler,
    statefulsets,
    storage,
    workloads,
)

Controller = Callable[[Store], bool]
ROUNDS = 64
"""Passes per `reconcile` at most: a rolling update of a few hundred replicas needs a dozen;
the bound keeps a controller bug from spinning forever."""


def _each(key: str, fn: Callable[[Store, Obj], bool]) -> Controller:
    def run(store: Store) -> bool:
        changed = False
        names = [
            (o["metadata"].get("namespace", ""), o["metadata"]["name"]) for o in store.scan(key)
        ]
        for namespace, name in names:
            current = store.get(key, namespace, name)
            if current is not None:
                changed |= fn(store, current)
        return changed

    return run


CONTROLLERS: list[Controller] = [
    garbage.collect_garbage,
    namespaces.reconcile,
    _each(autoscaling.KEY, autoscaling.reconcile_hpa),
    _each(deployments.KEY, deployments.reconcile_deployment),
    _each("replicasets.apps", replicasets.reconcile_replicaset),
    _each(statefulsets.KEY, statefulsets.reconcile_statefulset),
    _each("daemonsets.apps", workloads.reconcile_daemonset),
    _each(cronjobs.KEY, cronjobs.reconcile_cronjob),
    _each("jobs.batch", jobs.reconcile_job),
    storage.reconcile,
    scheduler.reconcile_pods,
    kubelet.reconcile,
    endpoints.reconcile,
]


def reconcile(store: Store, extra: list[Controller] | None = None, rounds: int = ROUNDS) -> None:
    """Run every controller until the cluster is stable (bounded, so a bug cannot spin forever)."""
    controllers = [*CONTROLLERS, *(extra or [])]
    for _ in range(rounds):
        if not any([controller(store) for controller in controllers]):
            return

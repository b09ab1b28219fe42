"""The object store of the sandbox: objects by resource/namespace/name, versions, watches.

The API routes (`api`) read and write through it, controllers react to its changes, and
`server` saves and loads it as one JSON file for `--state`.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import json
import uuid
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TypeVar, cast

Obj = dict[str, Any]
T = TypeVar("T")
EventType = Literal["ADDED", "MODIFIED", "DELETED"]
Key = tuple[str, str, str]
"""(resource key, namespace, name); the namespace is `""` for cluster-scoped objects."""


def clone(obj: T) -> T:
    """A deep copy of JSON-shaped data (several times faster than `copy.deepcopy`)."""
    return cast(T, json.loads(json.dumps(obj)))


def now_iso() -> str:
    """The current time in the API's RFC 3339 form."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: str | None) -> datetime:
    """Parse an RFC 3339 timestamp written by `now_iso` (now when missing)."""
    if not value:
        return datetime.now(UTC)
    return datetime.strptime(value[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)


class StoreFrozen(RuntimeError):
    """A write was attempted while the store refuses writes (inside a dry run): a sandbox bug."""


@dataclass
class WatchEvent:
    """One change, as streamed to watchers."""

    resource_version: int
    resource_key: str
    type: EventType
    object: Obj


@dataclass
class Store:
    """In-memory objects with a global resourceVersion counter and watch fan-out."""

    objects: dict[Key, Obj] = field(default_factory=dict)
    by_key: dict[str, dict[tuple[str, str], Obj]] = field(default_factory=dict)
    """The same objects indexed by resource key, so a controller's scan reads only its kind."""
    revision: int = 1
    history: deque[WatchEvent] = field(default_factory=lambda: deque(maxlen=5000))
    watchers: list[asyncio.Queue[WatchEvent]] = field(default_factory=list)
    frozen: bool = False
    """Set by `read_only`: every write raises `StoreFrozen`."""
    served: dict[tuple[str, str], deque[tuple[datetime, str]]] = field(default_factory=dict)
    """Access-log lines of requests simulated containers answered (`containers.network`), by
    pod uid and container name, for their logs; not objects, so never watched or saved."""

    def get(self, key: str, namespace: str, name: str) -> Obj | None:
        """A deep copy of one object, or None."""
        obj = self.objects.get((key, namespace, name))
        return clone(obj) if obj is not None else None

    def peek(self, key: str, namespace: str, name: str) -> Obj | None:
        """The stored object itself (no copy), or None: for reads only, never mutate it."""
        return self.objects.get((key, namespace, name))

    def list(self, key: str, namespace: str | None = None) -> builtins.list[Obj]:
        """Deep copies of every object of a resource, optionally in one namespace, sorted."""
        found = [clone(obj) for obj in self.scan(key, namespace)]
        return sorted(
            found, key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"])
        )

    def scan(self, key: str, namespace: str | None = None) -> builtins.list[Obj]:
        """The stored objects themselves (no copies): for read-only use by controllers."""
        objects = self.by_key.get(key, {})
        if namespace is None:
            return list(objects.values())
        return [obj for (ns, _), obj in objects.items() if ns == namespace]

    def all_objects(self) -> builtins.list[tuple[str, Obj]]:
        """Every stored object with its resource key (shallow: callers must not mutate)."""
        return [(k, obj) for (k, _, _), obj in self.objects.items()]

    @contextlib.contextmanager
    def read_only(self) -> Iterator[None]:
        """Refuse every write while the block runs: a dry run must change nothing."""
        self.frozen = True
        try:
            yield
        finally:
            self.frozen = False

    def _writable(self, key: str, obj: Obj | None = None) -> None:
        if self.frozen:
            name = (obj or {}).get("metadata", {}).get("name", "")
            raise StoreFrozen(f"a dry run tried to write {key} {name!r}")

    def _stamp(self, key: str, obj: Obj) -> tuple[Key, Obj | None]:
        """Fill in the metadata the store owns (uid, creation time, generation), in place."""
        meta = obj.setdefault("metadata", {})
        ident = (key, meta.get("namespace", ""), meta["name"])
        existing = self.objects.get(ident)
        if existing is None:
            meta.setdefault("uid", str(uuid.uuid4()))
            meta.setdefault("creationTimestamp", now_iso())
            meta.setdefault("generation", 1)
        else:
            old_meta = existing["metadata"]
            meta["uid"] = old_meta["uid"]
            meta["creationTimestamp"] = old_meta["creationTimestamp"]
            generation = old_meta.get("generation", 1)
            if _spec_of(existing) != _spec_of(obj):
                generation += 1
            meta["generation"] = generation
        return ident, existing

    def stamped(self, key: str, obj: Obj) -> Obj:
        """What `put` would store, without storing it: a dry run's answer.

        The resourceVersion stays the stored object's (a new object has none), as the real
        API server answers a dry run.
        """
        out = clone(obj)
        _, existing = self._stamp(key, out)
        out["metadata"].pop("resourceVersion", None)
        if existing is not None:
            out["metadata"]["resourceVersion"] = existing["metadata"]["resourceVersion"]
        return out

    def put(self, key: str, obj: Obj) -> Obj:
        """Create or replace an object, stamping uid, timestamps and a new resourceVersion."""
        self._writable(key, obj)
        ident, existing = self._stamp(key, obj)
        self.revision += 1
        obj["metadata"]["resourceVersion"] = str(self.revision)
        event: EventType = "ADDED" if existing is None else "MODIFIED"
        stored = clone(obj)
        self.objects[ident] = stored
        self.by_key.setdefault(key, {})[ident[1:]] = stored
        self._emit(key, event, stored)
        return clone(stored)

    def delete(self, key: str, namespace: str, name: str) -> Obj | None:
        """Remove an object; returns what was removed."""
        self._writable(key)
        obj = self.objects.pop((key, namespace, name), None)
        self.by_key.get(key, {}).pop((namespace, name), None)
        if obj is not None:
            self.revision += 1
            # Earlier watch events share the stored dict: never mutate it in place.
            obj = {**obj, "metadata": {**obj["metadata"], "resourceVersion": str(self.revision)}}
            self._emit(key, "DELETED", obj)
        return clone(obj) if obj is not None else None

    def _emit(self, key: str, event_type: EventType, obj: Obj) -> None:
        event = WatchEvent(self.revision, key, event_type, obj)
        self.history.append(event)
        for queue in self.watchers:
            queue.put_nowait(event)

    def since(self, key: str, resource_version: int) -> builtins.list[WatchEvent] | None:
        """Events of a resource after a version; None when history no longer reaches back."""
        truncated = len(self.history) == self.history.maxlen
        if truncated and self.history[0].resource_version > resource_version + 1:
            return None
        return [
            e
            for e in self.history
            if e.resource_key == key and e.resource_version > resource_version
        ]

    def subscribe(self) -> asyncio.Queue[WatchEvent]:
        """A queue receiving every later change."""
        queue: asyncio.Queue[WatchEvent] = asyncio.Queue()
        self.watchers.append(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[WatchEvent]) -> None:
        """Stop delivering changes to a queue."""
        if queue in self.watchers:
            self.watchers.remove(queue)

    def save(self, path: Path) -> None:
        """Write every object to a JSON file (atomically)."""
        data = {
            "revision": self.revision,
            "objects": [[k, obj] for (k, _, _), obj in self.objects.items()],
        }
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(data))
        tmp.replace(path)

    def load(self, path: Path) -> None:
        """Replace the contents with a file written by `save`."""
        data = json.loads(path.read_text())
        self.revision = int(data["revision"])
        self.objects = {}
        self.by_key = {}
        for key, obj in data["objects"]:
            meta = obj["metadata"]
            self.objects[(key, meta.get("namespace", ""), meta["name"])] = obj
            self.by_key.setdefault(key, {})[(meta.get("namespace", ""), meta["name"])] = obj


def _spec_of(obj: Obj) -> Any:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status")}

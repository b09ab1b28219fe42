"""Units: how a simulated container's run ends, what it needs, and what image names exist."""

from __future__ import annotations

from typing import Any

import pytest

from opsgate.sandbox.apiserver.store import Store
from opsgate.sandbox.containers import images, programs


def _pod(container: dict[str, Any], **annotations: str) -> dict[str, Any]:
    meta = {"name": "p", "namespace": "ns", "annotations": annotations}
    return {"metadata": meta, "spec": {"containers": [container]}}


@pytest.mark.parametrize(
    ("bytes_arg", "mebibytes"), [("250M", 250), ("1G", 1024), ("300MB", 300), ("512k", 0.5)]
)
def test_stress_vm_bytes_count_in_binary_units(bytes_arg: str, mebibytes: float) -> None:
    container = {"image": "polinux/stress", "args": ["--vm", "1", "--vm-bytes", bytes_arg]}
    assert programs.memory_need(_pod(container), container) == mebibytes * 1024 * 1024


def test_memory_need_annotation_wins_over_the_image_profile() -> None:
    container = {"image": "nginx:1.27"}
    pod = _pod(container, **{programs.MEMORY_ANNOTATION: "64Mi"})
    assert programs.memory_need(pod, container) == 64 * 1024 * 1024
    assert programs.memory_need(_pod(container), container) == 8 * 1024 * 1024


@pytest.mark.parametrize(
    ("command", "fate", "code"),
    [
        (["sh", "-c", "exit 3"], "crash", 3),
        (["sh", "-c", "echo hi; exit 1"], "crash", 1),
        (["sh", "-c", "exit 0"], "serve", 0),
        (["sh", "-c", "sleep 3600"], "serve", 0),
        (["sh", "-c", "echo exit 1 >/tmp/x; sleep 10"], "serve", 0),
    ],
)
def test_exit_status_of_a_command(command: list[str], fate: str, code: int) -> None:
    container = {"name": "c", "image": "busybox:1.36", "command": command}
    end = programs.outcome(Store(), _pod(container), container)
    assert (end.fate, end.exit_code) == (fate, code)


def test_memory_limit_below_need_is_oomkilled() -> None:
    container = {"name": "c", "image": "mysql:8", "resources": {"limits": {"memory": "256Mi"}}}
    container["env"] = [{"name": "MYSQL_ROOT_PASSWORD", "value": "x"}]
    end = programs.outcome(Store(), _pod(container), container)
    assert (end.fate, end.exit_code, end.reason) == ("crash", 137, "OOMKilled")
    container["resources"]["limits"]["memory"] = "512Mi"
    assert programs.outcome(Store(), _pod(container), container).fate == "serve"


@pytest.mark.parametrize(
    ("image", "exists"),
    [
        ("nginx:1.27", True),
        ("ngnix:1.27", False),
        ("docker.io/library/postgresql:16", False),
        ("ghcr.io/opsgate-demo/ngnix:1", True),
        ("bitnami/nginx:1.25", True),
        ("myapp:2", True),
    ],
)
def test_near_misses_of_library_images_do_not_exist(image: str, exists: bool) -> None:
    assert images.misspelt(image) is not exists

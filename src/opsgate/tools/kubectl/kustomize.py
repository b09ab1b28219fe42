"""`k8s_apply` from a kustomization: its files checked, rendered by `kubectl kustomize`, and
applied as the manifest that rendering printed.

Used by the `k8s_apply` parameter model (`check_files`) and by its run, preview and verify
(`manifest_of`). A kustomization is given either as a directory on the tool server
(`kustomize_dir`) or as its files' content (`kustomization`, file name to text), which are
written to a private temporary directory for the render and removed afterwards. Content must
be URL-free: a remote base or resource (`https://`, `github.com/...`, `git@...`, `?ref=`) or a
Helm chart inflation would fetch from outside what the person approving reads, so it is
refused; a directory is the operator's own and is rendered as it is when the call runs.

Rendering happens again for every recipe (preview, run, verify): the rendered manifest is held
to the same bounds as a manifest given directly, and what runs is `kubectl apply --filename -`
of that rendering, never `kubectl apply -k` (which would render a second time, unchecked).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from opsgate.errors import ToolFailed, truncate
from opsgate.tools.base import ToolEnv
from opsgate.tools.command import WHOLE_OUTPUT_BYTES, Target, display, run_result
from opsgate.tools.kubectl import manifests

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
"""The names kustomize reads a directory's kustomization from."""
MAX_FILES = 64
DIRECTORY_PLACEHOLDER = "<private temp directory>"
"""How the directory holding `kustomization` content is shown: it exists only for the render."""

_FILE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)*")
_REMOTE = re.compile(r"(?i)^([a-z][a-z0-9+.-]*://|git@|(github\.com|gitlab\.com|bitbucket\.org)/)")
_FETCHING_KEYS = frozenset({"helmCharts", "helmGlobals", "helmChartInflationGenerator"})


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)


def _check_kustomization(name: str, text: str) -> None:
    try:
        body = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ValueError(f"{name!r} is not valid YAML: {str(e).splitlines()[0]}") from e
    if not isinstance(body, dict):
        raise ValueError(f"{name!r} must be a YAML mapping (a Kustomization)")
    fetching = sorted(_FETCHING_KEYS & set(body))
    if fetching:
        raise ValueError(f"{name!r} inflates Helm charts ({', '.join(fetching)}), which fetches")
    for value in _strings(body):
        if _REMOTE.match(value.strip()) or "?ref=" in value:
            raise ValueError(
                f"{name!r} names a remote resource {value!r}: content must be URL-free"
            )


def check_files(files: Mapping[str, str]) -> Mapping[str, str]:
    """`kustomization` content, checked: relative file names (no `..`, nothing absolute), a
    kustomization at the top, every kustomization URL-free, within the manifest bound."""
    if not files or len(files) > MAX_FILES:
        raise ValueError(f"must hold 1 to {MAX_FILES} files")
    if not any(name in files for name in KUSTOMIZATION_FILES):
        raise ValueError("must hold a 'kustomization.yaml' at the top")
    total = 0
    for name, text in files.items():
        if len(name) > 253 or not _FILE_NAME.fullmatch(name) or ".." in name.split("/"):
            raise ValueError(
                f"file name {name!r} must be a relative path of letters, digits, '_.-'"
            )
        if "\x00" in text:
            raise ValueError(f"file {name!r} must not contain NUL characters")
        total += len(text.encode("utf-8"))
        if name.rsplit("/", 1)[-1] in KUSTOMIZATION_FILES:
            _check_kustomization(name, text)
    if total > manifests.MAX_MANIFEST_BYTES:
        raise ValueError(f"must be at most {manifests.MAX_MANIFEST_BYTES} bytes in all")
    return files


@contextlib.contextmanager
def private_directory(files: Mapping[str, str]) -> Iterator[str]:
    """A directory only this process can read, holding `files`, removed when the block ends."""
    root = Path(tempfile.mkdtemp(prefix="opsgate-kustomize-"))
    try:
        for name, text in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write(text)
        yield str(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def render_argv(target: Target, directory: str) -> list[str]:
    return [*target.head(), "kustomize", directory]


def shown_render(params: Any, target: Target) -> str:
    """The render command for display (the temp directory of content by a placeholder)."""
    directory = params.kustomize_dir if params.kustomize_dir is not None else DIRECTORY_PLACEHOLDER
    return display(render_argv(target, directory))


async def _render(env: ToolEnv, target: Target, directory: str) -> str:
    result = await run_result(
        env, render_argv(target, directory), stdout_cap_bytes=WHOLE_OUTPUT_BYTES
    )
    if result.timed_out or result.exit_code != 0:
        raise ToolFailed(f"kubectl kustomize failed: {truncate(result.stderr.strip(), 1000)}")
    if result.stdout_truncated:
        raise ToolFailed(f"kubectl kustomize printed over {WHOLE_OUTPUT_BYTES} bytes")
    return result.stdout


async def manifest_of(params: Any, env: ToolEnv) -> str:
    """The manifest `k8s_apply` applies: `manifest` as given, or the kustomization rendered
    and held to the same bounds (objects, sizes, names; big objects need `server_side`).

    Raises:
        ToolFailed: the render failed, or what it printed is not a manifest opsgate applies.
    """
    if params.manifest is not None:
        text: str = params.manifest
        return text
    target = Target.of(env, "kubectl", params.context)
    if params.kustomize_dir is not None:
        rendered = await _render(env, target, params.kustomize_dir)
    else:
        with private_directory(params.kustomization) as directory:
            rendered = await _render(env, target, directory)
    try:
        manifests.check_manifest(rendered)
    except ValueError as e:
        raise ToolFailed(f"the rendered kustomization {e}") from e
    big = [] if params.server_side else manifests.too_big_for_client_side(rendered)
    if big:
        raise ToolFailed(
            f"the rendered {', '.join(big)} is over {manifests.CLIENT_SIDE_APPLY_MAX_BYTES} "
            "bytes: set server_side: true"
        )
    return rendered

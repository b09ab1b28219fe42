"""The Dockerfile and .dockerignore: checked by parsing, as no container engine runs here.

The Dockerfile is read with `dockerfile` (BuildKit's own parser); `.dockerignore` with a small
matcher of its pattern rules (last matching line wins, `!` re-includes, `*` stays within one
path segment, `**` spans any number, a match on a directory covers what is under it).
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import dockerfile
import pytest

from opsgate.settings import PROJECT_ROOT

DOCKERFILE = PROJECT_ROOT / "Dockerfile"
DOCKERIGNORE = PROJECT_ROOT / ".dockerignore"


def commands() -> tuple[dockerfile.Command, ...]:
    return dockerfile.parse_file(str(DOCKERFILE))


def build_args() -> dict[str, str]:
    """The ARG defaults declared before the first FROM (what FROM lines may use)."""
    args: dict[str, str] = {}
    for command in commands():
        if command.cmd == "FROM":
            break
        if command.cmd == "ARG":
            name, _, default = command.value[0].partition("=")
            args[name] = default
    return args


def stages() -> list[list[dockerfile.Command]]:
    """The commands grouped by build stage, each group starting with its FROM."""
    grouped: list[list[dockerfile.Command]] = []
    for command in commands():
        if command.cmd == "FROM":
            grouped.append([])
        if grouped:
            grouped[-1].append(command)
    return grouped


def base_image(stage: list[dockerfile.Command]) -> str:
    image = stage[0].value[0]
    return re.sub(r"\$\{(\w+)\}", lambda m: build_args()[m.group(1)], image)


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    parts = []
    for token in re.split(r"(\*\*/?|\*|\?)", pattern.strip("/")):
        if token.startswith("**"):
            parts.append(".*")
        elif token == "*":
            parts.append("[^/]*")
        elif token == "?":
            parts.append("[^/]")
        else:
            parts.append(re.escape(token))
    return re.compile("".join(parts))


def ignored(path: str) -> bool:
    """Whether Docker leaves `path` (relative to the context) out of the build context."""
    rules = []
    for line in DOCKERIGNORE.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keep = line.startswith("!")
        rules.append((keep, _pattern_regex(line.removeprefix("!"))))
    segments = path.strip("/").split("/")
    prefixes = ["/".join(segments[: i + 1]) for i in range(len(segments))]
    verdict = False
    for keep, regex in rules:
        if any(regex.fullmatch(prefix) for prefix in prefixes):
            verdict = not keep
    return verdict


def context_files(source: str) -> list[Path]:
    """The files of the repository a COPY source names (a file, or a directory's files)."""
    path = PROJECT_ROOT / source
    if path.is_dir():
        tracked = [p for p in path.rglob("*") if p.is_file()]
        return [p for p in tracked if "__pycache__" not in p.parts and p.suffix != ".pyc"]
    return [path]


def test_every_stage_starts_from_a_slim_python_image_pinned_by_tag() -> None:
    for stage in stages():
        image = base_image(stage)
        name, _, tag = image.partition(":")
        assert name == "python", image
        assert re.fullmatch(r"3\.11\.\d+-slim-\w+", tag), f"{image!r} is not a pinned slim tag"


def test_the_build_is_multi_stage_and_the_runtime_copies_only_from_the_build() -> None:
    build, runtime = stages()
    assert build[0].value[-2:] == ("AS", "build")
    copies = [c for c in runtime if c.cmd == "COPY"]
    assert copies
    assert all(c.flags == ("--from=build",) for c in copies), [c.original for c in copies]


def test_the_binaries_come_from_the_setup_script_that_checks_their_digests() -> None:
    build = stages()[0]
    runs = [shlex.split(c.value[0]) for c in build if c.cmd == "RUN"]
    assert ["python", "scripts/install_tools.py"] in runs
    assert any(run[:3] == ["uv", "sync", "--frozen"] and "--no-dev" in run for run in runs)


def test_the_runtime_runs_as_a_fixed_non_root_uid() -> None:
    runtime = stages()[-1]
    users = [c.value[0] for c in runtime if c.cmd == "USER"]
    assert users, "the runtime stage sets no USER"
    uid = users[-1].split(":")[0]
    assert uid.isdigit(), f"USER {users[-1]!r}: a numeric uid lets Kubernetes check runAsNonRoot"
    assert int(uid) != 0


def test_the_entrypoint_is_opsgate_serve_in_exec_form() -> None:
    entrypoints = [c for c in stages()[-1] if c.cmd == "ENTRYPOINT"]
    assert len(entrypoints) == 1
    assert entrypoints[0].json, "a shell-form ENTRYPOINT runs through /bin/sh"
    program, *args = entrypoints[0].value
    assert Path(program).name == "opsgate"
    assert args == ["serve"]
    assert not any(c.cmd == "HEALTHCHECK" for c in commands())


def test_writes_go_to_the_declared_volume() -> None:
    runtime = stages()[-1]
    volumes = [v for c in runtime if c.cmd == "VOLUME" for v in c.value]
    env = dict(
        pair.split("=", 1)
        for c in runtime
        if c.cmd == "ENV"
        for pair in (f"{c.value[i]}={c.value[i + 1]}" for i in range(0, len(c.value), 2))
    )
    assert env["OPSGATE_DATA_DIR"] in volumes
    assert env["HOME"] in volumes, "kubectl and helm write their caches under HOME"
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"


@pytest.mark.parametrize(
    "source",
    sorted(
        {
            source
            for c in dockerfile.parse_file(str(DOCKERFILE))
            if c.cmd == "COPY" and not any(f.startswith("--from") for f in c.flags)
            for source in c.value[:-1]
        }
    ),
)
def test_every_copied_path_exists_and_is_in_the_build_context(source: str) -> None:
    files = context_files(source)
    assert files, f"COPY {source!r}: an empty directory"
    assert all(f.exists() for f in files), f"COPY {source!r}: no such file"
    left_out = [
        str(f.relative_to(PROJECT_ROOT)) for f in files if ignored(str(f.relative_to(PROJECT_ROOT)))
    ]
    assert not left_out, f"COPY {source!r}: .dockerignore leaves out {left_out[:5]}"


@pytest.mark.parametrize(
    "path",
    [
        ".venv/bin/python",
        ".tools/bin/kubectl",
        ".opsgate/keys/approval_key",
        "tests/conftest.py",
        "src/opsgate/__pycache__/x.pyc",
    ],
)
def test_local_state_and_keys_stay_out_of_the_build_context(path: str) -> None:
    assert ignored(path)


def test_the_image_uses_the_uv_and_python_the_setup_pins() -> None:
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    pinned_uv = re.search(r"^UV_VERSION := (\S+)$", makefile, flags=re.MULTILINE)
    assert pinned_uv
    installs = [c.value[0] for c in stages()[0] if c.cmd == "RUN" and "pip install" in c.value[0]]
    assert installs == [f"pip install --no-cache-dir uv=={pinned_uv.group(1)}"]
    requires = re.search(
        r'^requires-python = "(.*)"$',
        (PROJECT_ROOT / "pyproject.toml").read_text(),
        flags=re.MULTILINE,
    )
    assert requires
    assert requires.group(1) == ">=3.11,<3.12", "a new Python range needs a new base image"

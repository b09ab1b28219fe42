"""The real command runner against real child processes (python and coreutils, no shell)."""

from __future__ import annotations

import asyncio
import sys
import textwrap
from pathlib import Path

import pytest

from opsgate.errors import ToolFailed
from opsgate.tools import runner as runner_module
from opsgate.tools.redact import REDACTED
from opsgate.tools.runner import SubprocessRunner

PY = sys.executable
BASE_ENV = {"PATH": "/usr/bin:/bin", "HOME": "/tmp/opsgate-home", "LANG": "C.UTF-8"}


def _runner(**kwargs: float | int) -> SubprocessRunner:
    return SubprocessRunner(env=BASE_ENV, **kwargs)  # type: ignore[arg-type]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


async def test_metacharacters_reach_the_program_literally() -> None:
    result = await _runner().run(["/bin/echo", "$(id); `id` | cat > /tmp/x"])
    assert result.exit_code == 0
    assert result.stdout == "$(id); `id` | cat > /tmp/x\n"


async def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    script = textwrap.dedent(
        f"""
        import subprocess, time
        child = subprocess.Popen(["/bin/sleep", "60"])
        open({str(pid_file)!r}, "w").write(str(child.pid))
        time.sleep(60)
        """
    )
    result = await _runner(timeout_s=30).run([PY, "-c", script], timeout_s=1.0)
    assert result.timed_out
    assert result.exit_code != 0
    assert result.duration_ms < 10_000
    grandchild = int(pid_file.read_text())
    assert not _alive(grandchild)


async def test_output_is_capped_per_stream_with_original_sizes() -> None:
    script = "import sys; sys.stdout.write('a' * 200000); sys.stderr.write('b' * 10)"
    result = await _runner(output_cap_bytes=1024).run([PY, "-c", script])
    assert result.stdout == "a" * 1024
    assert result.stdout_truncated
    assert result.stdout_size == 200000
    assert result.stderr == "b" * 10
    assert not result.stderr_truncated
    assert result.stderr_size == 10


async def test_child_sees_only_allowlisted_environment() -> None:
    runner = SubprocessRunner(
        env={**BASE_ENV, "AWS_SECRET_ACCESS_KEY": "leak-1", "OPSGATE_APPROVAL_KEY": "leak-2"}
    )
    result = await runner.run(
        ["/usr/bin/env"], env={"HELM_CACHE_HOME": "/tmp/helm", "GITHUB_TOKEN": "leak-3"}
    )
    seen = dict(line.split("=", 1) for line in result.stdout.splitlines())
    assert seen == {**BASE_ENV, "HELM_CACHE_HOME": "/tmp/helm"}


def test_child_env_filters_a_full_environment() -> None:
    env = runner_module.child_env({"PATH": "/bin", "SSH_AUTH_SOCK": "/x", "KUBECONFIG": "/k"})
    assert env == {"PATH": "/bin", "KUBECONFIG": "/k"}


async def test_stdin_is_fed_to_the_child() -> None:
    result = await _runner().run(["/bin/cat"], stdin=b"kind: Pod\n")
    assert result.stdout == "kind: Pod\n"


async def test_exit_code_and_stderr_are_reported() -> None:
    result = await _runner().run([PY, "-c", "import sys; sys.stderr.write('boom'); sys.exit(3)"])
    assert (result.exit_code, result.stderr, result.timed_out) == (3, "boom", False)


async def test_output_is_redacted_and_argv_masked() -> None:
    result = await _runner().run(["/bin/echo", "DB_PASSWORD=hunter2", "--token=abc123"])
    assert "hunter2" not in result.stdout
    assert REDACTED in result.stdout
    assert "abc123" not in " ".join(result.argv)


async def test_a_missing_program_raises_tool_failed() -> None:
    with pytest.raises(ToolFailed, match="could not start"):
        await _runner().run(["/nonexistent/kubectl", "get", "pods"])


async def test_an_empty_argv_is_refused() -> None:
    with pytest.raises(ToolFailed):
        await _runner().run([])


def test_no_shell_anywhere_in_the_runner() -> None:
    source = Path(runner_module.__file__).read_text()
    assert "create_subprocess_shell" not in source
    assert "shell=True" not in source


async def test_a_secret_cut_by_the_cap_is_still_redacted() -> None:
    script = textwrap.dedent(
        """
        print("apiVersion: v1")
        print("data:")
        for i in range(5000):
            print(f"  key{i}: c2VjcmV0LXZhbHVlLXt7aX19LXh4eA==")
        print("kind: Secret")
        """
    )
    result = await _runner(output_cap_bytes=4096).run([PY, "-c", script])
    assert result.stdout_truncated
    assert "c2VjcmV0" not in result.stdout
    assert "key1:" in result.stdout


async def test_cancelling_a_run_kills_the_child(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    script = (
        f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(60)"
    )
    task = asyncio.create_task(_runner().run([PY, "-c", script]))
    for _ in range(200):
        if pid_file.exists() and pid_file.read_text():
            break
        await asyncio.sleep(0.02)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not _alive(int(pid_file.read_text()))


async def test_a_call_may_keep_more_stdout_than_the_runner_caps_at() -> None:
    script = "import sys; sys.stdout.write('a' * 200000); sys.stderr.write('b' * 5000)"
    result = await _runner(output_cap_bytes=1024).run([PY, "-c", script], stdout_cap_bytes=300000)
    assert result.stdout == "a" * 200000
    assert not result.stdout_truncated
    assert result.stderr == "b" * 1024
    assert result.stderr_truncated

"""`exec_is_read_only`: which `k8s_exec` commands may run without approval."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from opsgate.tools import kubectl
from opsgate.tools.kubectl import exec_is_read_only

TABLE: list[tuple[list[str], bool]] = [
    (["cat", "/etc/resolv.conf"], True),
    (["/bin/cat", "/etc/hostname"], True),
    (["ls", "-la", "/var/log"], True),
    (["env"], True),
    (["printenv", "HOME"], True),
    (["ps", "aux"], True),
    (["df", "-h"], True),
    (["du", "-sh", "/data"], True),
    (["head", "-n", "20", "/var/log/app.log"], True),
    (["tail", "-n", "100", "/var/log/app.log"], True),
    (["grep", "-i", "error", "/var/log/app.log"], True),
    (["wc", "-l", "/var/log/app.log"], True),
    (["date"], True),
    (["hostname"], True),
    (["id"], True),
    (["whoami"], True),
    (["uname", "-a"], True),
    (["nslookup", "db.shop.svc"], True),
    ([], False),
    (["sh", "-c", "cat /etc/passwd"], False),
    (["bash"], False),
    (["/bin/sh"], False),
    (["python3", "-c", "print(1)"], False),
    (["rm", "-rf", "/data"], False),
    (["tee", "/etc/x"], False),
    (["touch", "/tmp/x"], False),
    (["kill", "1"], False),
    (["env", "sh"], False),
    (["env", "-i", "sh"], False),
    (["env", "X=1", "cat"], False),
    (["tail", "-f", "/var/log/app.log"], False),
    (["tail", "--follow=name", "/var/log/app.log"], False),
    (["date", "-s", "2020-01-01"], False),
    (["hostname", "evil"], False),
    (["hostname", "-f"], True),
    (["date", "+%s"], True),
    (["date", "-u"], True),
    (["date", "010100002020"], False),
    (["hostname", "-F", "/tmp/name"], False),
    (["cat", "/etc/passwd", ">", "/tmp/x"], False),
    (["cat", "a|b"], False),
    (["ls", "$(id)"], False),
    (["grep", "-f", "patterns"], False),
    (["head", "-o", "x"], False),
    (["/tmp/cat", "x"], False),
    (["./cat", "x"], False),
]


@pytest.mark.parametrize(
    ("argv", "read_only"), TABLE, ids=[" ".join(a) or "empty" for a, _ in TABLE]
)
def test_exec_policy_table(argv: list[str], read_only: bool) -> None:
    assert exec_is_read_only(argv) is read_only


def test_k8s_exec_is_read_only_only_for_inspecting_commands() -> None:
    tool = next(t for t in kubectl.TOOLS if t.name == "k8s_exec")
    assert not tool.annotations.read_only
    assert tool.is_read_only(tool.parse({"pod": "web-1", "command": ["cat", "/etc/hosts"]}))
    assert not tool.is_read_only(tool.parse({"pod": "web-1", "command": ["rm", "/etc/hosts"]}))


@pytest.mark.parametrize(
    "argument", ["a; id", "a|b", "$(id)", "`id`", "a\nb", "a\x00b", "../../etc/x", "w\u0435b"]
)
def test_exec_arguments_after_the_program_are_validated_too(argument: str) -> None:
    tool = next(t for t in kubectl.TOOLS if t.name == "k8s_exec")
    with pytest.raises(ValidationError, match="command"):
        tool.parse({"pod": "web-1", "command": ["cat", argument]})


def test_exec_arguments_may_be_flags_for_the_program() -> None:
    tool = next(t for t in kubectl.TOOLS if t.name == "k8s_exec")
    params = tool.parse({"pod": "web-1", "command": ["ls", "-la", "--color=never"]})
    assert params.command == ["ls", "-la", "--color=never"]  # type: ignore[attr-defined]

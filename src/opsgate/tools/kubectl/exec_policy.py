"""Whether a `k8s_exec` command only inspects: a small allowlist, failing closed.

Wired as `Tool.read_only_when` of `k8s_exec`; the engine lets an exec run without approval
only when `exec_is_read_only` says so. Anything unknown is a mutation.
"""

from __future__ import annotations

from collections.abc import Sequence

INSPECTING_PROGRAMS = frozenset(
    {
        "cat",
        "ls",
        "env",
        "printenv",
        "ps",
        "df",
        "du",
        "head",
        "tail",
        "grep",
        "wc",
        "date",
        "hostname",
        "id",
        "whoami",
        "uname",
        "nslookup",
        "pwd",
        "stat",
        "uptime",
        "free",
        "getent",
    }
)
"""Programs that only read, as long as their arguments stay within the rules below."""

_REDIRECTION_OR_SHELL = frozenset("<>|;&$`\n\x00")

_WRITING_FLAGS: dict[str, tuple[str, ...]] = {
    # `env NAME=v prog` runs `prog`; `env -i/-u/-S/-C` likewise reshape what runs next.
    "env": ("-", "="),
    # `tail -f`/`--follow` never ends; it reads but would hold the call until the timeout.
    "tail": ("-f", "-F", "--follow", "--retry"),
    "du": ("--files0-from",),
    "grep": ("--file", "-f"),
    "date": ("-s", "--set"),
    "hostname": ("-F", "--file", "-b", "--boot"),
    "ls": (),
}
"""Per program, argument prefixes that write, run something else, or never end."""

_ALWAYS_REFUSED_PREFIXES = ("--output", "-o", "--in-place", "-i")
"""Flags that write files for many tools (`sort -o`, `sed -i`); refused unless known harmless."""

_DASH_O_IS_SAFE = frozenset({"ls", "ps", "id", "df", "uname", "grep", "getent", "free", "wc"})


def exec_is_read_only(argv: Sequence[str]) -> bool:
    """True only if `argv` runs an allowlisted inspecting program with harmless arguments.

    The program is matched by its bare name (`/bin/cat` counts as `cat`); shells,
    interpreters and anything with redirection or writing flags are not read-only.
    """
    if not argv:
        return False
    program = argv[0].rsplit("/", 1)[-1]
    if program not in INSPECTING_PROGRAMS:
        return False
    if argv[0] != program and not argv[0].startswith(
        ("/bin/", "/usr/bin/", "/sbin/", "/usr/sbin/")
    ):
        return False
    arguments = list(argv[1:])
    for argument in arguments:
        if any(char in _REDIRECTION_OR_SHELL for char in argument):
            return False
        if any(argument.startswith(prefix) for prefix in _WRITING_FLAGS.get(program, ())):
            return False
        if program == "env" and "=" in argument:
            return False
        if program not in _DASH_O_IS_SAFE and argument.startswith(_ALWAYS_REFUSED_PREFIXES):
            return False
    positional = [argument for argument in arguments if not argument.startswith("-")]
    if program == "hostname" and positional:
        return False  # `hostname NAME` sets it
    if program == "date" and any(not argument.startswith("+") for argument in positional):
        return False  # `date MMDDhhmm` sets the clock; `date +%s` only formats
    # `env prog args` runs prog; only plain `env` (print everything) is an inspection.
    return not (program == "env" and arguments)

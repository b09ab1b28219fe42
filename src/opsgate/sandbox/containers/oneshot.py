"""Containers whose command is a short script of the exec vocabulary: they run it and end.

Called by `programs` for containers that are not restarted after a clean exit (`restartPolicy`
Never or OnFailure: bare pods made with `kubectl run --restart=Never`, helm test hooks, Job
pods). A command such as `wget -qO- http://web`, `nslookup db` or `sh -c "date; echo done"`
runs once through the exec simulation (`shell`): the container prints what it printed and
exits with its status, so a check pod's logs hold its answer. A command with a word outside
the vocabulary, a `sleep` that is not `sleep 0`, a bare `cat` (which would wait on stdin),
pipes or redirections is not simulated here and the other rules of `programs` apply.
"""

from __future__ import annotations

import posixpath
import shlex

from opsgate.sandbox.apiserver.store import Obj, Store
from opsgate.sandbox.containers import images, shell

_SEPARATORS = (";", "&&", "||")


def _commands(argv: list[str]) -> list[list[str]] | None:
    """The commands a container's argv runs, or None when it cannot be simulated."""
    if posixpath.basename(argv[0]) not in shell.SHELLS:
        return [argv]
    if len(argv) < 3 or argv[1] != "-c":
        return None
    lexer = shlex.shlex(argv[2], posix=True, punctuation_chars=";&|<>")
    lexer.whitespace_split = True
    try:
        tokens = list(lexer)
    except ValueError:
        return None
    commands: list[list[str]] = [[]]
    for token in tokens:
        if token in _SEPARATORS:
            commands.append([])
        elif token[0] in "|&<>":
            return None
        else:
            commands[-1].append(token)
    return [c for c in commands if c]


def _simulated(command: list[str]) -> bool:
    name = posixpath.basename(command[0])
    if name == "exit":
        return True
    if name not in shell.PROGRAMS:
        return False
    if name == "sleep":
        return command[1:] == ["0"]
    return not (name == "cat" and len(command) == 1)


def run(store: Store, pod: Obj, container: Obj) -> shell.Result | None:
    """Run the container's command once, or None when it is not a simulated one-shot command."""
    argv = [str(a) for a in [*(container.get("command") or []), *(container.get("args") or [])]]
    if not argv or not images.profile(container.get("image", "")).shell:
        return None
    commands = _commands(argv)
    if not commands or not all(_simulated(c) for c in commands):
        return None
    return shell.run(store, pod, container, argv)

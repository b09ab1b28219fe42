"""Whether a `k8s_exec` command only inspects: a small allowlist, failing closed.

Wired as `Tool.read_only_when` of `k8s_exec`; the engine lets an exec run without approval
only when `exec_is_read_only` says so. Anything unknown is a mutation.

Read-only means more than "writes nothing": the command must neither print a secret nor
reach the network, because what a read prints goes to the model without anyone deciding.
So programs that print the environment (`env`, `printenv`, `ps e`) or look names up
(`nslookup`, `getent`, `hostname -f`) are not on the list, and every argument is judged as a
path: mounted secrets, credential files, `/proc` and `/dev` need approval, however the path
is spelled (`//`, `.`, `..`, relative, upper case, inside `--option=value`).

A path rule cannot know a secret mounted at an unremarkable path (`/etc/app/db`); it covers
the standard and conventionally named places. Anything else sensitive needs the approval card.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

INSPECTING_PROGRAMS = frozenset(
    {
        "cat",
        "ls",
        "ps",
        "df",
        "du",
        "head",
        "tail",
        "grep",
        "wc",
        "stat",
        "date",
        "hostname",
        "id",
        "whoami",
        "uname",
        "pwd",
        "uptime",
        "free",
    }
)
"""Programs that print neither the environment nor anything from the network, as long as
their arguments stay within the rules below."""

_PROGRAM_DIRS = ("/bin/", "/usr/bin/", "/sbin/", "/usr/sbin/")

_REDIRECTION_OR_SHELL = frozenset("<>|;&$`\n\x00~")

_GLOB = frozenset("*?[")
"""Not expanded without a shell, but only useful for reaching files nobody named."""

_REFUSED_FLAGS: dict[str, tuple[str, ...]] = {
    # `tail -f`/`--follow` never ends; it reads but would hold the call until the timeout.
    "tail": ("-f", "-F", "--follow", "--retry"),
    # Patterns from a file, or recursion into every file below a directory (secrets too).
    "grep": ("-f", "--file", "-d", "--directories", "--recursive", "--dereference-recursive"),
    # `date -f FILE` echoes each line of FILE in its error messages; `-s` sets the clock.
    "date": ("-s", "--set", "-f", "--file"),
}
"""Per program, argument prefixes that write, read a file into the output, or never end."""

_ALWAYS_REFUSED_PREFIXES = ("--output", "-o", "--in-place", "-i")
"""Flags that write files for many tools (`sort -o`, `sed -i`); refused unless known harmless."""

_DASH_O_IS_SAFE = frozenset({"ls", "ps", "df", "uname", "grep", "free", "wc"})

_NO_ARGUMENTS = frozenset({"hostname", "whoami", "pwd"})
"""`hostname NAME` sets the name and `hostname -f/-i/-A` resolve it over DNS."""

_SECRET_NAMES = frozenset(
    {
        ".aws",
        ".azure",
        ".boto",
        ".docker",
        ".env",
        ".gnupg",
        ".kube",
        ".my.cnf",
        ".netrc",
        ".npmrc",
        ".pgpass",
        ".pypirc",
        ".s3cfg",
        ".ssh",
        "environ",
        "gcloud",
        "gshadow",
        "gshadow-",
        "id_dsa",
        "id_ecdsa",
        "id_ed25519",
        "id_rsa",
        "kubeconfig",
        "serviceaccount",
        "shadow",
        "shadow-",
    }
)
"""Path components that are, or hold, credentials wherever they appear."""

_SECRET_WORDS = ("secret", "token", "credential", "password", "private", "apikey", "api_key")
"""Words in a path component that mark a credential (`/run/secrets`, `.git-credentials`)."""

_SECRET_SUFFIXES = (".key", ".pem", ".p12", ".pfx", ".jks", ".keystore", ".kdbx", ".ppk", ".env")

_HARMLESS_PROC = re.compile(
    r"/proc/(cpuinfo|meminfo|loadavg|uptime|version|stat|vmstat|diskstats|mounts|filesystems"
    r"|(self|[0-9]+)/(status|stat|statm|limits|cgroup|oom_score|mountinfo))"
)
"""The `/proc` files an inspection may read; `environ`, `cmdline`, `fd/`, `root/`… may not."""

_SYSTEM_ROOTS = frozenset({"proc", "dev"})
"""Top-level directories refused as a whole (raw devices, other processes' memory and files)."""


def exec_is_read_only(argv: Sequence[str]) -> bool:
    """True only if `argv` runs an allowlisted inspecting program with harmless arguments.

    The program is matched by its bare name (`/bin/cat` counts as `cat`); shells,
    interpreters, environment readers, network programs, and anything with redirection,
    writing flags, globs or a secret path in its arguments are not read-only.
    """
    if not argv:
        return False
    program = argv[0].rsplit("/", 1)[-1]
    if program not in INSPECTING_PROGRAMS:
        return False
    if argv[0] != program and not argv[0].startswith(_PROGRAM_DIRS):
        return False
    arguments = list(argv[1:])
    if program in _NO_ARGUMENTS and arguments:
        return False
    if not all(_argument_is_harmless(program, argument) for argument in arguments):
        return False
    return _program_rules_hold(program, arguments)


def _argument_is_harmless(program: str, argument: str) -> bool:
    if any(char in _REDIRECTION_OR_SHELL or char in _GLOB for char in argument):
        return False
    if "://" in argument or (argument.startswith("-") and "-from" in argument):
        return False  # a URL, or a flag reading names from a file (`--files0-from`)
    if any(argument.startswith(prefix) for prefix in _REFUSED_FLAGS.get(program, ())):
        return False
    if program not in _DASH_O_IS_SAFE and argument.startswith(_ALWAYS_REFUSED_PREFIXES):
        return False
    # Every argument is judged as a path, and so is the value of `--option=value` or `-rVALUE`.
    candidates = [argument]
    if argument.startswith("-"):
        candidates += [part for part in re.split(r"=|^-+[A-Za-z]", argument) if part]
    return not any(_is_sensitive_path(candidate) for candidate in candidates)


def _program_rules_hold(program: str, arguments: list[str]) -> bool:
    positional = [argument for argument in arguments if not argument.startswith("-")]
    if program == "date" and any(not argument.startswith("+") for argument in positional):
        return False  # `date MMDDhhmm` sets the clock; `date +%s` only formats
    if program == "id" and positional:
        return False  # `id NAME` asks the name service, which may be a network directory
    if program == "ps" and any("e" in argument for argument in positional):
        return False  # BSD-style `ps e` / `ps auxe` prints every process's environment
    if program == "grep":
        clusters = [a[1:] for a in arguments if a.startswith("-") and not a.startswith("--")]
        if any("r" in cluster or "R" in cluster for cluster in clusters):
            return False  # `-r`, `-ri`, `-Rn`: recursion into every file below
    return True


def _is_sensitive_path(text: str) -> bool:
    """Whether `text`, read as a path, may name a secret, `/proc` or `/dev`.

    A relative path is judged as if the working directory were `/` (common in images), and
    `..` is refused outright since it could climb from any working directory to any place.
    """
    lowered = text.lower()
    collapsed = re.sub("/+", "/", lowered)
    parts = [part for part in collapsed.split("/") if part not in ("", ".")]
    if ".." in parts:
        return True
    normalised = "/" + "/".join(parts)
    if parts and parts[0] in _SYSTEM_ROOTS:
        return not (parts[0] == "proc" and _HARMLESS_PROC.fullmatch(normalised))
    return any(_is_secret_component(part) for part in parts)


def _is_secret_component(part: str) -> bool:
    return (
        part in _SECRET_NAMES
        or part.startswith(".env.")
        or part.endswith(_SECRET_SUFFIXES)
        or any(word in part for word in _SECRET_WORDS)
    )

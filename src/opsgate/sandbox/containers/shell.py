"""`kubectl exec` in a simulated container: a small, documented command vocabulary.

Called by `http.exec` with the pod, the container and the argv kubectl sent. Programs:
`env`/`printenv` (the container's environment, ConfigMap/Secret references resolved), `cat`
and `ls` of the simulated files (`files`), `hostname`, `id`, `whoami`, `echo`, `pwd`, `date`,
`true`/`false`/`sleep`, `nslookup`/`getent hosts` of cluster names and `wget`/`curl` of URLs
(`network`), and `sh -c` scripts of those joined by `;`, `&&` and `||`, with `$VAR`
expansion. Anything else answers as a minimal image does (`sh: X: not found`, exit 127); an
image without a shell has none of these. Pipes and redirections are not simulated and say so.
"""

from __future__ import annotations

import posixpath
import shlex
from dataclasses import dataclass
from datetime import UTC, datetime

from opsgate.sandbox.apiserver.store import Obj, Store
from opsgate.sandbox.containers import files, images, network

SHELLS = ("sh", "bash", "ash")
BUSYBOX = ("busybox", "alpine")


@dataclass(frozen=True)
class Result:
    """What a command printed and its exit status."""

    stdout: str = ""
    stderr: str = ""
    code: int = 0


@dataclass(frozen=True)
class Context:
    store: Store
    pod: Obj
    container: Obj
    profile: images.Profile
    env: dict[str, str]


def environment(store: Store, pod: Obj, container: Obj) -> dict[str, str]:
    """The environment the container started with, as `env` prints it (order kept)."""
    namespace = pod["metadata"].get("namespace", "")
    out = {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOSTNAME": files.hostname(pod),
    }
    for source in container.get("envFrom") or []:
        for field, key in (("configMapRef", "configmaps"), ("secretRef", "secrets")):
            ref = source.get(field)
            obj = store.peek(key, namespace, str(ref.get("name", ""))) if ref else None
            if obj is not None:
                for k, v in files.decoded(obj).items():
                    out[source.get("prefix", "") + k] = v
    for variable in container.get("env") or []:
        value = _value(store, pod, variable)
        if value is not None:
            out[str(variable.get("name"))] = value
    for service in store.scan("services", namespace):
        spec = service.get("spec") or {}
        ip, ports = spec.get("clusterIP"), spec.get("ports") or []
        if not ip or ip == "None" or not ports:
            continue
        prefix = service["metadata"]["name"].upper().replace("-", "_")
        out[f"{prefix}_SERVICE_HOST"] = str(ip)
        out[f"{prefix}_SERVICE_PORT"] = str(ports[0].get("port"))
    out.update(KUBERNETES_SERVICE_HOST="10.96.0.1", KUBERNETES_SERVICE_PORT="443", HOME="/root")
    return out


def _value(store: Store, pod: Obj, variable: Obj) -> str | None:
    if "value" in variable:
        return str(variable["value"])
    source = variable.get("valueFrom") or {}
    namespace = pod["metadata"].get("namespace", "")
    for field, key in (("configMapKeyRef", "configmaps"), ("secretKeyRef", "secrets")):
        ref = source.get(field)
        if ref:
            obj = store.peek(key, namespace, str(ref.get("name", "")))
            return None if obj is None else files.decoded(obj).get(str(ref.get("key")))
    if "fieldRef" in source:
        return files.field(pod, str(source["fieldRef"].get("fieldPath", "")))
    return None


def _expand(token: str, env: dict[str, str]) -> str:
    out, i = "", 0
    while i < len(token):
        if token[i] == "$" and i + 1 < len(token):
            if token[i + 1] == "{":
                end = token.find("}", i)
                name, i = token[i + 2 : end], end + 1
            else:
                j = i + 1
                while j < len(token) and (token[j].isalnum() or token[j] == "_"):
                    j += 1
                name, i = token[i + 1 : j], j
            out += env.get(name, "")
        else:
            out += token[i]
            i += 1
    return out


def _not_found(ctx: Context, program: str, in_script: bool) -> Result:
    if in_script:
        return Result(stderr=f"sh: {program}: not found\n", code=127)
    return Result(stderr=f'exec: "{program}": executable file not found in $PATH\n', code=127)


def run(store: Store, pod: Obj, container: Obj, argv: list[str]) -> Result:
    """Run one exec command in the container."""
    profile = images.profile(container.get("image", ""))
    ctx = Context(store, pod, container, profile, environment(store, pod, container))
    if not argv:
        return Result(stderr="you must specify at least one command for the container\n", code=1)
    if not profile.shell:
        return _not_found(ctx, argv[0], in_script=False)
    if posixpath.basename(argv[0]) in SHELLS:
        if len(argv) >= 3 and argv[1] == "-c":
            return _script(ctx, argv[2])
        return Result(stderr="sh: interactive shells are not simulated by the sandbox\n", code=2)
    return _program(ctx, argv, in_script=False)


def _script(ctx: Context, script: str) -> Result:
    lexer = shlex.shlex(script, posix=True, punctuation_chars=";&|<>")
    lexer.whitespace_split = True
    tokens = list(lexer)
    stdout = stderr = ""
    code, joiner = 0, ";"
    command: list[str] = []
    for token in [*tokens, ";"]:
        if token in (";", "&&", "||"):
            if command:
                run_it = joiner == ";" or (joiner == "&&") == (code == 0)
                if run_it:
                    words = [_expand(w, ctx.env) for w in command]
                    if words[0] == "exit":
                        code = int(words[1]) if len(words) > 1 and words[1].isdigit() else code
                        return Result(stdout, stderr, code)
                    result = _program(ctx, words, in_script=True)
                    stdout, stderr, code = (
                        stdout + result.stdout,
                        stderr + result.stderr,
                        result.code,
                    )
            joiner, command = token, []
        elif token[0] in "|&<>":
            note = "sh: pipes, background jobs and redirections are not simulated by the sandbox\n"
            return Result(stdout, stderr + note, 2)
        else:
            command.append(token)
    return Result(stdout, stderr, code)


def _program(ctx: Context, argv: list[str], in_script: bool) -> Result:
    name = posixpath.basename(argv[0])
    handler = PROGRAMS.get(name)
    if handler is None or name in ctx.profile.lacks:
        return _not_found(ctx, argv[0], in_script)
    return handler(ctx, argv[1:])


def _env_cmd(ctx: Context, args: list[str]) -> Result:
    if args:
        value = ctx.env.get(args[0])
        return Result(value + "\n", code=0) if value is not None else Result(code=1)
    return Result("".join(f"{k}={v}\n" for k, v in ctx.env.items()))


def _cat(ctx: Context, args: list[str]) -> Result:
    found = files.container_files(ctx.store, ctx.pod, ctx.container)
    out, err, code = "", "", 0
    for path in [a for a in args if not a.startswith("-")]:
        full = posixpath.normpath(posixpath.join(_cwd(ctx), path))
        if full in found:
            out += found[full]
        elif files.listing(found, full) is not None:
            err, code = err + f"cat: {path}: Is a directory\n", 1
        else:
            missing = (
                f"cat: can't open '{path}': No such file or directory\n"
                if ctx.profile.name in BUSYBOX
                else f"cat: {path}: No such file or directory\n"
            )
            err, code = err + missing, 1
    return Result(out, err, code)


def _cwd(ctx: Context) -> str:
    return str(ctx.container.get("workingDir") or "/")


def _ls(ctx: Context, args: list[str]) -> Result:
    found = files.container_files(ctx.store, ctx.pod, ctx.container)
    targets = [a for a in args if not a.startswith("-")] or [_cwd(ctx)]
    out, err, code = "", "", 0
    for path in targets:
        full = posixpath.normpath(posixpath.join(_cwd(ctx), path))
        names = files.listing(found, full)
        if full in found:
            out += path + "\n"
        elif names is not None:
            out += (f"{path}:\n" if len(targets) > 1 else "") + "".join(f"{n}\n" for n in names)
        else:
            busybox = ctx.profile.name in BUSYBOX
            err += (
                f"ls: {path}: No such file or directory\n"
                if busybox
                else f"ls: cannot access '{path}': No such file or directory\n"
            )
            code = 1 if busybox else 2
    return Result(out, err, code)


def _ids(ctx: Context) -> tuple[int, int]:
    pod_sc = (ctx.pod.get("spec") or {}).get("securityContext") or {}
    sc = {**pod_sc, **(ctx.container.get("securityContext") or {})}
    return int(sc.get("runAsUser", 0)), int(sc.get("runAsGroup", 0))


def _id(ctx: Context, args: list[str]) -> Result:
    uid, gid = _ids(ctx)

    def named(n: int) -> str:
        return f"{n}(root)" if n == 0 else str(n)

    return Result(f"uid={named(uid)} gid={named(gid)} groups={named(gid)}\n")


def _whoami(ctx: Context, args: list[str]) -> Result:
    uid, _ = _ids(ctx)
    return Result("root\n") if uid == 0 else Result(stderr=f"whoami: unknown uid {uid}\n", code=1)


def _nslookup(ctx: Context, args: list[str]) -> Result:
    names = [a for a in args if not a.startswith("-")]
    if not names:
        return Result(stderr="Usage: nslookup HOST [DNS_SERVER]\n", code=1)
    head = f"Server:\t\t{files.DNS_IP}\nAddress:\t{files.DNS_IP}:53\n\n"
    found = network.resolve(ctx.store, ctx.pod, names[0])
    if found is None:
        return Result(head + f"** server can't find {names[0]}: NXDOMAIN\n\n", code=1)
    return Result(head + f"Name:\t{found[0]}\nAddress: {found[1]}\n\n")


def _getent(ctx: Context, args: list[str]) -> Result:
    if len(args) < 2 or args[0] not in ("hosts", "ahosts"):
        return Result(stderr="getent: only `getent hosts NAME` is simulated\n", code=1)
    found = network.resolve(ctx.store, ctx.pod, args[1])
    return Result(f"{found[1]:<15} {found[0]}\n") if found else Result(code=2)


def _wget(ctx: Context, args: list[str]) -> Result:
    quiet = any(a.startswith("-") and not a.startswith("--") and "q" in a for a in args)
    to_stdout = (
        "-O-" in args
        or "-qO-" in args
        or any(a == "-O" and i + 1 < len(args) and args[i + 1] == "-" for i, a in enumerate(args))
    )
    spider = "--spider" in args
    skip = {"-O", "-T", "--timeout", "-U", "--header"}
    urls = [
        a for i, a in enumerate(args) if not a.startswith("-") and not (i and args[i - 1] in skip)
    ]
    if not urls:
        return Result(
            stderr="BusyBox v1.36.1 multi-call binary.\n\nUsage: wget [OPTIONS] URL\n", code=1
        )
    answer = network.http_get(ctx.store, ctx.pod, urls[0])
    connecting = "" if quiet else f"Connecting to {answer.host} ({answer.ip}:{answer.port})\n"
    if answer.failure == "unresolved":
        return Result(stderr=f"wget: bad address '{answer.host}'\n", code=1)
    if answer.failure == "refused":
        message = f"wget: can't connect to remote host ({answer.ip}): Connection refused\n"
        return Result(stderr=connecting + message, code=1)
    if answer.failure == "timeout":
        return Result(stderr=connecting + "wget: download timed out\n", code=1)
    if answer.status >= 400:
        reason = {404: "Not Found", 403: "Forbidden", 500: "Internal Server Error"}.get(
            answer.status, ""
        )
        message = f"wget: server returned error: HTTP/1.1 {answer.status} {reason}\n"
        return Result(stderr=connecting + message, code=1)
    if spider:
        return Result(stderr=connecting + ("" if quiet else "remote file exists\n"))
    if to_stdout:
        return Result(answer.body, connecting + ("" if quiet else "writing to stdout\n"))
    saved = (
        "" if quiet else "saving to 'index.html'\n'index.html' saved (not kept by the sandbox)\n"
    )
    return Result(stderr=connecting + saved)


def _curl(ctx: Context, args: list[str]) -> Result:
    with_arg = {
        "-o",
        "--output",
        "-w",
        "--write-out",
        "-m",
        "--max-time",
        "--connect-timeout",
        "-H",
        "--header",
        "-X",
        "--request",
        "-A",
        "--user-agent",
        "-d",
        "--data",
    }
    options: dict[str, str] = {}
    flags: set[str] = set()
    urls: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in with_arg and i + 1 < len(args):
            options[arg], i = args[i + 1], i + 2
            continue
        if arg.startswith("--"):
            flags.add(arg)
        elif arg.startswith("-"):
            flags.update(f"-{c}" for c in arg[1:])
        else:
            urls.append(arg)
        i += 1
    if not urls:
        return Result(stderr="curl: no URL specified!\n", code=2)
    silent = "-s" in flags or "--silent" in flags
    show = "-S" in flags or "--show-error" in flags

    def fail(code: int, message: str) -> Result:
        return Result(
            stderr="" if silent and not show else f"curl: ({code}) {message}\n", code=code
        )

    answer = network.http_get(ctx.store, ctx.pod, urls[0], "curl/8.5.0")
    if answer.failure == "unresolved":
        return fail(6, f"Could not resolve host: {answer.host}")
    if answer.failure == "refused":
        where = f"{answer.host} port {answer.port}"
        return fail(7, f"Failed to connect to {where} after 0 ms: Couldn't connect to server")
    if answer.failure == "timeout":
        limit = (
            options.get("-m")
            or options.get("--max-time")
            or options.get("--connect-timeout")
            or "10"
        )
        ms = int(float(limit) * 1000)
        return fail(28, f"Connection timed out after {ms} milliseconds")
    if answer.status >= 400 and ("-f" in flags or "--fail" in flags):
        return fail(22, f"The requested URL returned error: {answer.status}")
    body = "" if "-I" in flags or "--head" in flags else answer.body
    if options.get("-o", options.get("--output")) is not None:
        body = ""
    template = options.get("-w", options.get("--write-out", ""))
    return Result(body + template.replace("%{http_code}", str(answer.status)).replace("\\n", "\n"))


def _echo(ctx: Context, args: list[str]) -> Result:
    if args[:1] == ["-n"]:
        return Result(" ".join(args[1:]))
    return Result(" ".join(args) + "\n")


PROGRAMS = {
    "env": lambda ctx, args: _env_cmd(ctx, []),
    "printenv": _env_cmd,
    "cat": _cat,
    "ls": _ls,
    "hostname": lambda ctx, args: Result(files.hostname(ctx.pod) + "\n"),
    "id": _id,
    "whoami": _whoami,
    "echo": _echo,
    "pwd": lambda ctx, args: Result(_cwd(ctx) + "\n"),
    "date": lambda ctx, args: Result(datetime.now(UTC).strftime("%a %b %d %H:%M:%S UTC %Y\n")),
    "true": lambda ctx, args: Result(),
    "false": lambda ctx, args: Result(code=1),
    "sleep": lambda ctx, args: Result(),
    "nslookup": _nslookup,
    "getent": _getent,
    "wget": _wget,
    "curl": _curl,
}
"""The vocabulary (`sleep` returns at once: the sandbox does not wait)."""

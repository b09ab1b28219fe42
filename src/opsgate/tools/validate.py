"""Validated string types for tool parameters (names, selectors, images, durations...).

Used by every tool family's parameter models, so a bad value is refused by pydantic with an
error that names the parameter, before any argv is built. Every type here refuses a leading
`-` (flag injection), control characters, `..` (path traversal) and anything outside ASCII
(look-alike letters such as Cyrillic `е` or the fullwidth hyphen `－`).
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, ValidationError

from opsgate.errors import InvalidInput
from opsgate.tools import jsonpath

_SHELL_METACHARACTERS = frozenset(";|&$`<>\\\"'{}")


def _check_common(value: str, *, allow_spaces: bool = False, dots: bool = False) -> str:
    """The rules every value obeys, whatever its grammar (`dots`: a grammar that refuses `..`
    in its own terms, as JSONPath's recursive descent, and says why)."""
    if not value:
        raise ValueError("must not be empty")
    if value.startswith("-"):
        raise ValueError("must not start with '-'")
    if not value.isascii():
        raise ValueError("must contain only ASCII characters")
    for char in value:
        if not char.isprintable() or (char.isspace() and not (allow_spaces and char == " ")):
            if allow_spaces:
                raise ValueError("must not contain control characters, newlines or tabs")
            raise ValueError("must not contain spaces, control characters or newlines")
    if ".." in value and not dots:
        raise ValueError("must not contain '..'")
    return value


def grammar(
    pattern: str, description: str, max_length: int, *, allow_spaces: bool = False
) -> AfterValidator:
    """A validator: the common rules, at most `max_length` characters, and `pattern` in full.

    Families build their own grammars with it (helm's release names, chart references...).
    """
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        _check_common(value, allow_spaces=allow_spaces)
        if len(value) > max_length:
            raise ValueError(f"must be at most {max_length} characters")
        if not compiled.fullmatch(value):
            raise ValueError(f"must be {description}")
        return value

    return AfterValidator(check)


_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
SUBDOMAIN_PATTERN = rf"{_LABEL}(\.{_LABEL})*"
"""The grammar of a DNS-1123 subdomain, for families that bound it differently (helm releases)."""
_SUBDOMAIN = SUBDOMAIN_PATTERN

DnsLabel = Annotated[str, grammar(_LABEL, "a DNS-1123 label (lowercase letters, digits, '-')", 63)]
"""A DNS-1123 label: namespaces, container names, most object names."""

DnsSubdomain = Annotated[
    str, grammar(_SUBDOMAIN, "a DNS-1123 subdomain (lowercase letters, digits, '-', '.')", 253)
]
"""A DNS-1123 subdomain: object names such as nodes, deployments, configmaps."""

Namespace = DnsLabel
Name = DnsSubdomain
ContainerName = DnsLabel

ResourceType = Annotated[
    str,
    grammar(
        r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?",
        "a resource type such as 'pods' or 'deployments.apps'",
        253,
    ),
]
"""A resource type, optionally qualified by its API group (`deployments.apps`)."""

_TYPE = r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?"
_OBJECT_NAME = r"[A-Za-z0-9]([-A-Za-z0-9._:@]*[A-Za-z0-9])?"

PATH_SEGMENT_NAMED = frozenset(
    {"role", "clusterrole", "rolebinding", "clusterrolebinding"}
    | {"roles", "clusterroles", "rolebindings", "clusterrolebindings"}
)
"""Resource types whose object names are "path segment" names, not DNS-1123 subdomains: the
RBAC kinds (`ValidateRBACName` in Kubernetes), hence `system:node`, `system:controller:...`,
`system::leader-locking-kube-scheduler`. Every other built-in kind, and every custom resource,
has DNS-1123 names."""

_RBAC_GROUP = ("", ".rbac.authorization.k8s.io", ".v1.rbac.authorization.k8s.io")


def names_are_path_segments(resource_type: str) -> bool:
    """Whether objects of `resource_type` (`clusterroles`, `roles.rbac.authorization.k8s.io`)
    may have names with `:`, `@` and capitals."""
    plural, _, group = resource_type.partition(".")
    return plural in PATH_SEGMENT_NAMED and (f".{group}" if group else "") in _RBAC_GROUP


def check_object_name(resource_type: str, name: str) -> str:
    """`name` as a name of a `resource_type` object: a DNS-1123 subdomain, or for RBAC kinds
    letters, digits and `-._:@` (Kubernetes allows more there; these are what names use).

    Raises:
        ValueError: the kind's grammar refuses it.
    """
    if names_are_path_segments(resource_type):
        if len(name) > 253 or not re.fullmatch(_OBJECT_NAME, name):
            raise ValueError(f"must be a {resource_type} name (letters, digits, '-._:@')")
        return name
    if len(name) > 253 or not re.fullmatch(_SUBDOMAIN, name):
        raise ValueError(
            f"must be a DNS-1123 subdomain (lowercase letters, digits, '-', '.'), as names of "
            f"{resource_type!r} are; only RBAC kinds (roles, clusterroles, rolebindings, "
            "clusterrolebindings) have names such as 'system:node'"
        )
    return name


def _check_ref(value: str) -> str:
    """The name of a `type/name` reference fits its type's grammar."""
    resource_type, _, name = value.partition("/")
    if name:
        check_object_name(resource_type, name)
    return value


ObjectName = Annotated[
    str,
    grammar(_OBJECT_NAME, "an object name (letters, digits, '-._:@')", 253),
]
"""Any kind's object name as far as characters go; the parameter model checks it against its
kind (`check_object_name`), since only RBAC kinds allow `:`, `@` and capitals."""

ResourceRef = Annotated[
    str,
    grammar(
        rf"{_TYPE}/{_OBJECT_NAME}",
        "a 'type/name' reference such as 'deployment/web'",
        253 + 64,
    ),
    AfterValidator(_check_ref),
]
"""A `type/name` reference, e.g. `deployment/web`, `clusterrole/system:node`."""

ResourceOrRef = Annotated[
    str,
    grammar(
        rf"{_TYPE}(/{_OBJECT_NAME})?",
        "a resource type ('pods') or a 'type/name' reference ('deployment/web')",
        253 + 64,
    ),
    AfterValidator(_check_ref),
]

_QUALIFIED_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
_LABEL_KEY = rf"({_SUBDOMAIN}/)?{_QUALIFIED_NAME}"
_LABEL_VALUE = r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?"

LabelKey = Annotated[
    str, grammar(_LABEL_KEY, "a label key such as 'app' or 'example.com/tier'", 253 + 64)
]
"""A label or annotation key: an optional DNS subdomain prefix and a qualified name."""


def _check_label_value(value: str) -> str:
    if value == "":
        return value
    _check_common(value)
    if not re.fullmatch(_LABEL_VALUE, value) or len(value) > 63:
        raise ValueError("must be a label value (letters, digits, '-', '_', '.'; at most 63)")
    return value


LabelValue = Annotated[str, AfterValidator(_check_label_value)]
"""A label value (may be empty)."""


def _check_annotation_value(value: str) -> str:
    if value == "":
        return value
    _check_common(value, allow_spaces=True)
    if len(value) > 1024:
        raise ValueError("must be at most 1024 characters")
    bad = sorted(set(value) & _SHELL_METACHARACTERS)
    if bad:
        raise ValueError(f"must not contain the characters {''.join(bad)!r}")
    return value


AnnotationValue = Annotated[str, AfterValidator(_check_annotation_value)]
"""Free text for annotations: printable ASCII and spaces, no shell metacharacters."""

_SELECTOR_VALUE = r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?"
_SELECTOR_REQUIREMENT = re.compile(
    rf"!{_LABEL_KEY}"
    rf"|{_LABEL_KEY}"
    rf"|{_LABEL_KEY}\s*(=|==|!=)\s*({_SELECTOR_VALUE})?"
    rf"|{_LABEL_KEY}\s+(in|notin)\s+\(\s*({_SELECTOR_VALUE})?(\s*,\s*{_SELECTOR_VALUE})*\s*\)"
)


def _split_requirements(selector: str) -> list[str]:
    """Split on commas outside parentheses (set-based values contain commas)."""
    parts: list[str] = []
    depth = 0
    current = ""
    for char in selector:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    parts.append(current.strip())
    return parts


def _check_label_selector(value: str) -> str:
    _check_common(value, allow_spaces=True)
    if len(value) > 1024:
        raise ValueError("must be at most 1024 characters")
    for requirement in _split_requirements(value):
        if not _SELECTOR_REQUIREMENT.fullmatch(requirement):
            raise ValueError(
                f"has an invalid requirement {requirement!r}; use e.g. 'app=web', "
                "'tier in (a,b)', '!canary'"
            )
    return value


LabelSelector = Annotated[str, AfterValidator(_check_label_selector)]
"""A label selector in the Kubernetes grammar: `=`, `==`, `!=`, `in`, `notin`, `key`, `!key`."""

_FIELD_REQUIREMENT = re.compile(
    r"[A-Za-z0-9]([A-Za-z0-9._]*[A-Za-z0-9])?\s*(=|==|!=)\s*([A-Za-z0-9]([-A-Za-z0-9_.:]*[A-Za-z0-9])?)?"
)


def _check_field_selector(value: str) -> str:
    _check_common(value, allow_spaces=True)
    if len(value) > 1024:
        raise ValueError("must be at most 1024 characters")
    for requirement in value.split(","):
        if not _FIELD_REQUIREMENT.fullmatch(requirement.strip()):
            raise ValueError(
                f"has an invalid requirement {requirement!r}; use e.g. 'status.phase=Running'"
            )
    return value


FieldSelector = Annotated[str, AfterValidator(_check_field_selector)]
"""A field selector such as `status.phase!=Running,spec.nodeName=node-1`."""

ImageRef = Annotated[
    str,
    grammar(
        r"(?:[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?(?::[0-9]+)?/)?"
        r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
        r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?"
        r"(?:@sha256:[a-f0-9]{64})?",
        "an image reference such as 'nginx:1.27' or 'registry.example.com/team/app@sha256:…'",
        512,
    ),
]
"""A container image reference (registry/repository:tag@digest)."""

Duration = Annotated[
    str,
    grammar(
        r"([0-9]+h)?([0-9]+m)?([0-9]+s)?",
        "a duration such as '30s', '5m' or '1h30m'",
        16,
    ),
]
"""A Go-style duration limited to hours, minutes and seconds."""

ContextName = Annotated[
    str,
    grammar(
        r"[A-Za-z0-9_][A-Za-z0-9_.:@/+=-]*",
        "a kubeconfig context name (letters, digits and '_.:@/+=-')",
        253,
    ),
]
"""A kubeconfig context name: what kubeconfigs use in practice, never a flag or a path trick."""

LOCAL_PATH_PATTERN = r"/[A-Za-z0-9_.+@-]+(/[A-Za-z0-9_.+@-]+)*/?"
"""An absolute path on the tool server (a chart, a kustomization): no spaces or quoting."""


def _check_directory(value: str) -> str:
    if ".." in value.split("/"):
        raise ValueError("must not contain '..' segments")
    return value


LocalDirectory = Annotated[
    str,
    grammar(LOCAL_PATH_PATTERN, "an absolute path such as '/srv/deploy/overlays/prod'", 512),
    AfterValidator(_check_directory),
]
"""A directory on the tool server, named by its absolute path."""

MAX_JSONPATH = 1024


def _check_jsonpath(value: str) -> str:
    _check_common(value, allow_spaces=True, dots=True)
    if len(value) > MAX_JSONPATH:
        raise ValueError(f"must be at most {MAX_JSONPATH} characters")
    jsonpath.check_template(value)
    return value


def _check_wait_jsonpath(value: str) -> str:
    _check_jsonpath(value)
    jsonpath.check_single_path(value)
    return value


Subject = Annotated[
    str,
    grammar(
        r"[A-Za-z0-9_]([A-Za-z0-9_.:@+=#/-]*[A-Za-z0-9_])?",
        "a user or group name such as 'system:serviceaccount:shop:api' or 'jane@example.com'",
        253,
    ),
]
"""A Kubernetes user or group name, as RBAC subjects and impersonation name them."""

JsonPath = Annotated[str, AfterValidator(_check_jsonpath)]
"""A kubectl JSONPath template: fields, brackets, filters, quoted literals, range/end (the
grammar is `jsonpath`'s); no recursive descent."""

WaitJsonPath = Annotated[str, AfterValidator(_check_wait_jsonpath)]
"""One JSONPath expression, e.g. `{.status.phase}` (what `kubectl wait --for=jsonpath=` takes)."""


def _check_exec_argument(value: str) -> str:
    """Arguments after the program may be flags (`ls -la`): they go to the container's program
    after `--`, never to kubectl. Everything else about them is as strict as any value."""
    body = value.lstrip("-") or "x"
    _check_common(body, allow_spaces=True)
    if not re.fullmatch(r"[A-Za-z0-9_./:=,@%+^*\[\] -]*", body):
        raise ValueError("must contain only letters, digits, spaces and '_./:=,@%+^*[]-'")
    if len(value) > 1024:
        raise ValueError("must be at most 1024 characters")
    return value


ExecArgument = Annotated[str, AfterValidator(_check_exec_argument)]


def invalid_input(error: ValidationError) -> InvalidInput:
    """Turn a pydantic error into `InvalidInput` naming the first offending parameter."""
    first = error.errors()[0]
    parameter = ".".join(str(part) for part in first["loc"]) or "arguments"
    return InvalidInput(parameter, first["msg"])

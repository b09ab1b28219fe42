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

_SHELL_METACHARACTERS = frozenset(";|&$`<>\\\"'{}")


def _check_common(value: str, *, allow_spaces: bool = False) -> str:
    """The rules every value obeys, whatever its grammar."""
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
    if ".." in value:
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

ResourceRef = Annotated[
    str,
    grammar(
        rf"[a-z0-9]([a-z0-9.-]*[a-z0-9])?/{_SUBDOMAIN}",
        "a 'type/name' reference such as 'deployment/web'",
        253 + 64,
    ),
]
"""A `type/name` reference, e.g. `deployment/web`."""

ResourceOrRef = Annotated[
    str,
    grammar(
        rf"[a-z0-9]([a-z0-9.-]*[a-z0-9])?(/{_SUBDOMAIN})?",
        "a resource type ('pods') or a 'type/name' reference ('deployment/web')",
        253 + 64,
    ),
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

JsonPath = Annotated[
    str,
    grammar(
        r"\{[A-Za-z0-9_.\[\]{}*@?()=!<>, :\-]*\}",
        "a JSONPath template such as '{.items[*].metadata.name}'",
        512,
        allow_spaces=True,
    ),
]
"""A kubectl JSONPath template (no quotes, no recursive descent)."""


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

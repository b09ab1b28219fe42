"""Kubernetes resource quantities (`500m`, `128Mi`, `1.5Gi`, `2e3`) as exact numbers.

Used wherever the sandbox compares resources: quota and limit-range admission, the scheduler's
fit check, the kubelet's memory limit (OOMKilled), HPA utilisation, volume sizes.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any

_SUFFIXES: dict[str, Fraction] = {
    "n": Fraction(1, 10**9),
    "u": Fraction(1, 10**6),
    "m": Fraction(1, 1000),
    "": Fraction(1),
    "k": Fraction(10**3),
    "M": Fraction(10**6),
    "G": Fraction(10**9),
    "T": Fraction(10**12),
    "P": Fraction(10**15),
    "E": Fraction(10**18),
    "Ki": Fraction(2**10),
    "Mi": Fraction(2**20),
    "Gi": Fraction(2**30),
    "Ti": Fraction(2**40),
    "Pi": Fraction(2**50),
    "Ei": Fraction(2**60),
}
_QUANTITY = re.compile(
    r"^([+-]?(?:\d+\.?\d*|\.\d+))(?:[eE]([+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)$"
)


class QuantityError(ValueError):
    """Not a quantity (the message is the API server's)."""


def parse(value: Any) -> Fraction:
    """The exact value of a quantity (`"250m"` -> 1/4)."""
    if isinstance(value, bool):
        raise QuantityError(f"quantities must match the regular expression: {value!r}")
    if isinstance(value, int | float):
        return Fraction(str(value))
    match = _QUANTITY.match(str(value).strip())
    if not match:
        raise QuantityError(
            "quantities must match the regular expression "
            "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
        )
    number, exponent, suffix = match.groups()
    if exponent is not None:
        return Fraction(number) * Fraction(10) ** int(exponent)
    return Fraction(number) * _SUFFIXES[suffix or ""]


def valid(value: Any) -> bool:
    """Whether `value` parses as a quantity."""
    try:
        parse(value)
    except QuantityError:
        return False
    return True


def cpu_text(value: Fraction) -> str:
    """A CPU amount as kubectl prints it (`250m`, `2`)."""
    if value.denominator == 1:
        return str(value.numerator)
    return f"{round(value * 1000)}m"


def bytes_text(value: Fraction) -> str:
    """A byte amount in the largest binary unit that keeps it whole (`128Mi`, `1Gi`)."""
    whole = round(value)
    for suffix in ("Ei", "Pi", "Ti", "Gi", "Mi", "Ki"):
        unit = int(_SUFFIXES[suffix])
        if whole and whole % unit == 0:
            return f"{whole // unit}{suffix}"
    return str(whole)


def text(resource: str, value: Fraction) -> str:
    """A quantity of `resource` in its usual notation (cpu in cores or millicores)."""
    if resource.endswith("cpu"):
        return cpu_text(value)
    if value.denominator == 1 and not resource.endswith(("memory", "storage")):
        return str(value.numerator)
    return bytes_text(value)

"""Prompt files shipped as package data, reviewed like code."""

from __future__ import annotations

import functools
from importlib import resources


@functools.cache
def system_prompt() -> str:
    """The system prompt every model turn starts with."""
    return resources.files(__package__).joinpath("system.md").read_text(encoding="utf-8")

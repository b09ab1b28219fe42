"""Prompt files shipped as package data, reviewed like code."""

from __future__ import annotations

from importlib import resources


def system_prompt() -> str:
    """The system prompt every model turn starts with."""
    return resources.files(__package__).joinpath("system.md").read_text(encoding="utf-8")

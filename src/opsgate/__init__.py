"""opsgate: an AI operations agent whose every mutation waits for a person's approval."""

__version__ = "0.1.0"

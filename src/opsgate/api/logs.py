"""How opsgate's server logs: plain lines for people, or one JSON object per line.

`dict_config(settings)` is the `logging.config.dictConfig` schema `opsgate serve` (and `demo`)
hands uvicorn (`api.server.uvicorn_config`), which applies it at start: one stderr handler on
the root logger, uvicorn's own loggers sent there too. `OPSGATE_LOG_FORMAT=json` (the Helm
chart's default) turns each record into one JSON line for a log collector, with the run, call,
approval and conversation ids a record carries (`extra={"run_id": ...}`; the engine's event
lines, `engine.recorder`, carry all it knows), and secrets in messages and tracebacks masked
by the tool layer's redaction (`tools.redact.redact_text`). A JSON log leaves the machine, so
it is masked whole, including the one-time setup URL the server logs while no user exists:
create the first admin with `opsgate users add` there. `text` (the default) prints records as
they are, for the person at the terminal who needs that URL.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from opsgate.errors import truncate
from opsgate.settings import Settings
from opsgate.tools import redact

ID_FIELDS = ("conversation_id", "run_id", "call_id", "approval_id")
"""Record attributes copied into a JSON line when a record has them."""
EVENT_FIELDS = ("event", "tool", "status")
"""More attributes of the engine's event lines (`engine.recorder`)."""
MAX_TRACEBACK_CHARS = 8000
EVENTS_LOGGER = "opsgate.events"
"""The engine's one line per stream event (`engine.recorder`): in JSON logs, or text at DEBUG."""
TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, ids, exception."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact.redact_text(record.getMessage()),
        }
        for name in (*ID_FIELDS, *EVENT_FIELDS):
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info:
            trace = self.formatException(record.exc_info)
            line["exception"] = truncate(redact.redact_text(trace), MAX_TRACEBACK_CHARS)
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """A plain line, with the record's ids appended (`run=... call=...`) when it has any."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        ids = [
            f"{name.removesuffix('_id')}={getattr(record, name)}"
            for name in ID_FIELDS
            if getattr(record, name, None) is not None
        ]
        return f"{line} [{' '.join(ids)}]" if ids else line


def dict_config(settings: Settings) -> dict[str, Any]:
    """The logging configuration for `settings.log_format` and `settings.log_level`."""
    formatter = JsonFormatter if settings.log_format == "json" else TextFormatter
    via_root = {"handlers": [], "propagate": True}
    loggers: dict[str, Any] = {
        "uvicorn": via_root,
        "uvicorn.error": via_root,
        "uvicorn.access": via_root,
        # Alembic says which dialect it drives at every start; only its warnings matter.
        "alembic": {"level": "WARNING"},
    }
    if settings.log_format == "text" and settings.log_level.lower() != "debug":
        # One line per stream event is for log collectors; at a terminal (`make run`) the
        # Command Center shows the events, and the lines would bury the setup URL.
        loggers[EVENTS_LOGGER] = {"level": "WARNING"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"opsgate": {"()": formatter}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "opsgate",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["stderr"], "level": settings.log_level.upper()},
        "loggers": loggers,
    }

"""Cron schedules as Kubernetes reads them (five fields, names, ranges, steps, `@hourly`...).

Used by `kinds.batch` (validating `spec.schedule`) and `controllers.cronjobs` (when the next
Job is due).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

_MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
_FIELDS: list[tuple[int, int, list[str]]] = [
    (0, 59, []),
    (0, 23, []),
    (1, 31, []),
    (1, 12, _MONTHS),
    (0, 6, _DAYS),
]


class ScheduleError(ValueError):
    """The schedule does not parse (message as the cron parser words it)."""


@dataclass(frozen=True)
class Schedule:
    """The allowed minutes, hours, days of month, months and weekdays of a schedule."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    any_day: bool
    any_weekday: bool

    def _day_matches(self, moment: datetime) -> bool:
        weekday = (moment.weekday() + 1) % 7
        if self.any_day or self.any_weekday:
            return moment.day in self.days and weekday in self.weekdays
        # As cron: when both are restricted, either one matching is enough.
        return moment.day in self.days or weekday in self.weekdays

    def next_after(self, moment: datetime) -> datetime | None:
        """The first scheduled minute strictly after `moment` (None within five years)."""
        start = moment.replace(second=0, microsecond=0) + timedelta(minutes=1)
        day = start.replace(hour=0, minute=0)
        for _ in range(366 * 5):
            if day.month in self.months and self._day_matches(day):
                for hour in sorted(self.hours):
                    for minute in sorted(self.minutes):
                        candidate = day.replace(hour=hour, minute=minute)
                        if candidate >= start:
                            return candidate
            day += timedelta(days=1)
        return None


def _value(text: str, names: list[str], low: int) -> int:
    lowered = text.lower()
    if lowered in names:
        return names.index(lowered) + (low if names is _MONTHS else 0)
    if not text.isdigit():
        raise ScheduleError(f"failed to parse int from {text}: strconv.Atoi: parsing {text!r}")
    return int(text)


def _field(text: str, low: int, high: int, names: list[str]) -> frozenset[int]:
    found: set[int] = set()
    for part in text.split(","):
        body, _, step_text = part.partition("/")
        step = int(step_text) if step_text.isdigit() else 1
        if step_text and not step_text.isdigit():
            raise ScheduleError(f"failed to parse int from {step_text}")
        if body in ("*", "?"):
            first, last = low, high
        elif "-" in body:
            a, b = body.split("-", 1)
            first, last = _value(a, names, low), _value(b, names, low)
        else:
            first = _value(body, names, low)
            last = high if step_text else first
        if names is _DAYS and last == 7:
            last, found = 6, found | {0}
        if first < low or last > high or first > last:
            raise ScheduleError(f"end of range ({last}) above maximum ({high}): {part}")
        found.update(range(first, last + 1, step))
    return frozenset(found)


def parse(schedule: str) -> Schedule:
    """Parse a CronJob schedule."""
    text = _MACROS.get(schedule.strip(), schedule.strip())
    if text.startswith(("TZ=", "CRON_TZ=")):
        raise ScheduleError("cannot use TZ or CRON_TZ in schedule, use timeZone field instead")
    fields = text.split()
    if len(fields) != 5:
        raise ScheduleError(f"expected exactly 5 fields, found {len(fields)}: {schedule}")
    minutes, hours, days, months, weekdays = (
        _field(f, low, high, names) for f, (low, high, names) in zip(fields, _FIELDS, strict=True)
    )
    return Schedule(
        minutes,
        hours,
        days,
        months,
        weekdays,
        any_day=fields[2] in ("*", "?"),
        any_weekday=fields[4] in ("*", "?"),
    )

"""docs/observability.md names every metric the API exports, every span and log field."""

from __future__ import annotations

import re

from opsgate.api import logs
from opsgate.api.metrics import Metrics
from opsgate.settings import PROJECT_ROOT

DOC = PROJECT_ROOT / "docs" / "observability.md"
SPANS = ("opsgate.run", "opsgate.step", "opsgate.tool", "opsgate.approval.wait")


def test_every_exported_metric_is_documented_with_its_type() -> None:
    document = DOC.read_text()
    rendered = Metrics().render().decode()
    exported = re.findall(r"^# TYPE (\S+) (\S+)$", rendered, flags=re.MULTILINE)
    assert len(exported) >= 8
    for name, kind in exported:
        if name.endswith("_created"):
            # prometheus_client's creation-time series beside each unlabelled counter.
            assert f"| `{name.removesuffix('_created')}_total` | counter |" in document, name
            continue
        assert f"| `{name}` | {kind} |" in document, name


def test_every_span_and_log_field_is_documented() -> None:
    document = DOC.read_text()
    for span in SPANS:
        assert f"| `{span}` |" in document, span
    for field in (*logs.ID_FIELDS, *logs.EVENT_FIELDS):
        assert f"`{field}`" in document, field

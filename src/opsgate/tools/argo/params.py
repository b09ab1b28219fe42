"""Parameter models of the Argo Rollouts tools.

Used by `reads.py` and `mutations.py`; field docstrings become the JSON schema descriptions
the model reads.
"""

from __future__ import annotations

from pydantic import Field

from opsgate.tools import validate
from opsgate.tools.base import NamespacedParams


class ListParams(NamespacedParams):
    all_namespaces: bool = False
    """List across every namespace."""
    selector: validate.LabelSelector | None = None
    """Label selector, e.g. `app=checkout`."""


class RolloutParams(NamespacedParams):
    name: validate.Name
    """The Rollout's name."""


class PromoteParams(RolloutParams):
    full: bool = False
    """Skip every remaining step and analysis and go straight to 100%."""


class SetImageParams(RolloutParams):
    container: validate.ContainerName
    """The container whose image changes."""
    image: validate.ImageRef
    """The new image, e.g. `registry.example.com/checkout:1.4.2`."""


class UndoParams(RolloutParams):
    to_revision: int | None = Field(default=None, ge=1)
    """Revision to roll back to; the previous one when omitted."""


class StepParams(RolloutParams):
    step: int = Field(ge=0, le=100)
    """The step to return to: an index into the Rollout's canary steps, from 0."""
    paused: bool = False
    """Also set spec.paused, as it was before a promote cleared it."""

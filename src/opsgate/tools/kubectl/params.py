"""Parameter models of the kubectl tools: what the model may pass, validated field by field.

Used by `reads.py` and `mutations.py` (each tool names its model) and, through `Tool.params`,
by the MCP server for the JSON schema. Field docstrings become the schema descriptions.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from opsgate.tools import validate
from opsgate.tools.base import ToolParams
from opsgate.tools.kubectl import manifests

Manifest = Annotated[str, AfterValidator(manifests.check_manifest)]
PatchBody = Annotated[str, AfterValidator(manifests.check_patch_body)]

MAX_WAIT_S = 300
MAX_ROLLOUT_TIMEOUT_S = 600


class KubeParams(ToolParams):
    """Every kubectl tool names the kubeconfig context it runs against."""

    context: validate.ContextName | None = None
    """Kubeconfig context; the engine fills it in. Defaults to the server's configured one."""


class NamespacedParams(KubeParams):
    namespace: validate.Namespace | None = None
    """Namespace; defaults to the context's namespace."""


class GetParams(NamespacedParams):
    resource: validate.ResourceOrRef
    """Resource type (`pods`, `deployments.apps`) or `type/name` (`deployment/web`)."""
    name: validate.Name | None = None
    """One object's name (omit to list)."""
    all_namespaces: bool = False
    selector: validate.LabelSelector | None = None
    """Label selector, e.g. `app=web,tier in (frontend)`."""
    field_selector: validate.FieldSelector | None = None
    output: Literal["table", "wide", "yaml", "json", "name"] = "table"
    jsonpath: validate.JsonPath | None = None
    """A JSONPath template instead of `output`, e.g. `{.items[*].metadata.name}`."""


class DescribeParams(NamespacedParams):
    resource: validate.ResourceOrRef
    name: validate.Name | None = None
    selector: validate.LabelSelector | None = None


class LogsParams(NamespacedParams):
    pod: validate.ResourceOrRef
    """Pod name, or `deployment/web` for one of its pods."""
    container: validate.ContainerName | None = None
    tail: int = Field(default=200, ge=1, le=5000)
    """Number of most recent lines."""
    since: validate.Duration | None = None
    """Only lines newer than this, e.g. `10m`."""
    previous: bool = False
    """Logs of the previous (crashed) container instance."""
    timestamps: bool = False


class EventsParams(NamespacedParams):
    all_namespaces: bool = False
    for_object: validate.ResourceRef | None = None
    """Only events about this object, e.g. `pod/web-7d4b9`."""
    types: Literal["Normal", "Warning"] | None = None


class RolloutRefParams(NamespacedParams):
    resource: validate.ResourceRef
    """The workload, e.g. `deployment/web`."""


class RolloutStatusParams(RolloutRefParams):
    timeout_s: int = Field(default=60, ge=1, le=MAX_ROLLOUT_TIMEOUT_S)
    """How long to wait for the rollout to finish (at most 600 s)."""


class RolloutHistoryParams(RolloutRefParams):
    revision: int | None = Field(default=None, ge=1)


class ClusterInfoParams(KubeParams):
    pass


class ContextsParams(ToolParams):
    pass


class TopPodsParams(NamespacedParams):
    all_namespaces: bool = False
    selector: validate.LabelSelector | None = None
    containers: bool = False
    """Show per-container usage."""


class TopNodesParams(KubeParams):
    selector: validate.LabelSelector | None = None


class ApiResourcesParams(KubeParams):
    namespaced: bool | None = None
    """Only namespaced (true) or cluster-scoped (false) resources."""
    api_group: validate.ResourceType | None = None


class AuthCanIParams(NamespacedParams):
    verb: Literal[
        "get", "list", "watch", "create", "update", "patch", "delete", "deletecollection", "*"
    ]
    resource: validate.ResourceOrRef
    subresource: validate.DnsLabel | None = None


class ManifestParams(NamespacedParams):
    manifest: Manifest
    """YAML or JSON Kubernetes objects (several documents allowed)."""


class DiffParams(ManifestParams):
    pass


class WaitParams(ToolParams):
    seconds: int = Field(ge=1, le=MAX_WAIT_S)
    """How long to pause before the next step (at most 300 s)."""


class ApplyParams(ManifestParams):
    server_side: bool = False
    """Server-side apply (field manager `opsgate`)."""


class ObjectParams(NamespacedParams):
    resource: validate.ResourceOrRef
    """Resource type (`deployment`) or `type/name` (`deployment/web`)."""
    name: validate.Name | None = None
    """The object's name when `resource` is only a type."""

    @model_validator(mode="after")
    def _one_object(self) -> ObjectParams:
        has_name = "/" in self.resource
        if has_name == (self.name is not None):
            raise ValueError("name one object: either 'resource' as type/name, or 'name'")
        return self


class PatchParams(ObjectParams):
    patch: PatchBody
    """The patch as JSON (a JSON Patch list for type `json`)."""
    patch_type: Literal["strategic", "merge", "json"] = "strategic"

    @model_validator(mode="after")
    def _patch_matches_type(self) -> PatchParams:
        is_list = self.patch.lstrip().startswith("[") or self.patch.lstrip().startswith("- ")
        if is_list != (self.patch_type == "json"):
            raise ValueError("patch: a JSON Patch list needs patch_type 'json', and only it")
        return self


class LabelParams(ObjectParams):
    labels: dict[validate.LabelKey, validate.LabelValue | None] = Field(min_length=1)
    """Labels to set; a null value removes the label."""
    overwrite: bool = False


class AnnotateParams(ObjectParams):
    annotations: dict[validate.LabelKey, validate.AnnotationValue | None] = Field(min_length=1)
    """Annotations to set; a null value removes the annotation."""
    overwrite: bool = False


class SetImageParams(RolloutRefParams):
    images: dict[validate.ContainerName, validate.ImageRef] = Field(min_length=1)
    """Container name → new image, e.g. `{"web": "nginx:1.27"}`."""


class ScaleParams(RolloutRefParams):
    replicas: int = Field(ge=0, le=1000)


class RolloutUndoParams(RolloutRefParams):
    to_revision: int | None = Field(default=None, ge=1)
    """Revision to return to; the previous one when omitted."""


class DeleteParams(NamespacedParams):
    resource: validate.ResourceOrRef
    name: validate.Name | None = None
    selector: validate.LabelSelector | None = None
    """Delete every object matching this selector (instead of one name)."""
    grace_period_s: int | None = Field(default=None, ge=0, le=3600)

    @model_validator(mode="after")
    def _bounded_target(self) -> DeleteParams:
        targets = ("/" in self.resource) + (self.name is not None) + (self.selector is not None)
        if targets != 1:
            raise ValueError("name exactly one target: 'type/name', 'name' or 'selector'")
        return self


class NodeParams(KubeParams):
    node: validate.Name


class DrainParams(NodeParams):
    ignore_daemonsets: bool = True
    delete_emptydir_data: bool = False
    """Also evict pods using emptyDir volumes (their data is lost)."""
    timeout_s: int = Field(default=120, ge=1, le=MAX_ROLLOUT_TIMEOUT_S)
    grace_period_s: int | None = Field(default=None, ge=0, le=3600)


def _program_is_plain(command: list[str]) -> list[str]:
    if command and command[0].startswith("-"):
        raise ValueError("the program (first element) must not start with '-'")
    return command


class RunPodParams(NamespacedParams):
    name: validate.DnsLabel
    image: validate.ImageRef
    command: (
        Annotated[
            list[validate.ExecArgument],
            Field(min_length=1, max_length=64),
            AfterValidator(_program_is_plain),
        ]
        | None
    ) = None
    """Program and arguments to run instead of the image's entrypoint."""
    labels: dict[validate.LabelKey, validate.LabelValue] | None = None
    restart: Literal["Never", "OnFailure", "Always"] = "Never"


class ExecParams(NamespacedParams):
    pod: validate.Name
    container: validate.ContainerName | None = None
    command: Annotated[
        list[validate.ExecArgument],
        Field(min_length=1, max_length=64),
        AfterValidator(_program_is_plain),
    ]
    """The program and its arguments, as a list; no shell is involved."""

"""Parameter models of the kubectl tools: what the model may pass, validated field by field.

Used by `reads.py` and `mutations.py` (each tool names its model) and, through `Tool.params`,
by the MCP server for the JSON schema. Field docstrings become the schema descriptions.
The context and namespace every cluster tool takes come from `tools.base`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, ValidationInfo, field_validator, model_validator

from opsgate.tools import validate
from opsgate.tools.base import ClusterParams, NamespacedParams, ToolParams
from opsgate.tools.kubectl import kustomize, manifests

Manifest = Annotated[str, AfterValidator(manifests.check_manifest)]
PatchBody = Annotated[str, AfterValidator(manifests.check_patch_body)]
KustomizationFiles = Annotated[dict[str, str], AfterValidator(kustomize.check_files)]

MAX_WAIT_S = 300
MAX_ROLLOUT_TIMEOUT_S = 600


class NamedParams(NamespacedParams):
    """Objects named by a resource type (or `type/name`) and an optional name; the name is
    checked against its kind's grammar (`system:node` is a ClusterRole's, never a Pod's)."""

    resource: validate.ResourceOrRef
    """Resource type (`pods`) or `type/name` (`deployment/web`)."""
    name: validate.ObjectName | None = None
    """The object's name when `resource` is only a type."""

    @field_validator("name")
    @classmethod
    def _name_fits_its_kind(cls, name: str | None, info: ValidationInfo) -> str | None:
        resource = info.data.get("resource")
        if name is not None and isinstance(resource, str):
            validate.check_object_name(resource.partition("/")[0], name)
        return name


class GetParams(NamedParams):
    resource: validate.ResourceOrRef
    """Resource type (`pods`, `deployments.apps`) or `type/name` (`deployment/web`,
    `clusterrole/system:node`)."""
    name: validate.ObjectName | None = None
    """One object's name (omit to list); RBAC objects' may hold `:` (`system:node`)."""
    all_namespaces: bool = False
    """List across every namespace."""
    selector: validate.LabelSelector | None = None
    """Label selector, e.g. `app=web,tier in (frontend)`."""
    field_selector: validate.FieldSelector | None = None
    """Field selector, e.g. `status.phase!=Running`."""
    output: Literal["table", "wide", "yaml", "json", "name"] = "table"
    """Output format."""
    jsonpath: validate.JsonPath | None = None
    """A JSONPath template instead of `output`, e.g. `{.items[*].metadata.name}`."""


class DescribeParams(NamedParams):
    resource: validate.ResourceOrRef
    """Resource type (`pods`) or `type/name` (`deployment/web`)."""
    name: validate.ObjectName | None = None
    """One object's name when `resource` is only a type."""
    selector: validate.LabelSelector | None = None
    """Label selector, e.g. `app=web`."""


class LogsParams(NamespacedParams):
    pod: validate.ResourceOrRef
    """Pod name, or `deployment/web` for one of its pods."""
    container: validate.ContainerName | None = None
    """Container name (needed when the pod has several)."""
    tail: int = Field(default=200, ge=1, le=5000)
    """Number of most recent lines."""
    since: validate.Duration | None = None
    """Only lines newer than this, e.g. `10m`."""
    previous: bool = False
    """Logs of the previous (crashed) container instance."""
    timestamps: bool = False
    """Prefix each line with its timestamp."""


class EventsParams(NamespacedParams):
    all_namespaces: bool = False
    """Events of every namespace."""
    for_object: validate.ResourceRef | None = None
    """Only events about this object, e.g. `pod/web-7d4b9`."""
    types: Literal["Normal", "Warning"] | None = None
    """Only events of this type."""


class RolloutRefParams(NamespacedParams):
    resource: validate.ResourceRef
    """The workload, e.g. `deployment/web`."""


class RolloutStatusParams(RolloutRefParams):
    timeout_s: int = Field(default=60, ge=1, le=MAX_ROLLOUT_TIMEOUT_S)
    """How long to wait for the rollout to finish (at most 600 s)."""


class RolloutHistoryParams(RolloutRefParams):
    revision: int | None = Field(default=None, ge=1)
    """Show this revision's pod template in detail."""


class ClusterInfoParams(ClusterParams):
    pass


class ContextsParams(ToolParams):
    """No parameters: the contexts come from the server's kubeconfig."""


class TopPodsParams(NamespacedParams):
    all_namespaces: bool = False
    """Pods of every namespace."""
    selector: validate.LabelSelector | None = None
    """Label selector, e.g. `app=web`."""
    containers: bool = False
    """Show per-container usage."""


class TopNodesParams(ClusterParams):
    selector: validate.LabelSelector | None = None
    """Label selector over nodes."""


class ApiResourcesParams(ClusterParams):
    namespaced: bool | None = None
    """Only namespaced (true) or cluster-scoped (false) resources."""
    api_group: validate.ResourceType | None = None
    """Only this API group, e.g. `apps`."""


Verb = Literal[
    "get", "list", "watch", "create", "update", "patch", "delete", "deletecollection", "*"
]


class AuthCanIParams(NamespacedParams):
    verb: Verb | None = None
    """The verb to check (with `resource`; omit both with `list_all`)."""
    resource: validate.ResourceOrRef | None = None
    """Resource type (`pods`) or `type/name` (`secrets/api-db`)."""
    subresource: validate.DnsLabel | None = None
    """A subresource such as `log` or `scale`."""
    list_all: bool = False
    """List everything the subject may do in the namespace (`--list`) instead of one check."""
    all_namespaces: bool = False
    """Check in every namespace (with a verb), not only one."""
    as_user: validate.Subject | None = Field(default=None, alias="as")
    """Check as this user instead of the caller, e.g. `system:serviceaccount:shop:api` for a
    ServiceAccount or `jane@example.com` (kubectl's `--as`; the caller must be allowed to
    impersonate)."""
    as_groups: list[validate.Subject] = Field(default_factory=list, max_length=16)
    """Groups to check as, e.g. `system:authenticated` (`--as-group`; needs `as`)."""

    @model_validator(mode="after")
    def _one_question(self) -> AuthCanIParams:
        if self.list_all and (
            self.verb or self.resource or self.subresource or self.all_namespaces
        ):
            raise ValueError(
                "list_all lists every permission: give no verb, resource, "
                "subresource or all_namespaces with it"
            )
        if not self.list_all and (self.verb is None or self.resource is None):
            raise ValueError("give a verb and a resource to check, or list_all")
        if self.as_groups and self.as_user is None:
            raise ValueError("as_groups needs 'as' (kubectl impersonates groups only with a user)")
        return self


class ManifestParams(NamespacedParams):
    manifest: Manifest
    """YAML or JSON Kubernetes objects (several documents allowed)."""


class DiffParams(ManifestParams):
    """The manifest to compare against the live objects."""


class WaitParams(ToolParams):
    """How long to pause."""

    seconds: int = Field(ge=1, le=MAX_WAIT_S)
    """How long to pause before the next step (at most 300 s)."""


class ApplyParams(NamespacedParams):
    manifest: Manifest | None = None
    """YAML or JSON Kubernetes objects (several documents allowed; each object up to 1.5 MiB,
    the manifest up to 8 MiB)."""
    kustomize_dir: validate.LocalDirectory | None = None
    """Instead of `manifest`: a kustomization directory on the tool server, e.g.
    `/srv/deploy/overlays/prod`, rendered with `kubectl kustomize` when the call runs."""
    kustomization: KustomizationFiles | None = None
    """Instead of `manifest`: a kustomization's files, relative name to content, with
    `kustomization.yaml` at the top, e.g. `{"kustomization.yaml": "resources: [app.yaml]",
    "app.yaml": "..."}`; no remote bases or resources (URL-free)."""
    server_side: bool = False
    """Server-side apply (field manager `opsgate`); needed for objects over 256 KiB (big CRDs)."""
    force_conflicts: bool = False
    """With `server_side`: take over fields other field managers set (an undo restoring an
    object's previous values, whoever changed them since)."""

    @model_validator(mode="after")
    def _one_source(self) -> ApplyParams:
        given = (self.manifest, self.kustomize_dir, self.kustomization)
        if sum(source is not None for source in given) != 1:
            raise ValueError("give exactly one of 'manifest', 'kustomize_dir' or 'kustomization'")
        return self

    @model_validator(mode="after")
    def _force_only_server_side(self) -> ApplyParams:
        if self.force_conflicts and not self.server_side:
            raise ValueError("force_conflicts applies only with server_side: true")
        return self

    @model_validator(mode="after")
    def _big_objects_apply_server_side(self) -> ApplyParams:
        # A kustomization's objects are checked once rendered (`kustomize.manifest_of`).
        given = self.manifest if not self.server_side else None
        big = manifests.too_big_for_client_side(given) if given is not None else []
        if big:
            raise ValueError(
                f"{', '.join(big)} is over {manifests.CLIENT_SIDE_APPLY_MAX_BYTES} bytes: "
                "client-side apply keeps a copy of each object in an annotation, and the API "
                "server refuses annotations that large; set server_side: true"
            )
        return self


class ObjectParams(NamedParams):
    resource: validate.ResourceOrRef
    """Resource type (`deployment`) or `type/name` (`deployment/web`)."""
    name: validate.ObjectName | None = None
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
    """Strategic merge (default), JSON merge, or JSON Patch."""

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
    """Allow changing a label that already has a value."""


class AnnotateParams(ObjectParams):
    annotations: dict[validate.LabelKey, validate.AnnotationValue | None] = Field(min_length=1)
    """Annotations to set; a null value removes the annotation."""
    overwrite: bool = False
    """Allow changing an annotation that already has a value."""


class SetImageParams(RolloutRefParams):
    images: dict[validate.ContainerName, validate.ImageRef] = Field(min_length=1)
    """Container name → new image, e.g. `{"web": "nginx:1.27"}`."""


class ScaleParams(RolloutRefParams):
    replicas: int = Field(ge=0, le=1000)
    """The desired number of replicas."""


class RolloutUndoParams(RolloutRefParams):
    to_revision: int | None = Field(default=None, ge=1)
    """Revision to return to; the previous one when omitted."""


class DeleteParams(NamedParams):
    resource: validate.ResourceOrRef
    """Resource type (`pods`) or `type/name` (`pod/web-1`)."""
    name: validate.ObjectName | None = None
    """The object's name when `resource` is only a type."""
    selector: validate.LabelSelector | None = None
    """Delete every object matching this selector (instead of one name)."""
    grace_period_s: int | None = Field(default=None, ge=0, le=3600)
    """Seconds pods get to shut down (the pod's own setting when omitted)."""

    @model_validator(mode="after")
    def _bounded_target(self) -> DeleteParams:
        targets = ("/" in self.resource) + (self.name is not None) + (self.selector is not None)
        if targets != 1:
            raise ValueError("name exactly one target: 'type/name', 'name' or 'selector'")
        return self


class CreateJobParams(NamespacedParams):
    cronjob: validate.Name
    """The CronJob whose job template to run now, e.g. `nightly-report`."""
    name: validate.DnsLabel
    """The new Job's name, e.g. `nightly-report-manual-1` (it must not exist yet)."""


class NodeParams(ClusterParams):
    node: validate.Name
    """The node's name."""


class DrainParams(NodeParams):
    ignore_daemonsets: bool = True
    """Leave daemonset pods in place (drain refuses otherwise)."""
    delete_emptydir_data: bool = False
    """Also evict pods using emptyDir volumes (their data is lost)."""
    timeout_s: int = Field(default=120, ge=1, le=MAX_ROLLOUT_TIMEOUT_S)
    """Give up after this many seconds (at most 600)."""
    grace_period_s: int | None = Field(default=None, ge=0, le=3600)
    """Seconds each pod gets to shut down."""


def _program_is_plain(command: list[str]) -> list[str]:
    if command and command[0].startswith("-"):
        raise ValueError("the program (first element) must not start with '-'")
    return command


class RunPodParams(NamespacedParams):
    name: validate.DnsLabel
    """The new pod's name."""
    image: validate.ImageRef
    """The container image, e.g. `busybox:1.36`."""
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
    """Labels for the pod."""
    restart: Literal["Never", "OnFailure", "Always"] = "Never"
    """The pod's restart policy."""


class ExecParams(NamespacedParams):
    pod: validate.Name
    """The pod's name."""
    container: validate.ContainerName | None = None
    """Container name (needed when the pod has several)."""
    command: Annotated[
        list[validate.ExecArgument],
        Field(min_length=1, max_length=64),
        AfterValidator(_program_is_plain),
    ]
    """The program and its arguments, as a list; no shell is involved."""

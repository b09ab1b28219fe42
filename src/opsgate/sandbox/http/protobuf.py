"""Decode the protobuf request bodies client-go sends for a few built-in kinds.

`kubectl create namespace|configmap|secret|serviceaccount|role|rolebinding|token...` and
`kubectl auth` post protobuf bodies, and helm deletes with protobuf DeleteOptions: the
`k8s\\x00` envelope (runtime.Unknown) around the generated message. `writes` calls `decode`
and stores the JSON form. Only the messages those clients send are described here.
"""

from __future__ import annotations

import base64
from typing import Any

MAGIC = b"k8s\x00"

# message name -> field number -> (json name, type); types: str, bytes, int, bool, a message
# name, "map:str" / "map:bytes" (map<string,...>), "rep:<type>" (repeated).
Schema = dict[str, dict[int, tuple[str, str]]]
SCHEMA: Schema = {
    "Unknown": {
        1: ("typeMeta", "TypeMeta"),
        2: ("raw", "bytes"),
        3: ("contentEncoding", "str"),
        4: ("contentType", "str"),
    },
    "TypeMeta": {1: ("apiVersion", "str"), 2: ("kind", "str")},
    "ObjectMeta": {
        1: ("name", "str"),
        2: ("generateName", "str"),
        3: ("namespace", "str"),
        5: ("uid", "str"),
        6: ("resourceVersion", "str"),
        11: ("labels", "map:str"),
        12: ("annotations", "map:str"),
        13: ("ownerReferences", "rep:OwnerReference"),
        14: ("finalizers", "rep:str"),
    },
    "OwnerReference": {
        1: ("kind", "str"),
        3: ("name", "str"),
        4: ("uid", "str"),
        5: ("apiVersion", "str"),
        6: ("controller", "bool"),
        7: ("blockOwnerDeletion", "bool"),
    },
    "Namespace": {1: ("metadata", "ObjectMeta"), 2: ("spec", "NamespaceSpec")},
    "NamespaceSpec": {1: ("finalizers", "rep:str")},
    "ConfigMap": {
        1: ("metadata", "ObjectMeta"),
        2: ("data", "map:str"),
        3: ("binaryData", "map:bytes"),
        4: ("immutable", "bool"),
    },
    "Secret": {
        1: ("metadata", "ObjectMeta"),
        2: ("data", "map:bytes"),
        3: ("type", "str"),
        4: ("stringData", "map:str"),
        5: ("immutable", "bool"),
    },
    "ServiceAccount": {1: ("metadata", "ObjectMeta"), 3: ("automountServiceAccountToken", "bool")},
    # `kubectl create deployment|job|service ...`
    "Deployment": {1: ("metadata", "ObjectMeta"), 2: ("spec", "DeploymentSpec")},
    "DeploymentSpec": {
        1: ("replicas", "int"),
        2: ("selector", "LabelSelector"),
        3: ("template", "PodTemplateSpec"),
        6: ("revisionHistoryLimit", "int"),
        7: ("paused", "bool"),
        9: ("progressDeadlineSeconds", "int"),
    },
    "LabelSelector": {1: ("matchLabels", "map:str")},
    "PodTemplateSpec": {1: ("metadata", "ObjectMeta"), 2: ("spec", "PodSpec")},
    "PodSpec": {
        2: ("containers", "rep:Container"),
        3: ("restartPolicy", "str"),
        6: ("dnsPolicy", "str"),
        7: ("nodeSelector", "map:str"),
        8: ("serviceAccountName", "str"),
        10: ("nodeName", "str"),
        20: ("initContainers", "rep:Container"),
    },
    "Container": {
        1: ("name", "str"),
        2: ("image", "str"),
        3: ("command", "rep:str"),
        4: ("args", "rep:str"),
        5: ("workingDir", "str"),
        6: ("ports", "rep:ContainerPort"),
        7: ("env", "rep:EnvVar"),
        14: ("imagePullPolicy", "str"),
    },
    "ContainerPort": {1: ("name", "str"), 3: ("containerPort", "int"), 4: ("protocol", "str")},
    "EnvVar": {1: ("name", "str"), 2: ("value", "str")},
    "Job": {1: ("metadata", "ObjectMeta"), 2: ("spec", "JobSpec")},
    "JobSpec": {
        1: ("parallelism", "int"),
        2: ("completions", "int"),
        6: ("template", "PodTemplateSpec"),
        7: ("backoffLimit", "int"),
    },
    "Service": {1: ("metadata", "ObjectMeta"), 2: ("spec", "ServiceSpec")},
    "ServiceSpec": {
        1: ("ports", "rep:ServicePort"),
        2: ("selector", "map:str"),
        3: ("clusterIP", "str"),
        4: ("type", "str"),
    },
    "ServicePort": {
        1: ("name", "str"),
        2: ("protocol", "str"),
        3: ("port", "int"),
        4: ("targetPort", "IntOrString"),
        5: ("nodePort", "int"),
    },
    "IntOrString": {1: ("type", "int"), 2: ("intVal", "int"), 3: ("strVal", "str")},
    # DELETE bodies of helm and client-go, and evictions: they carry `dryRun`.
    "DeleteOptions": {
        1: ("gracePeriodSeconds", "int"),
        2: ("preconditions", "Preconditions"),
        3: ("orphanDependents", "bool"),
        4: ("propagationPolicy", "str"),
        5: ("dryRun", "rep:str"),
    },
    "Preconditions": {1: ("uid", "str"), 2: ("resourceVersion", "str")},
    # `kubectl create role|clusterrole|rolebinding|clusterrolebinding|token`
    "Role": {1: ("metadata", "ObjectMeta"), 2: ("rules", "rep:PolicyRule")},
    "ClusterRole": {1: ("metadata", "ObjectMeta"), 2: ("rules", "rep:PolicyRule")},
    "PolicyRule": {
        1: ("verbs", "rep:str"),
        2: ("apiGroups", "rep:str"),
        3: ("resources", "rep:str"),
        4: ("resourceNames", "rep:str"),
        5: ("nonResourceURLs", "rep:str"),
    },
    "RoleBinding": {
        1: ("metadata", "ObjectMeta"),
        2: ("subjects", "rep:Subject"),
        3: ("roleRef", "RoleRef"),
    },
    "ClusterRoleBinding": {
        1: ("metadata", "ObjectMeta"),
        2: ("subjects", "rep:Subject"),
        3: ("roleRef", "RoleRef"),
    },
    "Subject": {
        1: ("kind", "str"),
        2: ("apiGroup", "str"),
        3: ("name", "str"),
        4: ("namespace", "str"),
    },
    "RoleRef": {1: ("apiGroup", "str"), 2: ("kind", "str"), 3: ("name", "str")},
    "TokenRequest": {1: ("metadata", "ObjectMeta"), 2: ("spec", "TokenRequestSpec")},
    "TokenRequestSpec": {1: ("audiences", "rep:str"), 4: ("expirationSeconds", "int")},
    # `kubectl auth can-i [--list]`, `kubectl auth whoami`, and reviews of other subjects
    "SelfSubjectAccessReview": {1: ("metadata", "ObjectMeta"), 2: ("spec", "AccessReviewSpec")},
    "SubjectAccessReview": {1: ("metadata", "ObjectMeta"), 2: ("spec", "AccessReviewSpec")},
    "LocalSubjectAccessReview": {1: ("metadata", "ObjectMeta"), 2: ("spec", "AccessReviewSpec")},
    "AccessReviewSpec": {
        1: ("resourceAttributes", "ResourceAttributes"),
        2: ("nonResourceAttributes", "NonResourceAttributes"),
        3: ("user", "str"),
        4: ("groups", "rep:str"),
        6: ("uid", "str"),
    },
    "ResourceAttributes": {
        1: ("namespace", "str"),
        2: ("verb", "str"),
        3: ("group", "str"),
        4: ("version", "str"),
        5: ("resource", "str"),
        6: ("subresource", "str"),
        7: ("name", "str"),
    },
    "NonResourceAttributes": {1: ("path", "str"), 2: ("verb", "str")},
    "SelfSubjectRulesReview": {1: ("metadata", "ObjectMeta"), 2: ("spec", "RulesReviewSpec")},
    "RulesReviewSpec": {1: ("namespace", "str")},
    "SelfSubjectReview": {1: ("metadata", "ObjectMeta")},
    "TokenReview": {1: ("metadata", "ObjectMeta"), 2: ("spec", "TokenReviewSpec")},
    "TokenReviewSpec": {1: ("token", "str"), 2: ("audiences", "rep:str")},
    # `kubectl autoscale` (v2 first, v1 when the server refuses v2)
    "autoscaling/v2/HorizontalPodAutoscaler": {
        1: ("metadata", "ObjectMeta"),
        2: ("spec", "HPASpecV2"),
    },
    "HPASpecV2": {
        1: ("scaleTargetRef", "CrossVersionObjectReference"),
        2: ("minReplicas", "int"),
        3: ("maxReplicas", "int"),
        4: ("metrics", "rep:MetricSpec"),
    },
    "CrossVersionObjectReference": {
        1: ("kind", "str"),
        2: ("name", "str"),
        3: ("apiVersion", "str"),
    },
    "MetricSpec": {1: ("type", "str"), 4: ("resource", "ResourceMetricSource")},
    "ResourceMetricSource": {1: ("name", "str"), 2: ("target", "MetricTarget")},
    "MetricTarget": {
        1: ("type", "str"),
        2: ("value", "Quantity"),
        3: ("averageValue", "Quantity"),
        4: ("averageUtilization", "int"),
    },
    "Quantity": {1: ("string", "str")},
    "autoscaling/v1/HorizontalPodAutoscaler": {
        1: ("metadata", "ObjectMeta"),
        2: ("spec", "HPASpecV1"),
    },
    "HPASpecV1": {
        1: ("scaleTargetRef", "CrossVersionObjectReference"),
        2: ("minReplicas", "int"),
        3: ("maxReplicas", "int"),
        4: ("targetCPUUtilizationPercentage", "int"),
    },
    "Eviction": {1: ("metadata", "ObjectMeta"), 2: ("deleteOptions", "DeleteOptions")},
}


class ProtobufError(ValueError):
    """The body is not a protobuf message the sandbox understands."""


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise ProtobufError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _fields(data: bytes) -> list[tuple[int, int | bytes]]:
    out: list[tuple[int, int | bytes]] = []
    pos = 0
    while pos < len(data):
        tag, pos = _varint(data, pos)
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            value, pos = _varint(data, pos)
            out.append((number, value))
        elif wire == 2:
            length, pos = _varint(data, pos)
            out.append((number, data[pos : pos + length]))
            pos += length
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        else:
            raise ProtobufError(f"unsupported wire type {wire}")
    return out


def _scalar(kind: str, raw: int | bytes) -> Any:
    if kind == "str":
        return raw.decode() if isinstance(raw, bytes) else str(raw)
    if kind == "bytes":
        return base64.b64encode(raw).decode() if isinstance(raw, bytes) else ""
    if kind == "int":
        return raw if isinstance(raw, int) else 0
    if kind == "bool":
        return bool(raw)
    if not isinstance(raw, bytes):
        raise ProtobufError(f"expected a {kind} message")
    message = decode_message(kind, raw)
    if kind == "Quantity":
        return message.get("string", "")
    if kind == "IntOrString":
        return message.get("strVal", "") if message.get("type") == 1 else message.get("intVal", 0)
    return message


def decode_message(message: str, data: bytes) -> dict[str, Any]:
    """Decode one message of the schema into its JSON form (unknown fields are dropped)."""
    schema = SCHEMA.get(message)
    if schema is None:
        raise ProtobufError(f"protobuf message {message!r} is not supported by the sandbox")
    out: dict[str, Any] = {}
    for number, raw in _fields(data):
        if number not in schema:
            continue
        name, kind = schema[number]
        if kind.startswith("map:"):
            entry = dict(_fields(raw if isinstance(raw, bytes) else b""))
            key = _scalar("str", entry.get(1, b""))
            out.setdefault(name, {})[key] = _scalar(kind[4:], entry.get(2, b""))
        elif kind.startswith("rep:"):
            out.setdefault(name, []).append(_scalar(kind[4:], raw))
        else:
            value = _scalar(kind, raw)
            # gogo-protobuf writes empty strings and false explicitly; JSON omits them.
            if value not in ("", False) or kind in ("bytes", "int"):
                out[name] = value
    return out


def decode(body: bytes) -> dict[str, Any]:
    """Decode a `k8s\\x00`-enveloped body into a JSON object with apiVersion and kind."""
    if not body.startswith(MAGIC):
        raise ProtobufError("missing the k8s protobuf envelope")
    envelope = decode_message("Unknown", body[len(MAGIC) :])
    type_meta = envelope.get("typeMeta", {})
    kind = type_meta.get("kind", "")
    raw = base64.b64decode(envelope.get("raw", ""))
    api_version = type_meta.get("apiVersion", "v1")
    # Kinds whose messages differ between versions are described per version.
    versioned = f"{api_version}/{kind}"
    obj = decode_message(versioned if versioned in SCHEMA else kind, raw)
    obj["apiVersion"] = api_version
    obj["kind"] = kind
    return obj

"""A CustomResourceDefinition of about 800 KB, in the shape of prometheus-operator's `Prometheus`.

Public operator CRDs (prometheus-operator's `prometheuses.monitoring.coreos.com`, Apache-2.0, is
620-830 KB depending on the release) are that big because each embeds Kubernetes' own schemas
(containers, probes, volumes, affinity) with their documentation, several times over. This one
is built the same way from schemas written here, so its size comes from the same structure.
"""

from __future__ import annotations

from typing import Any

import yaml

_DOC = (
    "More info: https://kubernetes.io/docs/concepts/ . This field is documented as upstream "
    "documents the Kubernetes field it embeds; cannot be updated once set unless noted."
)


def _string(what: str) -> dict[str, Any]:
    return {"type": "string", "description": f"{what}. {_DOC}"}


def _object(what: str, properties: dict[str, Any], required: list[str] | None = None) -> Any:
    schema: dict[str, Any] = {
        "type": "object",
        "description": f"{what}. {_DOC}",
        "properties": properties,
    }
    if required:
        schema["required"] = required
    return schema


def _array(what: str, items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "description": f"{what}. {_DOC}", "items": items}


def _probe() -> dict[str, Any]:
    return _object(
        "Periodic probe of container liveness, readiness or startup",
        {
            "exec": _object(
                "Exec specifies a command to execute",
                {"command": _array("Command line", {"type": "string"})},
            ),
            "httpGet": _object(
                "HTTPGet specifies an HTTP GET request to perform",
                {
                    "host": _string("Host name to connect to"),
                    "path": _string("Path to access on the HTTP server"),
                    "port": {
                        "anyOf": [{"type": "integer"}, {"type": "string"}],
                        "x-kubernetes-int-or-string": True,
                    },
                    "scheme": _string("Scheme to use for connecting to the host"),
                    "httpHeaders": _array(
                        "Custom headers to set in the request",
                        _object(
                            "A header",
                            {"name": _string("Header name"), "value": _string("Header value")},
                            ["name", "value"],
                        ),
                    ),
                },
                ["port"],
            ),
            **{
                field: {"type": "integer", "format": "int32", "description": f"{field}. {_DOC}"}
                for field in (
                    "failureThreshold",
                    "initialDelaySeconds",
                    "periodSeconds",
                    "successThreshold",
                    "timeoutSeconds",
                    "terminationGracePeriodSeconds",
                )
            },
        },
    )


def _container() -> dict[str, Any]:
    quantity = {
        "anyOf": [{"type": "integer"}, {"type": "string"}],
        "x-kubernetes-int-or-string": True,
    }
    return _object(
        "A single application container that you want to run within a pod",
        {
            "name": _string("Name of the container specified as a DNS_LABEL"),
            "image": _string("Container image name"),
            "imagePullPolicy": _string("Image pull policy: Always, Never, IfNotPresent"),
            "command": _array("Entrypoint array", {"type": "string"}),
            "args": _array("Arguments to the entrypoint", {"type": "string"}),
            "workingDir": _string("Container's working directory"),
            "env": _array(
                "List of environment variables to set in the container",
                _object(
                    "EnvVar represents an environment variable present in a Container",
                    {
                        "name": _string("Name of the environment variable"),
                        "value": _string("Variable references $(VAR_NAME) are expanded"),
                        "valueFrom": _object(
                            "Source for the environment variable's value",
                            {
                                "configMapKeyRef": _object(
                                    "Selects a key of a ConfigMap",
                                    {
                                        "key": _string("The key"),
                                        "name": _string("Name of the referent"),
                                        "optional": {"type": "boolean"},
                                    },
                                ),
                                "secretKeyRef": _object(
                                    "Selects a key of a secret",
                                    {
                                        "key": _string("The key"),
                                        "name": _string("Name of the referent"),
                                        "optional": {"type": "boolean"},
                                    },
                                ),
                                "fieldRef": _object(
                                    "Selects a field of the pod",
                                    {
                                        "apiVersion": _string("Version of the schema"),
                                        "fieldPath": _string("Path of the field"),
                                    },
                                ),
                            },
                        ),
                    },
                    ["name"],
                ),
            ),
            "ports": _array(
                "List of ports to expose from the container",
                _object(
                    "A network port in a single container",
                    {
                        "containerPort": {"type": "integer", "format": "int32"},
                        "hostIP": _string("What host IP to bind the external port to"),
                        "hostPort": {"type": "integer", "format": "int32"},
                        "name": _string("An IANA_SVC_NAME"),
                        "protocol": _string("Protocol for port: UDP, TCP, or SCTP"),
                    },
                    ["containerPort"],
                ),
            ),
            "resources": _object(
                "Compute Resources required by this container",
                {
                    "limits": {
                        "type": "object",
                        "additionalProperties": quantity,
                        "description": _DOC,
                    },
                    "requests": {
                        "type": "object",
                        "additionalProperties": quantity,
                        "description": _DOC,
                    },
                },
            ),
            "livenessProbe": _probe(),
            "readinessProbe": _probe(),
            "startupProbe": _probe(),
            "securityContext": _object(
                "Security options the container should be run with",
                {
                    "allowPrivilegeEscalation": {"type": "boolean", "description": _DOC},
                    "privileged": {"type": "boolean", "description": _DOC},
                    "readOnlyRootFilesystem": {"type": "boolean", "description": _DOC},
                    "runAsGroup": {"type": "integer", "format": "int64"},
                    "runAsNonRoot": {"type": "boolean"},
                    "runAsUser": {"type": "integer", "format": "int64"},
                    "capabilities": _object(
                        "The capabilities to add/drop",
                        {
                            "add": _array("Added", {"type": "string"}),
                            "drop": _array("Removed", {"type": "string"}),
                        },
                    ),
                },
            ),
            "volumeMounts": _array(
                "Pod volumes to mount into the container's filesystem",
                _object(
                    "A mounting of a Volume within a container",
                    {
                        "mountPath": _string("Path within the container"),
                        "name": _string("This must match the Name of a Volume"),
                        "readOnly": {"type": "boolean"},
                        "subPath": _string("Path within the volume"),
                    },
                    ["mountPath", "name"],
                ),
            ),
        },
        ["name"],
    )


def prometheus_like_crd(group: str, target_bytes: int = 830_000) -> str:
    """The CRD as YAML, about `target_bytes` long: a spec with containers, init containers and
    as many further embedded container schemas (sidecars, as operators add) as that takes."""
    spec: dict[str, Any] = {
        "containers": _array("Containers allows injecting additional containers", _container()),
        "initContainers": _array("InitContainers allows adding initContainers", _container()),
        "replicas": {"type": "integer", "format": "int32", "description": _DOC},
        "retention": _string("Time duration Prometheus shall retain data for"),
    }
    crd: dict[str, Any] = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": f"prometheuses.{group}",
            "annotations": {"controller-gen.kubebuilder.io/version": "v0.16.1"},
        },
        "spec": {
            "group": group,
            "names": {
                "categories": ["prometheus-operator"],
                "kind": "Prometheus",
                "listKind": "PrometheusList",
                "plural": "prometheuses",
                "shortNames": ["prom"],
                "singular": "prometheus",
            },
            "scope": "Namespaced",
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "schema": {
                        "openAPIV3Schema": _object(
                            "Prometheus defines a Prometheus deployment",
                            {
                                "apiVersion": _string("APIVersion of this representation"),
                                "kind": _string("Kind is a string value"),
                                "metadata": {"type": "object"},
                                "spec": _object("Specification of the desired behavior", spec),
                            },
                            ["spec"],
                        )
                    },
                }
            ],
        },
    }
    base = len(_dump(crd))
    spec["sidecar1"] = _container()
    one = len(_dump(crd)) - base
    for sidecar in range(2, max(0, target_bytes - base) // one + 1):
        spec[f"sidecar{sidecar}"] = _container()
    return _dump(crd)


def _dump(document: dict[str, Any]) -> str:
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(document, Dumper=dumper, sort_keys=False)

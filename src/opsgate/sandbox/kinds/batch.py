"""The `batch` group: Jobs and CronJobs (`batch/v1beta1` was removed in 1.25 and is not served)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from opsgate.sandbox.apiserver import cron
from opsgate.sandbox.apiserver.resources import Resource
from opsgate.sandbox.apiserver.store import Obj, parse_time
from opsgate.sandbox.kinds import podspec
from opsgate.sandbox.kinds.apps import workload_extra
from opsgate.sandbox.kinds.base import (
    Cause,
    Kind,
    age,
    duration,
    human_age,
    invalid,
    invalid_text,
    required,
    spec,
    status,
    unsupported,
)

_S = "string"
_WIDE = (("Containers", _S, 1), ("Images", _S, 1), ("Selector", _S, 1))


def job_condition(job: Obj) -> str:
    """The STATUS column, in kube-apiserver's precedence: Complete, Failed, Terminating,
    Suspended, FailureTarget, SuccessCriteriaMet, else Running."""
    true = {c.get("type") for c in status(job).get("conditions") or [] if c.get("status") == "True"}
    for kind in ("Complete", "Failed"):
        if kind in true:
            return kind
    if job.get("metadata", {}).get("deletionTimestamp"):
        return "Terminating"
    for kind in ("Suspended", "FailureTarget", "SuccessCriteriaMet"):
        if kind in true:
            return kind
    return "Running"


def _job_row(job: Obj) -> list[Any]:
    st = status(job)
    elapsed = ""
    if st.get("startTime"):
        end = parse_time(st["completionTime"]) if st.get("completionTime") else datetime.now(UTC)
        elapsed = duration(max(int((end - parse_time(st["startTime"])).total_seconds()), 0))
    completions = spec(job).get("completions")
    shown = (
        f"{st.get('succeeded', 0)}/{completions}"
        if completions is not None
        else (f"{st.get('succeeded', 0)}/1 of {spec(job).get('parallelism', 1)}")
    )
    return [job_condition(job), shown, elapsed, age(job), *workload_extra(job)]


def _cronjob_row(cj: Obj) -> list[Any]:
    sp, st = spec(cj), status(cj)
    last = st.get("lastScheduleTime")
    template = sp.get("jobTemplate", {})
    return [
        sp.get("schedule", ""),
        sp.get("timeZone", "<none>"),
        "True" if sp.get("suspend") else "False",
        len(st.get("active") or []),
        human_age(last) if last else "<none>",
        age(cj),
        *workload_extra(template),
    ]


def _job_spec_defaults(sp: Obj) -> None:
    sp.setdefault("backoffLimit", 6)
    sp.setdefault("completionMode", "NonIndexed")
    sp.setdefault("suspend", False)
    if "completions" not in sp and "parallelism" not in sp:
        sp["completions"] = 1
    sp.setdefault("parallelism", 1)
    sp.setdefault("podReplacementPolicy", "TerminatingOrFailed")
    podspec.defaults(sp.setdefault("template", {}).setdefault("spec", {}), in_template=True)


def _job_defaults(obj: Obj) -> None:
    _job_spec_defaults(obj.setdefault("spec", {}))


def _job_spec_causes(sp: Any, path: str) -> list[Cause]:
    if not isinstance(sp, dict):
        return [required(path)]
    template = sp.get("template", {}).get("spec")
    causes = podspec.validate(template, f"{path}.template.spec", ["OnFailure", "Never"])
    for field in ("parallelism", "completions", "backoffLimit", "activeDeadlineSeconds"):
        value = sp.get(field)
        if value is not None and (not isinstance(value, int) or value < 0):
            causes.append(invalid(f"{path}.{field}", value, "must be greater than or equal to 0"))
    return causes


def _job_validate(obj: Obj, old: Obj | None) -> list[Cause]:
    causes = _job_spec_causes(obj.get("spec"), "spec")
    if old is not None:
        # The controller adds its uid labels to the template on create; compare without them.
        def bare(job: Obj) -> Any:
            template = dict(spec(job).get("template") or {})
            meta = dict(template.get("metadata") or {})
            labels = {
                k: v
                for k, v in (meta.get("labels") or {}).items()
                if not k.startswith(("batch.kubernetes.io/", "controller-uid", "job-name"))
            }
            meta["labels"] = labels
            template["metadata"] = meta
            return template

        if bare(obj) != bare(old):
            causes.append(
                invalid_text("spec.template", "core.PodTemplateSpec{...}", "field is immutable")
            )
    return causes


def _cronjob_defaults(obj: Obj) -> None:
    sp = obj.setdefault("spec", {})
    sp.setdefault("concurrencyPolicy", "Allow")
    sp.setdefault("suspend", False)
    sp.setdefault("successfulJobsHistoryLimit", 3)
    sp.setdefault("failedJobsHistoryLimit", 1)
    _job_spec_defaults(sp.setdefault("jobTemplate", {}).setdefault("spec", {}))


def _cronjob_validate(obj: Obj, old: Obj | None) -> list[Cause]:
    sp = spec(obj)
    causes: list[Cause] = []
    schedule = sp.get("schedule")
    if not schedule:
        causes.append(required("spec.schedule"))
    else:
        try:
            cron.parse(str(schedule))
        except cron.ScheduleError as e:
            causes.append(invalid("spec.schedule", schedule, str(e)))
    policy = sp.get("concurrencyPolicy")
    if policy not in (None, "Allow", "Forbid", "Replace"):
        causes.append(unsupported("spec.concurrencyPolicy", policy, ["Allow", "Forbid", "Replace"]))
    return causes + _job_spec_causes(sp.get("jobTemplate", {}).get("spec"), "spec.jobTemplate.spec")


_R = Resource
KINDS: list[Kind] = [
    Kind(
        "Job",
        (_R("batch", "v1", "Job", "jobs", True, subresources=("status",), categories=("all",)),),
        (("Status", _S, 0), ("Completions", _S, 0), ("Duration", _S, 0), ("Age", _S, 0), *_WIDE),
        _job_row,
        _job_defaults,
        _job_validate,
    ),
    Kind(
        "CronJob",
        (
            _R(
                "batch",
                "v1",
                "CronJob",
                "cronjobs",
                True,
                ("cj",),
                subresources=("status",),
                categories=("all",),
            ),
        ),
        (
            ("Schedule", _S, 0),
            ("Timezone", _S, 0),
            ("Suspend", "boolean", 0),
            ("Active", "integer", 0),
            ("Last Schedule", "date", 0),
            ("Age", "date", 0),
            *_WIDE,
        ),
        _cronjob_row,
        _cronjob_defaults,
        _cronjob_validate,
        name_rule="label",
    ),
]

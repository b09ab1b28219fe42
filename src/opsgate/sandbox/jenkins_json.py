"""JSON shapes of the sandbox Jenkins, modelled on what Jenkins 2.4xx returns for `api/json`.

Called by `opsgate.sandbox.jenkins`. Each function returns the full ("deep") object; the HTTP
layer narrows it with `tree=` or, without one, uses the shallow form (`deep=False`), where
nested jobs and builds are only `{_class, name|number, url}` and `scm` is only its `_class`.
As in Jenkins, a freestyle job exports `scm` and its builds one `changeSet`; a Pipeline job
exports no `scm` and its runs a `changeSets` list (one per checkout).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from opsgate.sandbox.jenkins_state import Build, Change, Folder, Job, ParamDef, QueueItem

FREESTYLE = "hudson.model.FreeStyleProject"
FREESTYLE_BUILD = "hudson.model.FreeStyleBuild"
JOB_CLASSES = {"freestyle": FREESTYLE, "pipeline": "org.jenkinsci.plugins.workflow.job.WorkflowJob"}
BUILD_CLASSES = {
    "freestyle": FREESTYLE_BUILD,
    "pipeline": "org.jenkinsci.plugins.workflow.job.WorkflowRun",
}
FOLDER = "com.cloudbees.hudson.plugins.folder.Folder"
PARAM_CLASSES = {
    "string": ("hudson.model.StringParameterDefinition", "hudson.model.StringParameterValue"),
    "text": ("hudson.model.TextParameterDefinition", "hudson.model.TextParameterValue"),
    "boolean": ("hudson.model.BooleanParameterDefinition", "hudson.model.BooleanParameterValue"),
    "choice": ("hudson.model.ChoiceParameterDefinition", "hudson.model.StringParameterValue"),
    "password": (
        "hudson.model.PasswordParameterDefinition",
        "hudson.model.PasswordParameterValue",
    ),
}
COLORS = {"SUCCESS": "blue", "UNSTABLE": "yellow", "FAILURE": "red", "ABORTED": "aborted"}


def item_url(base: str, full_name: str) -> str:
    """`http://host/job/a/job/b/` for `a/b`."""
    return base + "".join(f"job/{quote(part, safe='')}/" for part in full_name.split("/"))


def ms(seconds: float) -> int:
    return int(seconds * 1000)


def color(job: Job, now: float) -> str:
    if job.disabled:
        return "disabled"
    finished = [b for b in job.builds.values() if not b.is_building(now)]
    building = any(b.is_building(now) for b in job.builds.values())
    last = max(finished, key=lambda b: b.number) if finished else None
    result = last.result(now) if last else None
    base = COLORS.get(result or "", "notbuilt")
    return f"{base}_anime" if building else base


def param_definition(definition: ParamDef) -> dict[str, Any]:
    definition_class, value_class = PARAM_CLASSES[definition.kind]
    default = "" if definition.kind == "password" else definition.default
    shaped: dict[str, Any] = {
        "_class": definition_class,
        "defaultParameterValue": {
            "_class": value_class,
            "name": definition.name,
            "value": default,
        },
        "description": definition.description,
        "name": definition.name,
        "type": definition_class.rsplit(".", 1)[-1],
    }
    if definition.kind == "choice":
        shaped["choices"] = list(definition.choices)
    return shaped


def change_json(change: Change, base: str) -> dict[str, Any]:
    when = datetime.fromtimestamp(change.timestamp, tz=UTC)
    user_id = change.email.split("@", 1)[0]
    return {
        "_class": "hudson.plugins.git.GitChangeSet",
        "affectedPaths": [path for _, path in change.paths],
        "commitId": change.commit_id,
        "timestamp": ms(change.timestamp),
        "author": {"absoluteUrl": f"{base}user/{user_id}", "fullName": change.author},
        "authorEmail": change.email,
        "comment": f"{change.message}\n",
        "date": when.strftime("%Y-%m-%d %H:%M:%S +0000"),
        "id": change.commit_id,
        "msg": change.message,
        "paths": [{"editType": edit, "file": path} for edit, path in change.paths],
    }


def build_json(job: Job, build: Build, base: str, now: float) -> dict[str, Any]:
    url = f"{item_url(base, job.full_name)}{build.number}/"
    building = build.is_building(now)
    change_set = {
        "_class": "hudson.plugins.git.GitChangeSetList",
        "items": [change_json(change, base) for change in build.changes],
        "kind": "git",
    }
    actions: list[dict[str, Any]] = []
    if job.params:
        actions.append(
            {
                "_class": "hudson.model.ParametersAction",
                "parameters": [
                    {
                        "_class": PARAM_CLASSES[d.kind][1],
                        "name": d.name,
                        **({} if d.kind == "password" else {"value": build.parameters.get(d.name)}),
                    }
                    for d in job.params
                ],
            }
        )
    actions.append(
        {
            "_class": "hudson.model.CauseAction",
            "causes": [
                {
                    "_class": "hudson.model.Cause$UserIdCause",
                    "shortDescription": f"Started by user {build.user}",
                    "userId": build.user,
                    "userName": build.user,
                }
            ],
        }
    )
    actions.append(
        {
            "_class": "hudson.plugins.git.util.BuildData",
            "lastBuiltRevision": {
                "SHA1": build.revision,
                "branch": [{"SHA1": build.revision, "name": f"refs/remotes/origin/{build.branch}"}],
            },
            "remoteUrls": [job.scm_url],
            "scmName": "",
        }
    )
    shaped: dict[str, Any] = {
        "_class": BUILD_CLASSES[job.kind],
        "actions": actions,
        "artifacts": [],
        "building": building,
        "description": build.description,
        "displayName": f"#{build.number}",
        "duration": 0 if building else ms(build.finished_at() - build.started_at),
        "estimatedDuration": ms(job.duration_s),
        "executor": {"_class": "hudson.model.OneOffExecutor"} if building else None,
        "fullDisplayName": f"{job.full_name.replace('/', ' » ')} #{build.number}",
        "id": str(build.number),
        "keepLog": False,
        "number": build.number,
        "queueId": build.queue_id,
        "result": build.result(now),
        "timestamp": ms(build.started_at),
        "url": url,
        "culprits": [],
    }
    if job.kind == "pipeline":
        shaped["changeSets"] = [change_set] if build.changes else []
        shaped["inProgress"] = building
    else:
        shaped["builtOn"] = ""
        shaped["changeSet"] = change_set
    return shaped


def build_ref(job: Job, build: Build | None, base: str, now: float, deep: bool) -> Any:
    if build is None:
        return None
    if deep:
        return build_json(job, build, base, now)
    url = f"{item_url(base, job.full_name)}{build.number}/"
    return {"_class": BUILD_CLASSES[job.kind], "number": build.number, "url": url}


def permalinks(job: Job, now: float) -> dict[str, Build | None]:
    """Jenkins's permalinks (`lastBuild`, `lastFailedBuild`…) resolved to builds."""
    newest_first = sorted(job.builds.values(), key=lambda b: b.number, reverse=True)
    done = [b for b in newest_first if not b.is_building(now)]

    def first(results: set[str]) -> Build | None:
        return next((b for b in done if b.result(now) in results), None)

    return {
        "firstBuild": newest_first[-1] if newest_first else None,
        "lastBuild": newest_first[0] if newest_first else None,
        "lastCompletedBuild": done[0] if done else None,
        "lastFailedBuild": first({"FAILURE"}),
        "lastStableBuild": first({"SUCCESS"}),
        "lastSuccessfulBuild": first({"SUCCESS", "UNSTABLE"}),
        "lastUnstableBuild": first({"UNSTABLE"}),
        "lastUnsuccessfulBuild": first({"FAILURE", "UNSTABLE", "ABORTED"}),
    }


def job_json(
    job: Job, base: str, now: float, deep: bool, queued: list[QueueItem]
) -> dict[str, Any]:
    url = item_url(base, job.full_name)
    newest_first = sorted(job.builds.values(), key=lambda b: b.number, reverse=True)
    scm: dict[str, Any] = {"_class": "hudson.plugins.git.GitSCM"}
    if deep:
        scm |= {
            "branches": [{"name": f"*/{job.scm_branch}"}],
            "browser": None,
            "userRemoteConfigs": [
                {"credentialsId": None, "name": "origin", "refspec": None, "url": job.scm_url}
            ],
            "mergeOptions": {"mergeStrategy": "default", "remoteBranchName": None},
        }
    properties: list[dict[str, Any]] = []
    if job.params:
        properties.append(
            {
                "_class": "hudson.model.ParametersDefinitionProperty",
                "parameterDefinitions": [param_definition(d) for d in job.params],
            }
        )
    shaped: dict[str, Any] = {
        "_class": JOB_CLASSES[job.kind],
        "actions": [],
        "description": job.description,
        "displayName": job.name,
        "fullDisplayName": job.full_name.replace("/", " » "),
        "fullName": job.full_name,
        "name": job.name,
        "url": url,
        "buildable": not job.disabled,
        "builds": [build_ref(job, b, base, now, deep) for b in newest_first[:100]],
        "color": color(job, now),
        "healthReport": [],
        "inQueue": bool(queued),
        "keepDependencies": False,
        "nextBuildNumber": job.next_number,
        "property": properties,
        "queueItem": queue_item_json(queued[0], base, now) if queued else None,
        "concurrentBuild": False,
        "disabled": job.disabled,
    }
    if job.kind == "freestyle":
        shaped |= {"downstreamProjects": [], "upstreamProjects": [], "scm": scm}
    else:
        del shaped["keepDependencies"]
    for name, build in permalinks(job, now).items():
        shaped[name] = build_ref(job, build, base, now, deep)
    return shaped


def queue_item_json(item: QueueItem, base: str, now: float) -> dict[str, Any]:
    task = {
        "_class": JOB_CLASSES[item.job.kind],
        "name": item.job.name,
        "url": item_url(base, item.job.full_name),
    }
    params = "".join(
        f"\n{name}={value if isinstance(value, str) else str(value).lower()}"
        for name, value in item.parameters.items()
    )
    shaped: dict[str, Any] = {
        "_class": "hudson.model.Queue$WaitingItem",
        "actions": [],
        "blocked": False,
        "buildable": False,
        "id": item.id,
        "inQueueSince": ms(item.queued_at),
        "params": params,
        "stuck": False,
        "task": task,
        "url": f"queue/item/{item.id}/",
        "why": f"In the quiet period. Expires in {max(item.start_at - now, 0):.1f} sec",
        "timestamp": ms(item.start_at),
    }
    if item.cancelled:
        shaped |= {"_class": "hudson.model.Queue$LeftItem", "cancelled": True, "executable": None}
        del shaped["why"]
    elif item.build_number is not None:
        build_url = f"{item_url(base, item.job.full_name)}{item.build_number}/"
        shaped |= {
            "_class": "hudson.model.Queue$LeftItem",
            "cancelled": False,
            "executable": {
                "_class": BUILD_CLASSES[item.job.kind],
                "number": item.build_number,
                "url": build_url,
            },
        }
        del shaped["why"]
    return shaped


def folder_json(
    folder: Folder, base: str, now: float, deep: bool, queue: list[QueueItem]
) -> dict[str, Any]:
    """A folder, or with `full_name == ""` the Jenkins root (`hudson.model.Hudson`)."""
    jobs: list[dict[str, Any]] = []
    for item in folder.items.values():
        url = item_url(base, item.full_name)
        if isinstance(item, Folder):
            jobs.append(
                folder_json(item, base, now, deep, queue)
                if deep
                else {"_class": FOLDER, "name": item.name, "url": url}
            )
        elif deep:
            jobs.append(job_json(item, base, now, deep, [q for q in queue if q.job is item]))
        else:
            jobs.append(
                {
                    "_class": JOB_CLASSES[item.kind],
                    "name": item.name,
                    "url": url,
                    "color": color(item, now),
                }
            )
    if not folder.full_name:
        return {
            "_class": "hudson.model.Hudson",
            "mode": "NORMAL",
            "nodeDescription": "the opsgate sandbox Jenkins",
            "nodeName": "",
            "numExecutors": 2,
            "description": None,
            "jobs": jobs,
            "quietingDown": False,
            "url": base,
            "useCrumbs": True,
            "useSecurity": True,
        }
    return {
        "_class": FOLDER,
        "actions": [],
        "description": folder.description,
        "displayName": folder.name,
        "fullDisplayName": folder.full_name.replace("/", " » "),
        "fullName": folder.full_name,
        "name": folder.name,
        "url": item_url(base, folder.full_name),
        "healthReport": [],
        "jobs": jobs,
    }

"""The Jenkins read tools (`readOnlyHint: true`): identity, jobs, builds, logs, SCM, queue.

Collected into `opsgate.tools.jenkins.TOOLS`; the engine runs them without approval. Each
body's docstring is the description the model reads. URLs come from `urls.py`; `tree=`
specs are fixed here, so the model chooses only validated names and numbers.
"""

from __future__ import annotations

from typing import Any

from opsgate.tools.base import Tool, ToolEnv
from opsgate.tools.define import define
from opsgate.tools.jenkins import build_params, logs, summaries, urls
from opsgate.tools.jenkins import params as p
from opsgate.tools.jenkins.client import JenkinsClient, JenkinsStatusError
from opsgate.tools.jenkins.tooling import READ, Reply, Request

PARAMS_TREE = f"property[{build_params.PARAMETERS_TREE}],actions[{build_params.PARAMETERS_TREE}]"
BUILD_TREE = (
    "number,result,building,timestamp,duration,estimatedDuration,description,"
    "fullDisplayName,url,queueId,"
    "actions[parameters[name,value],causes[shortDescription],lastBuiltRevision[SHA1,branch[name]]]"
)
GET_JOB_TREE = (
    "name,fullName,description,url,buildable,color,inQueue,nextBuildNumber,"
    "healthReport[description,score],lastBuild[number,result,building,timestamp,duration],"
    f"lastSuccessfulBuild[number],lastFailedBuild[number],{PARAMS_TREE}"
)
COMMIT_FIELDS = "commitId,msg,author[fullName],authorEmail,timestamp,affectedPaths"
MAX_COMMITS = 100


async def jenkins_whoami(params: p.ServerParams, client: JenkinsClient, env: ToolEnv) -> Reply:
    """Show which user opsgate is authenticated as on a configured Jenkins server, and that the
    server answers. Use it first when Jenkins calls fail."""
    try:
        who = await client.get_json(f"{client.base}whoAmI/api/json")
        name, authorities = who.get("name"), who.get("authorities") or []
    except JenkinsStatusError as e:
        if e.status != 404:
            raise
        me = await client.get_json(f"{client.base}me/api/json")
        name, authorities = me.get("id"), []
    text = f"Authenticated to Jenkins {client.name!r} ({client.base}) as {name!r}"
    if authorities:
        text += f"; authorities: {', '.join(map(str, authorities))}"
    return Reply(text, {"user": name, "authorities": authorities, "url": client.base})


async def jenkins_list_jobs(params: p.ListJobsParams, client: JenkinsClient, env: ToolEnv) -> Reply:
    """List the jobs and folders of a Jenkins server, at the root or inside a folder, with
    each job's last-build state. Pages with offset and limit; descend into folders by passing
    folder='name'."""
    resource = urls.job_url(client.base, params.folder) if params.folder else client.base
    end = params.offset + params.limit + 1
    tree = f"jobs[name,fullName,url,color,description]{{{params.offset},{end}}}"
    listing = await client.get_json(urls.api_json(resource, tree))
    items: list[dict[str, Any]] = listing.get("jobs") or []
    more = len(items) > params.limit
    items = items[: params.limit]
    where = f"folder {params.folder!r}" if params.folder else "the root"
    rows: list[dict[str, Any]] = []
    lines = [
        f"Jenkins {client.name!r}, {where}: jobs {params.offset + 1}-{params.offset + len(items)}"
    ]
    for item in items:
        prefix = f"{params.folder}/" if params.folder else ""
        full_name = str(item.get("fullName") or f"{prefix}{item.get('name')}")
        kind = "folder" if summaries.is_folder(item) else "job"
        state = "" if kind == "folder" else summaries.color_words(item.get("color"))
        rows.append({"full_name": full_name, "kind": kind, "color": item.get("color")})
        lines.append(f"- {full_name} [{kind}]" + (f" {state}" if state else ""))
    if not items:
        lines.append("(no jobs here)")
    if more:
        lines.append(f"More jobs exist: call again with offset={params.offset + params.limit}.")
    return Reply("\n".join(lines), {"jobs": rows, "more": more, "offset": params.offset})


async def jenkins_get_job(params: p.JobParams, client: JenkinsClient, env: ToolEnv) -> Reply:
    """Show a Jenkins job: description, whether it is buildable or queued, its last, last
    successful and last failed builds, health and declared parameters."""
    url = urls.api_json(urls.job_url(client.base, params.job), GET_JOB_TREE)
    job = await client.get_json(url)
    declared = build_params.declared_params(job)
    last = job.get("lastBuild")
    lines = [
        f"Job {params.job!r} on Jenkins {client.name!r}: {summaries.color_words(job.get('color'))}",
        f"Description: {job.get('description') or '(none)'}",
        f"Buildable: {job.get('buildable')}; in queue: {job.get('inQueue')}; "
        f"next build number: {job.get('nextBuildNumber')}",
        f"Last build: {summaries.build_line(last) if last else 'none'}",
        f"Last successful: #{(job.get('lastSuccessfulBuild') or {}).get('number', '-')}; "
        f"last failed: #{(job.get('lastFailedBuild') or {}).get('number', '-')}",
    ]
    lines.extend(f"Health: {h.get('description')}" for h in job.get("healthReport") or [])
    if declared:
        lines.append("Parameters: " + "; ".join(build_params.describe(d) for d in declared))
    data = {
        "full_name": job.get("fullName") or params.job,
        "buildable": job.get("buildable"),
        "in_queue": job.get("inQueue"),
        "color": job.get("color"),
        "next_build_number": job.get("nextBuildNumber"),
        "last_build": last,
        "parameters": [d.name for d in declared],
    }
    return Reply("\n".join(lines), data)


async def jenkins_get_job_parameters(
    params: p.JobParams, client: JenkinsClient, env: ToolEnv
) -> Reply:
    """List the build parameters a Jenkins job declares: name, type, choices, default and
    description. Read this before triggering a parameterised build."""
    url = urls.api_json(urls.job_url(client.base, params.job), f"name,{PARAMS_TREE}")
    declared = build_params.declared_params(await client.get_json(url))
    if not declared:
        text = f"Job {params.job!r} declares no parameters."
    else:
        text = f"Job {params.job!r} parameters:\n" + "\n".join(
            f"- {build_params.describe(d)}" for d in declared
        )
    data = [
        {
            "name": d.name,
            "type": d.kind,
            "default": d.default,
            "choices": list(d.choices),
            "description": d.description,
        }
        for d in declared
    ]
    return Reply(text, {"parameters": data})


async def jenkins_get_build(params: p.BuildParams, client: JenkinsClient, env: ToolEnv) -> Reply:
    """Show one build of a Jenkins job: result or running, start time, duration, parameters,
    cause, revision and description. build is a number or a permalink such as 'lastBuild'."""
    url = urls.api_json(urls.build_url(client.base, params.job, params.build), BUILD_TREE)
    build = await client.get_json(url)
    parameters = summaries.build_parameters(build)
    causes = [c.get("shortDescription") for c in summaries.actions_of(build, "causes")]
    revisions = summaries.actions_of(build, "lastBuiltRevision")
    lines = [f"{params.job} {summaries.build_line(build)}"]
    if build.get("building"):
        lines.append(f"Expected to take about {summaries.duration(build.get('estimatedDuration'))}")
    if causes:
        lines.append(f"Cause: {'; '.join(map(str, causes))}")
    if parameters:
        lines.append(
            "Parameters: "
            + ", ".join(f"{k}={build_params.format_value(v)}" for k, v in parameters.items())
        )
    if revisions:
        branches = [b.get("name") for b in revisions[0].get("branch") or []]
        lines.append(f"Revision: {revisions[0].get('SHA1')} ({', '.join(map(str, branches))})")
    data = {
        "number": build.get("number"),
        "result": build.get("result"),
        "building": build.get("building"),
        "timestamp": build.get("timestamp"),
        "duration_ms": build.get("duration"),
        "description": build.get("description"),
        "parameters": parameters,
        "causes": causes,
    }
    return Reply("\n".join(lines), data)


async def jenkins_last_builds(
    params: p.LastBuildsParams, client: JenkinsClient, env: ToolEnv
) -> Reply:
    """List the most recent builds of a Jenkins job, newest first, with result, start time and
    duration. Pages with offset and limit."""
    end = params.offset + params.limit + 1
    tree = f"builds[number,result,building,timestamp,duration,description]{{{params.offset},{end}}}"
    job = await client.get_json(urls.api_json(urls.job_url(client.base, params.job), tree))
    builds: list[dict[str, Any]] = job.get("builds") or []
    more = len(builds) > params.limit
    builds = builds[: params.limit]
    lines = [f"Builds of {params.job!r} (newest first):"]
    lines.extend(f"- {summaries.build_line(b)}" for b in builds)
    if not builds:
        lines.append("(no builds)")
    if more:
        lines.append(f"Older builds exist: call again with offset={params.offset + params.limit}.")
    rows = [
        {k: b.get(k) for k in ("number", "result", "building", "timestamp", "duration")}
        for b in builds
    ]
    return Reply("\n".join(lines), {"builds": rows, "more": more})


async def jenkins_build_log(params: p.BuildLogParams, client: JenkinsClient, env: ToolEnv) -> Reply:
    """Read a build's console log progressively: from byte offset start (0 first, then the
    next_start of the previous call), at most max_bytes; or with from_end the last max_bytes.
    Says whether the build is still writing. Secrets are redacted."""
    limit = min(params.max_bytes, env.output_cap_bytes)
    if params.from_end:
        url = urls.progressive_text_url(client.base, params.job, params.build, 0)
        chunk = await client.read_log(url, limit, tail=True)
        window = logs.tail_window(chunk.data, chunk.text_size, truncated=chunk.truncated)
        next_start = chunk.text_size
        where = f"last {len(window.data)} bytes"
    else:
        offset = logs.fetch_offset(params.start)
        url = urls.progressive_text_url(client.base, params.job, params.build, offset)
        chunk = await client.read_log(url, limit + params.start - offset, tail=False)
        window = logs.forward_window(chunk.data, params.start, truncated=chunk.truncated)
        next_start = window.end if chunk.truncated else chunk.text_size
        where = f"bytes {window.begin}-{window.end}"
    state = "the build is still running" if chunk.more_data else "the log is complete"
    if chunk.truncated and not params.from_end:
        state = f"more log follows: call again with start={next_start}"
    header = f"Log of {params.job} #{params.build} ({where} of {chunk.text_size}; {state}):"
    text = f"{header}\n{window.data.decode(errors='replace')}"
    return Reply(
        text,
        {"next_start": next_start, "more_data": chunk.more_data, "text_size": chunk.text_size},
        truncated=chunk.truncated,
    )


async def jenkins_job_scm(params: p.JobParams, client: JenkinsClient, env: ToolEnv) -> Reply:
    """Show where a Jenkins job's source comes from: repository URLs, branches to build, and
    the revision its last build checked out."""
    tree = (
        "scm[userRemoteConfigs[name,url,refspec,credentialsId],branches[name],browser[url]],"
        "lastBuild[number,actions[remoteUrls,lastBuiltRevision[SHA1,branch[name]]]]"
    )
    job = await client.get_json(urls.api_json(urls.job_url(client.base, params.job), tree))
    scm = job.get("scm") or {}
    remotes = [r.get("url") for r in scm.get("userRemoteConfigs") or [] if isinstance(r, dict)]
    branches = [b.get("name") for b in scm.get("branches") or [] if isinstance(b, dict)]
    last = job.get("lastBuild") or {}
    revisions = summaries.actions_of(last, "lastBuiltRevision")
    remotes = remotes or summaries.actions_of(last, "remoteUrls")
    if scm.get("_class"):
        lines = [f"SCM of {params.job!r}: {str(scm['_class']).rsplit('.', 1)[-1]}"]
    else:
        # Pipeline jobs keep their SCM in the pipeline definition, which api/json omits.
        lines = [f"{params.job!r} exports no job-level SCM; from its last build's checkout:"]
    lines.append(f"Repositories: {', '.join(map(str, remotes)) or '(not exported)'}")
    lines.append(f"Branches: {', '.join(map(str, branches)) or '(not exported)'}")
    revision = revisions[0].get("SHA1") if revisions else None
    if revision:
        lines.append(f"Last build #{last.get('number')} checked out {revision}")
    data = {
        "scm_class": scm.get("_class"),
        "repositories": remotes,
        "branches": branches,
        "last_revision": revision,
    }
    return Reply("\n".join(lines), data)


async def jenkins_build_changesets(
    params: p.BuildParams, client: JenkinsClient, env: ToolEnv
) -> Reply:
    """List the commits that went into a build (its changesets): commit, author, message and
    changed paths."""
    tree = f"number,changeSets[kind,items[{COMMIT_FIELDS}]],changeSet[kind,items[{COMMIT_FIELDS}]]"
    url = urls.api_json(urls.build_url(client.base, params.job, params.build), tree)
    build = await client.get_json(url)
    change_sets = build.get("changeSets") or (
        [build["changeSet"]] if build.get("changeSet") else []
    )
    commits = [item for cs in change_sets for item in (cs.get("items") or [])]
    lines = [f"Changes in {params.job} #{build.get('number')}: {len(commits)} commit(s)"]
    lines.extend(f"- {summaries.commit_line(c)}" for c in commits[:MAX_COMMITS])
    if len(commits) > MAX_COMMITS:
        lines.append(f"… and {len(commits) - MAX_COMMITS} more")
    data = [
        {
            "commit": c.get("commitId"),
            "author": (c.get("author") or {}).get("fullName"),
            "message": c.get("msg"),
            "paths": c.get("affectedPaths"),
        }
        for c in commits[:MAX_COMMITS]
    ]
    return Reply("\n".join(lines), {"number": build.get("number"), "commits": data})


async def jenkins_queue(params: p.ServerParams, client: JenkinsClient, env: ToolEnv) -> Reply:
    """List the Jenkins build queue: waiting items, their job, why they wait and since when."""
    tree = "items[id,why,blocked,buildable,stuck,inQueueSince,params,task[name,url]]"
    queue = await client.get_json(urls.api_json(urls.queue_url(client.base), tree))
    items: list[dict[str, Any]] = queue.get("items") or []
    lines = [f"Queue of Jenkins {client.name!r}: {len(items)} item(s)"]
    rows = []
    for item in items:
        task = item.get("task") or {}
        job = urls.job_path_of_url(client.base, str(task.get("url", ""))) or task.get("name")
        flags = [f for f in ("blocked", "stuck") if item.get(f)]
        since = summaries.when(item.get("inQueueSince"))
        line = f"- item {item.get('id')}: {job} since {since}; {item.get('why') or 'waiting'}"
        lines.append(line + (f" ({', '.join(flags)})" if flags else ""))
        rows.append({"id": item.get("id"), "job": job, "why": item.get("why"), "flags": flags})
    return Reply("\n".join(lines), {"items": rows})


TOOLS: list[Tool] = [
    define("jenkins", Request(jenkins_whoami), p.ServerParams, READ),
    define("jenkins", Request(jenkins_list_jobs), p.ListJobsParams, READ),
    define("jenkins", Request(jenkins_get_job), p.JobParams, READ),
    define("jenkins", Request(jenkins_get_job_parameters), p.JobParams, READ),
    define("jenkins", Request(jenkins_get_build), p.BuildParams, READ),
    define("jenkins", Request(jenkins_last_builds), p.LastBuildsParams, READ),
    define("jenkins", Request(jenkins_build_log), p.BuildLogParams, READ),
    define("jenkins", Request(jenkins_job_scm), p.JobParams, READ),
    define("jenkins", Request(jenkins_build_changesets), p.BuildParams, READ),
    define("jenkins", Request(jenkins_queue), p.ServerParams, READ),
]

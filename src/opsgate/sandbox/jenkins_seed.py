"""The sandbox Jenkins's demo world: `shop-build`, `shop-deploy` (last build failed) and a folder.

Called by `opsgate.sandbox.jenkins.create_app` for `seed="demo"`. History is written with
timestamps in the past so that every seeded build has already finished.
"""

from __future__ import annotations

from opsgate.sandbox.jenkins_state import (
    REFSPEC,
    Build,
    Change,
    Folder,
    JenkinsWorld,
    Job,
    ParamDef,
    Result,
    revision_of,
    spread,
)

SHOP_REPO = "https://git.example.com/shop/shop.git"
DEMO_LEAKED_SECRET = "s3cr3t-registry-7f3a9c"  # noqa: S105
"""A credential the failed deploy's console leaks (a debugging `env`); opsgate must mask it."""
DEPLOY_FAILURE = [
    "+ env | grep REGISTRY",
    "REGISTRY_USER=shop-ci",
    f"REGISTRY_PASSWORD={DEMO_LEAKED_SECRET}",
    "+ helm upgrade --install shop ./charts/shop --namespace shop --set image.tag=1.4.3",
    'Release "shop" has been upgraded. Happy Helming!',
    "+ kubectl rollout status deployment/worker -n shop --timeout=120s",
    'Waiting for deployment "worker" rollout to finish: 1 old replicas are pending termination...',
    'Back-off pulling image "registry.example.com/shop/worker:1.4.3": manifest unknown',
    'error: deployment "worker" exceeded its progress deadline',
    "ERROR: rollout of worker failed: image tag 1.4.3 does not exist in the registry",
    "Build step 'Execute shell' marked build as failure",
]
AUTHORS = (("Alice Martin", "alice@example.com"), ("Bob Chen", "bob@example.com"))
MESSAGES = (
    ("Add cart total rounding", "src/cart/total.py"),
    ("Bump worker to 1.4.3", "charts/shop/values.yaml"),
    ("Fix flaky checkout test", "tests/test_checkout.py"),
    ("Cache product lookups", "src/catalog/cache.py"),
)


def seed_demo(world: JenkinsWorld, now: float) -> None:
    """Fill `world` with the demo jobs and their finished history."""
    shop_build = Job(
        full_name="shop-build",
        description="Builds and tests the shop images.",
        scm_url=SHOP_REPO,
        scm_branch="main",
        duration_s=3.0,
        steps=("make build", "make test"),
        params=(
            ParamDef("BRANCH", "string", "main", "Git branch to build"),
            ParamDef("RUN_TESTS", "boolean", True, "Run the unit tests after building"),
            ParamDef("ENV", "choice", "dev", "Environment tag", ("dev", "staging", "prod")),
        ),
    )
    shop_deploy = Job(
        full_name="shop-deploy",
        description="Deploys the shop Helm chart to the cluster.",
        scm_url=SHOP_REPO,
        scm_branch="main",
        duration_s=2.0,
        steps=("helm upgrade --install shop ./charts/shop", "kubectl rollout status"),
        params=(ParamDef("VERSION", "string", "1.4.2", "Image tag to deploy"),),
    )
    nightly = Job(
        full_name="platform/nightly-e2e",
        description="End-to-end suite against staging; takes a while.",
        scm_url="https://git.example.com/platform/e2e.git",
        scm_branch="main",
        duration_s=600.0,
        steps=("./run-e2e.sh",),
        kind="pipeline",
    )
    world.add(shop_build)
    world.add(shop_deploy)
    world.add(Folder(full_name="platform", description="Platform team jobs"))
    world.add(nightly)

    for number in range(1, 13):
        result: Result = "FAILURE" if number in (4, 9) else "SUCCESS"
        _history(world, shop_build, number, now - (13 - number) * 3600, result, [])
    for number in range(1, 6):
        failure = DEPLOY_FAILURE if number == 5 else []
        result = "FAILURE" if number == 5 else "SUCCESS"
        _history(world, shop_deploy, number, now - (6 - number) * 5400, result, failure)
    for number in range(1, 4):
        _history(world, nightly, number, now - (4 - number) * 86400, "SUCCESS", [])


def _history(
    world: JenkinsWorld,
    job: Job,
    number: int,
    started_at: float,
    result: Result,
    tail: list[str],
) -> None:
    author, email = AUTHORS[number % len(AUTHORS)]
    message, path = MESSAGES[number % len(MESSAGES)]
    revision = revision_of(f"{job.full_name}#{number}")
    lines = [
        "Started by user admin",
        f"Building in workspace /var/jenkins_home/workspace/{job.full_name.replace('/', '_')}",
        f" > git fetch --tags --force --progress -- {job.scm_url} {REFSPEC}",
        f"Checking out Revision {revision} (refs/remotes/origin/{job.scm_branch})",
        f'Commit message: "{message}"',
    ]
    if tail:
        lines.extend(tail)
    elif result == "FAILURE":
        lines.extend(
            [
                "+ make test",
                "FAILED tests/test_checkout.py::test_total - AssertionError: 10.01 != 10.0",
                "Build step 'Execute shell' marked build as failure",
            ]
        )
    else:
        lines.extend(f"+ {step}" for step in job.steps)
    duration_s = job.duration_s * 40
    job.builds[number] = Build(
        number=number,
        queue_id=0,
        started_at=started_at,
        duration_s=duration_s,
        outcome=result,
        lines=spread(lines, duration_s),
        parameters={p.name: p.default for p in job.params},
        user="admin",
        revision=revision,
        branch=job.scm_branch,
        changes=[
            Change(
                commit_id=revision,
                author=author,
                email=email,
                message=message,
                paths=(("edit", path),),
                timestamp=started_at - 600,
            )
        ],
    )
    job.next_number = number + 1

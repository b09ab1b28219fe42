"""`jenkins_diagnose` against the sandbox Jenkins: the failed `shop-deploy` is found with its
build and the end of its log (secrets redacted); the healthy nightly job is not."""

from __future__ import annotations

from opsgate.domain.findings import Diagnosis
from opsgate.sandbox.jenkins_seed import DEMO_LEAKED_SECRET
from opsgate.tools.base import ToolEnv
from tests.tools.jenkins.helpers import run


async def test_the_failed_deploy_is_found_with_its_log(jenkins_env: ToolEnv) -> None:
    output = await run(jenkins_env, "jenkins_diagnose")
    assert output.ok, output.text
    diagnosis = Diagnosis.model_validate(output.data)
    by_name = {f.object.name: f for f in diagnosis.findings}
    deploy = by_name["shop-deploy"]
    assert deploy.severity == "critical"
    assert deploy.problem == "last build failed"
    assert deploy.evidence[0] == "build #5: FAILURE"
    assert "manifest unknown" in deploy.evidence[1]
    assert "platform/nightly-e2e" not in by_name
    assert DEMO_LEAKED_SECRET not in output.text
    assert DEMO_LEAKED_SECRET not in str(output.data)
    assert output.text.startswith("Jenkins 'sandbox': ")

"""`k8s_apply` of an ~800 KB CRD (issue 23): accepted up to what the API server takes for one
object, applied server-side, and previewed on a card a person can still read (the new object
collapsed, a change to it shown as its diff).

Run against the sandbox with the real kubectl; the CRD is `large_crd.prometheus_like_crd`.
"""

from __future__ import annotations

import os

import pytest
import yaml
from pydantic import ValidationError

from opsgate.tools import kubectl
from opsgate.tools.base import PreviewReport, ToolEnv
from opsgate.tools.kubectl import manifests
from tests.fixtures.sandbox import SandboxInfo, get_json
from tests.tools.kubectl.helpers import call
from tests.tools.kubectl.large_crd import prometheus_like_crd

pytestmark = pytest.mark.sandbox

TOOLS = {tool.name: tool for tool in kubectl.TOOLS}


@pytest.fixture
def group() -> str:
    return f"monitoring.t{os.urandom(3).hex()}.example.com"


def test_a_crd_of_800_kb_is_accepted_for_server_side_apply(group: str) -> None:
    crd = prometheus_like_crd(group)
    assert len(crd.encode()) > 800_000
    TOOLS["k8s_apply"].parse({"manifest": crd, "server_side": True})
    TOOLS["k8s_diff"].parse({"manifest": crd})


def test_client_side_apply_of_it_is_refused_saying_why(group: str) -> None:
    # kubectl would put the whole object in an annotation, which the API server caps at 256 KiB.
    with pytest.raises(ValidationError, match="server_side"):
        TOOLS["k8s_apply"].parse({"manifest": prometheus_like_crd(group)})


def test_one_object_over_the_api_server_bound_is_refused(group: str) -> None:
    too_big = prometheus_like_crd(group, target_bytes=3_200_000)
    with pytest.raises(ValidationError, match="1572864 bytes"):
        TOOLS["k8s_apply"].parse({"manifest": too_big, "server_side": True})


def test_the_bounds_are_the_documented_ones() -> None:
    assert manifests.MAX_OBJECT_BYTES == 1536 * 1024
    assert manifests.CLIENT_SIDE_APPLY_MAX_BYTES == 256 * 1024


async def test_the_crd_previews_collapsed_applies_and_a_change_to_it_shows_as_its_diff(
    tool_env: ToolEnv, sandbox: SandboxInfo, group: str
) -> None:
    crd = prometheus_like_crd(group)
    args = {"manifest": crd, "server_side": True}

    preview = await call(tool_env, "k8s_apply", args, "preview")

    assert preview.ok, preview.text
    assert isinstance(preview.data, PreviewReport)
    assert preview.data.state == "changes"
    assert [d.name for d in preview.data.documents] == [
        f"CustomResourceDefinition/prometheuses.{group}"
    ]
    assert len(preview.text.encode()) < 16 * 1024
    assert "new object" in preview.text
    assert "collapsed" in preview.text
    assert not preview.truncated

    applied = await call(tool_env, "k8s_apply", args)
    assert applied.ok, applied.text
    served = get_json(sandbox, "crd", f"prometheuses.{group}")
    assert served["spec"]["names"]["kind"] == "Prometheus"
    verified = await call(tool_env, "k8s_apply", args, "verify")
    assert verified.data.verdict == "not_verified", verified.text

    changed = yaml.safe_load(crd)
    schema = changed["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    schema["properties"]["spec"]["properties"]["retention"]["description"] = (
        "How long to keep data."
    )
    edit = {"manifest": yaml.safe_dump(changed), "server_side": True}

    again = await call(tool_env, "k8s_apply", edit, "preview")

    assert again.ok, again.text
    assert isinstance(again.data, PreviewReport)
    assert again.data.state == "changes"
    assert "+                description: How long to keep data." in again.text
    assert len(again.text.encode()) < 16 * 1024

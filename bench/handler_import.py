"""Cold-start cost of the handler module: import time in a fresh interpreter.

Prints the median of N fresh-process imports of the ORDER_CHANGE handler next to the baseline of
a bare ``import boto3`` measured in the same run (the Lambda runtime pays that one anyway).
"""

from __future__ import annotations

import statistics
import subprocess
import sys

RUNS = 7
SNIPPET = "import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
ENV = {
    "POWERTOOLS_SERVICE_NAME": "order-change",
    "POWERTOOLS_METRICS_NAMESPACE": "SellerStream",
    "AWS_DEFAULT_REGION": "us-east-1",
    "PATH": "/usr/bin:/bin",
}


def import_seconds(module: str) -> float:
    samples = []
    for _ in range(RUNS):
        output = subprocess.run(
            [sys.executable, "-X", "frozen_modules=on", "-c", SNIPPET.format(module=module)],
            check=True,
            capture_output=True,
            text=True,
            env=ENV,
        ).stdout
        samples.append(float(output.strip().splitlines()[-1]))
    return statistics.median(samples)


def main() -> None:
    baseline = import_seconds("boto3")
    handler = import_seconds("sellerstream.handlers.order_change")
    print(f"import boto3 (baseline)                   {baseline * 1000:8.1f} ms")
    print(f"import sellerstream.handlers.order_change {handler * 1000:8.1f} ms")
    print(
        f"ratio handler/boto3                       {handler / baseline:8.2f}x   (median of {RUNS} fresh processes)"
    )


if __name__ == "__main__":
    main()

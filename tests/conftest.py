"""Test-wide environment: no real AWS account is ever reachable, Powertools stays quiet."""

from __future__ import annotations

import os

# Set before any test module imports the runtime package (Powertools reads these at import).
for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
    os.environ.pop(name, None)
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_SERVICE_NAME": "sellerstream-test",
        "POWERTOOLS_METRICS_NAMESPACE": "SellerStream",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_TRACE_DISABLED": "true",
        # jsii warns on every start that Node 20 left its support window; synthesis is unaffected.
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
)

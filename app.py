#!/usr/bin/env python3
"""CDK entry point: synthesizes offline (no AWS credentials, no Docker)."""

from __future__ import annotations

import os
from typing import Any

import aws_cdk as cdk

from stacks.constants import REPORT_ROWS_RETENTION_DAYS
from stacks.nag import apply_aws_solutions_checks
from stacks.sellerstream_stack import SellerStreamStack


def build_app(*, context: dict[str, Any] | None = None, outdir: str | None = None) -> cdk.App:
    # The CDK CLI passes CDK_OUTDIR; a plain `python app.py` writes cdk.out like `cdk synth` would.
    if outdir is None and "CDK_OUTDIR" not in os.environ:
        outdir = "cdk.out"
    app = cdk.App(outdir=outdir, context=context)
    orders_api_version = str(app.node.try_get_context("orders_api_version") or "2026-01-01")
    if orders_api_version not in ("2026-01-01", "v0"):
        raise SystemExit(f"orders_api_version must be 2026-01-01 or v0, not {orders_api_version!r}")
    sandbox = str(app.node.try_get_context("spapi_sandbox") or "false").lower() == "true"
    partner_event_source_name = app.node.try_get_context("partner_event_source_name") or None
    retention = str(app.node.try_get_context("report_rows_retention_days") or REPORT_ROWS_RETENTION_DAYS)
    if not retention.isdigit() or int(retention) < 1:
        raise SystemExit(f"report_rows_retention_days must be a whole number of days, not {retention!r}")
    account, region = os.environ.get("CDK_DEFAULT_ACCOUNT"), os.environ.get("CDK_DEFAULT_REGION")
    SellerStreamStack(
        app,
        "SellerStream",
        orders_api_version=orders_api_version,
        spapi_sandbox=sandbox,
        partner_event_source_name=partner_event_source_name,
        report_rows_retention_days=int(retention),
        env=cdk.Environment(account=account, region=region) if account and region else None,
        description="SellerStream: Amazon SP-API notifications to DynamoDB",
    )
    apply_aws_solutions_checks(app)
    return app


if __name__ == "__main__":
    build_app().synth()

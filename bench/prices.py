"""The one price table every bench bills with: AWS list prices, one region, one date.

US dollars, us-east-1, as published on AWS's pricing pages in December 2026. Free tiers are left
out (a deployment shares them with everything else in its account), so the figures are what
SellerStream adds to a bill that has used them up. Where a service bills per chunk of payload
(SQS requests and EventBridge events per 64 KB started), the price is per chunk.
"""

from __future__ import annotations

REGION = "us-east-1"
AS_OF = "2026-12, us-east-1 list prices, free tiers left out (DynamoDB on-demand: since its 50 % cut of 2024-11-01)"
CHUNK_BYTES = 64 * 1024  # SQS requests and EventBridge events: billed per 64 KB started

PRICES = {
    # Lambda, arm64 (Graviton), the first tier.
    "lambda_per_million_requests": 0.20,
    "lambda_per_gb_second_arm64": 0.0000133334,
    # SQS standard queues: per million requests, each per 64 KB of payload started.
    "sqs_per_million_64kb_requests": 0.40,
    # DynamoDB on-demand, standard table class.
    "dynamodb_per_million_write_request_units": 0.625,
    "dynamodb_per_million_read_request_units": 0.125,
    "dynamodb_storage_per_gb_month": 0.25,
    "dynamodb_pitr_per_gb_month": 0.20,
    "dynamodb_streams_reads_by_lambda": 0.0,  # reads by a Lambda event source mapping are free
    # EventBridge.
    "put_events_per_million_64kb_events": 1.00,
    "api_destination_per_million_invocations": 0.20,
    "other_account_bus_per_million_events": 1.00,
    "archive_per_gb": 0.10,  # events archived, per GB processed
    "scheduler_per_million_invocations": 1.00,
    # KMS.
    "kms_per_key_month": 1.00,
    "kms_per_million_requests": 3.00,
    # Secrets Manager.
    "secret_per_month": 0.40,
    "secrets_manager_per_million_api_calls": 5.00,
    # CloudWatch.
    "alarm_per_metric_month": 0.10,  # a standard-resolution alarm, per metric it evaluates
    "dashboard_per_month": 3.00,
    "custom_metric_per_month": 0.30,  # per metric (name + dimensions), prorated by the hour
    "cloudwatch_logs_per_gb_ingested": 0.50,
    "cloudwatch_logs_per_gb_month_stored": 0.03,
    # S3 Standard.
    "s3_per_million_puts": 5.00,
    "s3_per_million_gets": 0.40,
    "s3_storage_per_gb_month": 0.023,
    # X-Ray: traces recorded (active tracing).
    "xray_per_million_traces": 5.00,
    # SNS (the alarm topic).
    "sns_per_million_publishes": 0.50,
    # Step Functions, Standard workflows (Amazon's sample architecture): per state transition.
    "step_functions_per_million_state_transitions": 25.00,
}
LAMBDA_FULL_VCPU_MB = 1769  # Lambda gives a function one vCPU at 1,769 MB, in proportion below


def price_table() -> dict[str, object]:
    """The prices as a bench's ``--json`` carries them."""
    return {"as_of": AS_OF, "region": REGION, **PRICES}

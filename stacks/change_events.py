"""The change-events publisher: a function of the catalog fed by the streamed tables' change streams.

One event source mapping per streamed table, shaped for "exactly one event per stored change, in
order": from the oldest record the stream holds (TRIM_HORIZON: nothing stored before the first
poll is skipped), one batch per shard at a time (parallelization 1: an entity's records stay in
order), no bisecting (a batch is retried from the record the function names, Lambda's partial
batch response), retried until the records are ``max_record_age_seconds`` old, and then a pointer
to them (shard and sequence numbers, not the records) on the publisher's DLQ. Lambda's filter
passes only the inserts and modifications of the table's declared entities (their sort key
prefixes), so checkpoints, PII items, report rows and TTL deletions cost no invocation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jsii
from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from sellerstream import catalog
from stacks.functions import CatalogFunction


class ChangeEventsFunction(CatalogFunction):
    def __init__(
        self,
        scope: Construct,
        publisher: catalog.Publisher,
        *,
        environment: dict[str, str],
        layer: lambda_.ILayerVersion,
        tables: Mapping[str, dynamodb.Table],
        dead_letter_queue: sqs.IQueue,
        queue_key: kms.IKey,
        tracing: bool = False,
    ) -> None:
        super().__init__(scope, publisher, environment=environment, layer=layer, tracing=tracing)
        # Lambda sends a failed batch's pointer, and the function an event EventBridge refused for
        # good, to the DLQ with this role: SendMessage only, and the queue key to encrypt.
        self.role.add_to_policy(
            iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[dead_letter_queue.queue_arn])
        )
        queue_key.grant(self.role, "kms:GenerateDataKey", "kms:Decrypt")
        on_failure = _OnFailureQueue(dead_letter_queue)
        self.mappings: dict[str, lambda_.EventSourceMapping] = {}
        for table in catalog.streamed_tables():
            created = tables[table.role]
            created.grant_stream_read(self.role)
            mapping = lambda_.EventSourceMapping(
                self,
                f"{table.construct_id}Stream",
                target=self.function,
                event_source_arn=created.table_stream_arn,
                starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                batch_size=publisher.sizing.batch_size,
                max_batching_window=Duration.seconds(publisher.sizing.batching_window_seconds),
                report_batch_item_failures=True,
                bisect_batch_on_error=False,
                parallelization_factor=1,
                max_record_age=Duration.seconds(publisher.max_record_age_seconds),
                on_failure=on_failure,
                filters=[lambda_.FilterCriteria.filter(pattern) for pattern in catalog.stream_filters(table)],
            )
            # -1: retried until the records reach their maximum age (CDK accepts only 0 to 10000).
            cfn_mapping = mapping.node.default_child
            assert isinstance(cfn_mapping, lambda_.CfnEventSourceMapping)
            cfn_mapping.add_property_override("MaximumRetryAttempts", -1)
            self.mappings[table.role] = mapping


@jsii.implements(lambda_.IEventSourceDlq)
class _OnFailureQueue:
    """The mapping's on-failure destination. CDK's SqsDlq grants the role more than SendMessage
    (GetQueueAttributes, GetQueueUrl, every key action); the role's statement is written above."""

    def __init__(self, queue: sqs.IQueue) -> None:
        self._queue = queue

    def bind(self, target: Any, target_handler: Any) -> lambda_.DlqDestinationConfig:
        return lambda_.DlqDestinationConfig(destination=self._queue.queue_arn)

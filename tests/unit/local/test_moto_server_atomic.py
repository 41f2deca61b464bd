"""The local moto server's conditional writes are atomic, as DynamoDB's are.

Threads increment one counter the optimistic way (read the item and its version, write the next
value conditional on that version) through boto3 against the server. DynamoDB never lets two writes
conditional on one version both succeed, so the counter ends equal to the writes that succeeded.
moto checks a condition, then writes: the test widens that gap (as a busy server would) by pausing
moto after the check, so served without the guard the same threads reliably lose updates.
"""

from __future__ import annotations

import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto.dynamodb.parsing.validators import UpdateExpressionValidator

from sellerstream_local.moto_server import SerializedMotoServer

THREADS = 6
ROUNDS = 4
# moto's pause between a condition that passed and the write (its UpdateExpression is validated
# there): wide enough that the unguarded race is lost every round, short enough for a fast test.
WINDOW_SECONDS = 0.02
KEY = {"pk": {"S": "counter"}}


@pytest.fixture
def slow_moto(monkeypatch: pytest.MonkeyPatch) -> None:
    validate = UpdateExpressionValidator.validate

    def paused(self: UpdateExpressionValidator) -> Any:
        time.sleep(WINDOW_SECONDS)
        return validate(self)

    monkeypatch.setattr(UpdateExpressionValidator, "validate", paused)


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Iterator[SerializedMotoServer]:
    with SerializedMotoServer(serialized=request.param) as moto_server:
        # moto keeps its state in this process, whatever server serves it: start from nothing.
        reset = urllib.request.Request(f"{moto_server.endpoint}/moto-api/reset", method="POST")
        urllib.request.urlopen(reset, timeout=30).close()
        yield moto_server


def dynamodb(endpoint: str) -> Any:
    config = Config(retries={"max_attempts": 1}, max_pool_connections=THREADS * 2)
    return boto3.client("dynamodb", region_name="us-east-1", endpoint_url=endpoint, config=config)


def update_item(client: Any, table: str, version: int, value: int) -> None:
    client.update_item(
        TableName=table,
        Key=KEY,
        UpdateExpression="SET counted = :value, version = :next",
        ConditionExpression="version = :version",
        ExpressionAttributeValues={
            ":value": {"N": str(value)},
            ":next": {"N": str(version + 1)},
            ":version": {"N": str(version)},
        },
    )


def transact_write_items(client: Any, table: str, version: int, value: int) -> None:
    client.transact_write_items(
        TransactItems=[
            {
                "Update": {
                    "TableName": table,
                    "Key": KEY,
                    "UpdateExpression": "SET counted = :value, version = :next",
                    "ConditionExpression": "version = :version",
                    "ExpressionAttributeValues": {
                        ":value": {"N": str(value)},
                        ":next": {"N": str(version + 1)},
                        ":version": {"N": str(version)},
                    },
                }
            }
        ]
    )


Write = Callable[[Any, str, int, int], None]


def increment_concurrently(endpoint: str, write: Write) -> tuple[int, int]:
    """THREADS threads, ROUNDS rounds each (all threads read at once every round): the counter at
    the end, and the conditional writes that succeeded."""
    setup = dynamodb(endpoint)
    table = f"counter-{write.__name__}"
    setup.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    setup.put_item(TableName=table, Item={**KEY, "counted": {"N": "0"}, "version": {"N": "0"}})
    clients = [dynamodb(endpoint) for _ in range(THREADS)]
    together = threading.Barrier(THREADS, timeout=10)
    succeeded: list[int] = []
    errors: list[BaseException] = []

    def increment(client: Any) -> None:
        try:
            for _ in range(ROUNDS):
                together.wait()
                item = client.get_item(TableName=table, Key=KEY, ConsistentRead=True)["Item"]
                version, counted = int(item["version"]["N"]), int(item["counted"]["N"])
                try:
                    write(client, table, version, counted + 1)
                except (
                    client.exceptions.ConditionalCheckFailedException,
                    client.exceptions.TransactionCanceledException,
                ):
                    continue
                succeeded.append(1)
        except BaseException as error:  # reported by the test, not lost in a thread
            errors.append(error)
            together.abort()

    threads = [threading.Thread(target=increment, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    item = setup.get_item(TableName=table, Key=KEY, ConsistentRead=True)["Item"]
    return int(item["counted"]["N"]), len(succeeded)


@pytest.mark.parametrize("server", [True], indirect=True)
@pytest.mark.parametrize("write", [update_item, transact_write_items])
@pytest.mark.usefixtures("slow_moto")
def test_given_the_guarded_server_when_threads_increment_conditionally_then_no_update_is_lost(
    server: SerializedMotoServer, write: Write
) -> None:
    counted, succeeded = increment_concurrently(server.endpoint, write)

    assert server.dynamodb_atomic
    assert counted == succeeded
    assert ROUNDS <= succeeded < THREADS * ROUNDS  # every round one write wins, and not all of them


@pytest.mark.parametrize("server", [False], indirect=True)
@pytest.mark.usefixtures("slow_moto")
def test_given_moto_unguarded_when_threads_increment_conditionally_then_updates_are_lost(
    server: SerializedMotoServer,
) -> None:
    counted, succeeded = increment_concurrently(server.endpoint, update_item)

    assert not server.dynamodb_atomic
    assert counted < succeeded  # two writes conditional on one version both passed

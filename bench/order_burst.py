"""A burst of one seller's orders through K consumers that share nothing in memory.

400 ORDER_CHANGE notifications over 100 orders of one seller (three changes per order, a quarter
redelivered, all shuffled: duplicates and out-of-order) are drained by K = 1, 4 and 10 consumer
processes, like Lambda containers: each runs the real ORDER_CHANGE handler with its own memory;
they share only AWS (one moto server on loopback: SQS queue + DLQ, DynamoDB tables) and SP-API
(the emulator on loopback, enforcing Amazon's default plans, time-scaled by ``--time-scale``).
The naive baseline in the same run: one getOrder per notification, each container with its own
in-memory buckets (what SellerStream did before the shared budget), at K = 10.

Per run it prints SP-API calls per distinct order, 429s, the drain time divided by the rate-plan
minimum (getOrder: the first ``burst`` orders at once, the rest at ``rate``: ``(orders - burst) /
(rate x scale)`` seconds), orders missing or stale at the end, and dead letters. The changes are
fresh (under two minutes old at the start), so only getOrder can fetch them.
``--json`` prints one object: {"runs": [{"consumers", "calls_per_order", "throttled",
"drain_ratio", "lost", "stale", "dead_lettered"}, ...], "baseline": {...}}. Takes 7 to 11 minutes on
a shared 2-core machine (the naive baseline, throttled, is the longest run).

The minimum counts Amazon's whole burst; SellerStream keeps one token of it spare (network jitter),
so its own floor is 71/70 = 1.014x, before its containers (cold, all at once) make their first call.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import multiprocessing
import os
import random
import sys
import time
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

ORDERS = 100
NOTIFICATIONS = 400
SELLER = "A1BURSTSELLER01"
LWA_CLIENT_ID = "amzn1.application-oa2-client.bench"
LWA_CLIENT_SECRET = "bench-secret"  # noqa: S105 - the emulator's local credential
REGION = "us-east-1"
GET_ORDER_PLAN = (0.5, 30)  # Amazon's default getOrder plan: rate per second, burst


@dataclass(frozen=True)
class RunResult:
    consumers: int
    calls_per_order: float
    throttled: int
    drain_ratio: float
    lost: int
    stale: int
    dead_lettered: int
    drain_seconds: float
    minimum_seconds: float


def consumer(environment: dict[str, str], queue: Any, naive: bool, ready: Any, go: Any, stop: Any) -> None:
    """One container: the real handler polling the queue until told to stop."""
    os.environ.update(environment)
    sys.stdout = open(os.environ.get("BENCH_FUNCTION_LOG", os.devnull), "a")  # noqa: SIM115 - the function's JSON logs
    import importlib

    import boto3

    from sellerstream.handlers.entry import QueueHandler  # noqa: TID251 - a handler of its own, as a function
    from sellerstream_local.poller import LocalPoller

    handler = (
        QueueHandler(_naive_runner)
        if naive
        else importlib.import_module("sellerstream.handlers.order_change").lambda_handler
    )
    poller = LocalPoller(
        boto3.client("sqs", region_name=REGION),
        queue,
        handler,
        function_name="order-change",
        batch_size=10,
        timeout_seconds=30,
        output=sys.stdout,
    )
    ready.release()
    go.wait()
    while not stop.is_set():
        if not poller.poll_once():
            time.sleep(0.05)


@functools.cache
def _naive_runner() -> Any:
    """One getOrder per notification on this container's own buckets (no shared budget, no skipping)."""
    from sellerstream import catalog, wiring
    from sellerstream.adapters.orders import DynamoDBOrderStore
    from sellerstream.adapters.sellers import seller_directory
    from sellerstream.config import OrderChangeSettings
    from sellerstream.logic.order_records import from_orders_2026
    from sellerstream.logic.spapi_access import SpApiAccess
    from sellerstream.spapi.orders import OrdersApi
    from sellerstream.timestamps import sortable_timestamp

    consumer = catalog.consumer("orders")
    settings = OrderChangeSettings.from_environment(os.environ)
    credentials = seller_directory(settings)
    access = SpApiAccess(settings, credentials)
    store = DynamoDBOrderStore(settings.orders_table_name)

    class NaiveOrderChange:
        def apply(self, notification: Any, remaining_time: Any) -> dict[str, Any]:
            change = notification.payload.order_change
            seller = credentials.for_notification(
                seller_id=change.seller_id, subscription_id=notification.subscription_id
            )
            api = OrdersApi(access.client_for(seller, remaining_time))
            record = from_orders_2026(change.seller_id, api.get_order(change.amazon_order_id))
            outcome = store.put_if_newer(record)
            return {"outcome": outcome.value, "last_updated": sortable_timestamp(record.last_updated)}

    return wiring.batch_runner(consumer, settings, NaiveOrderChange())


def notifications(rng: random.Random, now: datetime) -> tuple[list[str], dict[str, datetime]]:
    """400 bodies over 100 orders (three changes each, 100 redeliveries, shuffled) and each order's
    final state."""
    from sellerstream_local.notifications_factory import as_body, order_change

    bodies: list[str] = []
    final: dict[str, datetime] = {}
    for index in range(ORDERS):
        order_id = f"{100 + index}-{rng.randint(1000000, 9999999)}-{rng.randint(1000000, 9999999)}"
        changes = sorted(now - timedelta(seconds=rng.randint(1, 90)) for _ in range(3))
        final[order_id] = changes[-1].replace(microsecond=0)
        for changed in changes:
            bodies.append(
                as_body(
                    order_change(seller_id=SELLER, order_id=order_id, status="Unshipped", changed_at=changed)
                )
            )
    bodies += rng.sample(bodies, NOTIFICATIONS - len(bodies))  # Amazon delivers at least once
    rng.shuffle(bodies)
    return bodies, final


def run(consumers: int, *, naive: bool, time_scale: float, seed: int) -> RunResult:
    import boto3

    from sellerstream_local.emulator import SpApiEmulator
    from sellerstream_local.moto_patches import faster_moto
    from sellerstream_local.moto_server import SerializedMotoServer
    from sellerstream_local.resources import create_resources
    from stacks import constants

    rng = random.Random(seed)
    with (
        faster_moto(),
        SerializedMotoServer() as moto_server,
        SpApiEmulator(time_scale=time_scale, seed=seed) as emulator,
    ):
        # moto's state lives in this process, whatever server serves it: start each run from nothing.
        reset = urllib.request.Request(f"{moto_server.endpoint}/moto-api/reset", method="POST")  # noqa: S310
        urllib.request.urlopen(reset, timeout=30).close()  # noqa: S310 - the local moto server
        emulator.register_app(LWA_CLIENT_ID, LWA_CLIENT_SECRET)
        emulator.register_seller(SELLER, "Atzr|bench")
        aws = {"region_name": REGION, "endpoint_url": moto_server.endpoint}
        sqs, dynamodb = boto3.client("sqs", **aws), boto3.client("dynamodb", **aws)
        resources = create_resources(
            sqs, dynamodb, boto3.client("s3", **aws), boto3.client("events", **aws), 30
        )
        secrets = boto3.client("secretsmanager", **aws)
        secrets.create_secret(
            Name=constants.LWA_APP_SECRET_NAME,
            SecretString=json.dumps({"client_id": LWA_CLIENT_ID, "client_secret": LWA_CLIENT_SECRET}),
        )
        secrets.create_secret(
            Name=f"{constants.SELLER_SECRET_PREFIX}{SELLER}",
            SecretString=json.dumps({"refresh_token": "Atzr|bench", "region": "NA"}),
        )
        bodies, final = notifications(rng, datetime.now(UTC))
        for order_id, last_updated in final.items():
            emulator.set_order(order_id, seller_id=SELLER, last_updated=last_updated, status="Unshipped")
        queue = resources.queues["orders"]
        for start in range(0, len(bodies), 10):
            sqs.send_message_batch(
                QueueUrl=queue.url,
                Entries=[
                    {"Id": str(i), "MessageBody": body} for i, body in enumerate(bodies[start : start + 10])
                ],
            )
        environment = _environment(resources, moto_server.endpoint, emulator, naive)
        context = multiprocessing.get_context("spawn")
        ready, go, stop = context.Semaphore(0), context.Event(), context.Event()
        processes = [
            context.Process(target=consumer, args=(environment, queue, naive, ready, go, stop), daemon=True)
            for _ in range(consumers)
        ]
        for process in processes:
            process.start()
        for _ in processes:
            ready.acquire()
        emulator.reset_stats()
        started = time.monotonic()
        go.set()
        try:
            drained = _wait_until_drained(sqs, queue.url)
        finally:
            stop.set()
            for process in processes:
                process.join(timeout=60)
        drain_seconds = drained - started
        stored = _stored(dynamodb, resources.tables["orders"])
        rate, burst = GET_ORDER_PLAN
        minimum = max(ORDERS - burst, 0) / (rate * time_scale)
        return RunResult(
            consumers=consumers,
            calls_per_order=round(emulator.calls["getOrder"] / ORDERS, 3),
            throttled=emulator.throttled["getOrder"],
            drain_ratio=round(drain_seconds / minimum, 3),
            lost=sum(1 for order_id in final if order_id not in stored),
            stale=sum(1 for order_id, at in final.items() if order_id in stored and stored[order_id] < at),
            dead_lettered=_count(sqs, queue.dlq_url),
            drain_seconds=round(drain_seconds, 2),
            minimum_seconds=round(minimum, 2),
        )


def _environment(resources: Any, endpoint: str, emulator: Any, naive: bool) -> dict[str, str]:
    """The order-change function's environment as the stack renders it, on the local resources."""
    from sellerstream import catalog
    from stacks import constants

    queue = resources.queues["orders"]
    values: dict[str, object] = {
        **{f"{role}_table_name": name for role, name in resources.tables.items()},
        "lwa_app_secret_id": constants.LWA_APP_SECRET_NAME,
        "seller_secret_prefix": constants.SELLER_SECRET_PREFIX,
        "spapi_endpoint_override": emulator.base_url,
        "lwa_endpoint_override": emulator.lwa_token_url,
        "throttle_deferral_base_seconds": 1,
        "queue_url": queue.url,
        "dead_letter_queue_url": queue.dlq_url,
    }
    if naive:
        del values["rate_budget_table_name"]  # each container keeps its own buckets
    return {
        **catalog.consumer("orders").settings.environment(values),
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "POWERTOOLS_SERVICE_NAME": "order-change",
        "POWERTOOLS_METRICS_NAMESPACE": constants.METRICS_NAMESPACE,
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
        "AWS_LAMBDA_FUNCTION_NAME": "order-change",
    }


def _wait_until_drained(sqs: Any, queue_url: str, max_seconds: float = 900.0) -> float:
    """The moment the queue held nothing visible, in flight or delayed (seen twice in a row)."""
    names = [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    ]
    deadline = time.monotonic() + max_seconds
    empty_since: float | None = None
    while time.monotonic() < deadline:
        now = time.monotonic()
        attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=names)["Attributes"]
        if all(int(attributes[name]) == 0 for name in names):
            if empty_since is not None:
                return empty_since
            empty_since = now
        else:
            empty_since = None
        time.sleep(0.1)  # the drain's moment to a tenth of a second (a slot is a second here)
    raise TimeoutError(f"the queue did not drain within {max_seconds} s")


def _stored(dynamodb: Any, table: str) -> dict[str, datetime]:
    from sellerstream.timestamps import parse_sortable

    stored: dict[str, datetime] = {}
    for page in dynamodb.get_paginator("scan").paginate(TableName=table):
        for item in page["Items"]:
            if item["sk"]["S"].startswith("ORDER#"):
                stored[item["order_id"]["S"]] = parse_sortable(item["last_updated"]["S"])
    return stored


def _count(sqs: Any, queue_url: str) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def _figures(result: RunResult) -> dict[str, Any]:
    return {
        "consumers": result.consumers,
        "calls_per_order": result.calls_per_order,
        "throttled": result.throttled,
        "drain_ratio": result.drain_ratio,
        "lost": result.lost,
        "stale": result.stale,
        "dead_lettered": result.dead_lettered,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--consumers", type=int, nargs="+", default=[1, 4, 10])
    parser.add_argument("--baseline-consumers", type=int, default=10)
    parser.add_argument("--time-scale", type=float, default=2.0, help="emulator refill speed-up (default 2)")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    # Everything AWS is the local moto server: fixed local credentials, never a real account.
    for variable in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        os.environ.pop(variable, None)
    os.environ.update(
        {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION}
    )

    runs = [run(k, naive=False, time_scale=args.time_scale, seed=args.seed) for k in args.consumers]
    baseline = run(args.baseline_consumers, naive=True, time_scale=args.time_scale, seed=args.seed)
    if args.json:
        print(json.dumps({"runs": [_figures(r) for r in runs], "baseline": _figures(baseline)}))
        return
    print(
        f"order burst: {NOTIFICATIONS} notifications over {ORDERS} orders of one seller; getOrder at "
        f"{GET_ORDER_PLAN[0]}/s x {args.time_scale} (burst {GET_ORDER_PLAN[1]}); "
        f"rate-plan minimum {runs[0].minimum_seconds:.1f} s"
    )
    print(
        f"{'':<22}{'calls/order':>12}{'429s':>7}{'drain':>9}{'÷ minimum':>11}{'lost':>6}{'stale':>7}{'DLQ':>5}"
    )
    for label, result in [
        *((f"shared, K={r.consumers}", r) for r in runs),
        (f"naive, K={baseline.consumers}", baseline),
    ]:
        print(
            f"{label:<22}{result.calls_per_order:>12.2f}{result.throttled:>7}{result.drain_seconds:>8.1f}s"
            f"{result.drain_ratio:>11.3f}{result.lost:>6}{result.stale:>7}{result.dead_lettered:>5}"
        )
    best = runs[-1]
    print(
        f"K={best.consumers}: {baseline.calls_per_order / max(best.calls_per_order, 1e-9):.2f}x fewer calls "
        f"and {baseline.throttled} -> {best.throttled} throttled than the naive baseline"
    )


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()

"""Prime Day in simulated time: one large seller's burst while 50 small sellers trickle.

The large seller receives 50,000 ORDER_CHANGE notifications over 20,000 orders within 2 hours (one
to four changes per order); 50 small sellers each publish about one every two minutes for six
hours. The real order-change consumer (``wiring.order_change.orders_runner``: intake, the pending set,
one drainer per seller holding its lease, drain requests) runs in 5 simulated Lambda containers
(the consumer's maximum concurrency) against the simulation's SQS queue and DynamoDB tables
(orders, pending orders, rate budget; in memory, with DynamoDB's conditional writes) and the SP-API
emulator at Amazon's default plans, called in process with 150 ms of latency per call.
Everything runs on one virtual clock (``sellerstream_local.simulation``): rate-budget waits, SQS
delays and visibility timeouts, Lambda's polling; so hours pass in minutes and the run is
deterministic. The same small-seller traffic runs once more without the burst, for comparison.

Prints: valid notifications dead-lettered (all are valid), orders at their latest state, SP-API
calls per order, SQS receives per notification, the small sellers' p95 event-to-store lag with
and without the burst, and when the large seller's orders were all at their latest state against
the rate-plan minimum with both budgets (getOrder 0.5/s burst 30 plus searchOrders 0.0056/s burst
20 at 100 orders a page; a lower bound that ignores the two-minute settle time of searchOrders,
and that an order changed again after it was fetched must be fetched again).
``--json`` prints one object with ``orders``, ``orders_latest``, ``valid_dead_lettered``,
``calls_per_order``, ``receives_per_notification``, ``small_seller_p95_lag_ratio``, ``drain_ratio``,
and ``details``: calls per operation, 429s, receives, both lags in seconds, the
drain against its minimum in hours, ``final_share_at_midpoint`` (how much an order's past tells of
its future: see the function), and ``orders_fetched``: the large seller's orders as getOrder's
and searchOrders' answers carried them, ``final`` (its last state, stored once), ``changed_later``
(a state it left later: fetched again) and ``repeated`` (a state fetched already).
``--scale 0.1`` runs a tenth of the large seller in about a minute, the full scale in about five:
not the simulation's own work but the function's, once per SQS receive and per drain step.
A small seller's lag is counted from its notification's publication to its order's storing
(``stored_at``). ``--progress`` prints, every simulated half
hour, the receives so far and the queue's depth.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

START = 1_790_000_000.0  # the simulation's epoch (2026-09-21)
BIG = "A1PRIMEDAYLARGE"
SMALL = tuple(f"A2SMALL{index:04d}XX" for index in range(50))
BIG_ORDERS = 20_000
BIG_NOTIFICATIONS = 50_000
BURST_SECONDS = 2 * 3600
TRICKLE_SECONDS = 6 * 3600
SMALL_MEAN_INTERVAL = 120.0
CONTAINERS = 5
BATCH_SIZE = 10
FUNCTION_TIMEOUT = 30.0
CALL_LATENCY = 0.15  # seconds of virtual time per SP-API call
INVOCATION_OVERHEAD = 0.05  # per batch (receive, parse, idempotency, delete)
RECORD_OVERHEAD = 0.005
LONG_POLL = 20.0  # SQS long polling's longest wait
MIN_POLL = 0.05
LWA_ID, LWA_SECRET = "amzn1.application-oa2-client.primeday", "primeday-secret"
ORDERS_PATH = "/orders/2026-01-01/orders"  # getOrder's and searchOrders' answers
PROGRESS_EVERY = 1800.0  # virtual seconds between two --progress lines


@dataclass
class Notice:
    at: float  # publish time (virtual)
    seller: str
    order_id: str
    changed: float
    notification_id: str


@dataclass
class Outcome:
    notifications: int
    small_lags: list[float]
    big_orders: int
    orders: int
    orders_latest: int
    dead_lettered: int
    calls: Counter[str]
    throttled: int
    receives: int
    big_state_drained_at: float | None
    big_queue_drained_at: float | None
    wall_seconds: float
    extra: dict[str, Any] = field(default_factory=dict)


def workload(rng: random.Random, big_orders: int, big_notifications: int, with_burst: bool) -> list[Notice]:
    notices: list[Notice] = []
    if with_burst:
        counts = [1] * big_orders
        for _ in range(big_notifications - big_orders):  # one to four changes per order, 2.5 on average
            while True:
                index = rng.randrange(big_orders)
                if counts[index] < 4:
                    counts[index] += 1
                    break
        for index, count in enumerate(counts):
            order_id = f"{100 + index % 900}-{index:07d}-{rng.randint(1000000, 9999999)}"
            first = rng.uniform(0, BURST_SECONDS - 60)
            changes = sorted([first, *(rng.uniform(first, BURST_SECONDS) for _ in range(count - 1))])
            for changed in changes:
                notices.append(
                    Notice(START + changed + rng.uniform(1, 10), BIG, order_id, START + changed, "")
                )
    for seller_index, seller in enumerate(SMALL):
        at, serial = rng.uniform(0, SMALL_MEAN_INTERVAL), 0
        while at < TRICKLE_SECONDS:
            serial += 1
            order_id = f"{200 + seller_index}-{serial:07d}-{rng.randint(1000000, 9999999)}"
            notices.append(Notice(START + at + rng.uniform(1, 10), seller, order_id, START + at, ""))
            at += rng.expovariate(1 / SMALL_MEAN_INTERVAL)
    notices.sort(key=lambda notice: notice.at)
    for serial, notice in enumerate(notices):
        notice.notification_id = f"n-{serial:07d}"
    return notices


def simulate(  # noqa: PLR0915 - one scenario, read top to bottom
    notices: list[Notice],
    seed: int,
    progress: str | None = None,
    *,
    observer: Any = None,
    batching_window: float = 0.0,
) -> Outcome:
    """One scenario on a fresh emulator, queue and clock. ``observer`` (bench/cost.py's meter), if
    given, wraps the AWS clients, is told each invocation (its virtual seconds, records and what was
    acknowledged), receives the functions' log lines (``log_stream``) and metrics (``metrics``).
    ``batching_window``: seconds the mapping gathers a batch before invoking with fewer records
    than its size (the deployed mapping's MaximumBatchingWindowInSeconds; 0: invoke at once)."""
    started = time.monotonic()
    from sellerstream import aws, catalog
    from sellerstream.adapters.rate_budget import SharedRateBudget
    from sellerstream.adapters.sellers import AwsSellerDirectory
    from sellerstream.config import OrderChangeSettings
    from sellerstream.logic.spapi_access import SpApiAccess
    from sellerstream.spapi.transport import HttpRequest, HttpResponse
    from sellerstream.wiring.order_change import orders_runner
    from sellerstream_local.emulator import SpApiEmulator
    from sellerstream_local.in_process import IN_PROCESS_BASE_URL, InProcessTransport
    from sellerstream_local.notifications_factory import as_body, iso, order_change
    from sellerstream_local.resources import create_catalog_table, create_table
    from sellerstream_local.simulation import (
        SimulatedDynamoDB,
        SimulatedSecrets,
        SimulatedSqs,
        VirtualTime,
        invoke_batch,
        powertools_on,
        quiet_function_logs,
    )

    # The product's jitter (deferral delays, retry backoff) draws from the random module: seeded, so a
    # run repeats exactly (the clock runs one participant at a time, in a fixed order).
    random.seed(seed)
    clock = VirtualTime(START)
    emulator = SpApiEmulator(clock=clock.time, seed=seed)
    emulator.register_app(LWA_ID, LWA_SECRET)
    consumer = catalog.consumer("orders")
    sqs = SimulatedSqs(
        clock,
        name="orders",
        visibility_timeout=consumer.sizing.visibility_timeout_seconds,
        max_receive_count=catalog.MAX_RECEIVE_COUNT,
    )

    answered: list[tuple[str, str]] = []  # (order id, lastUpdatedTime) of every order an answer carried

    class LaggingTransport(InProcessTransport):
        def send(self, request: HttpRequest, timeout: float) -> HttpResponse:
            clock.sleep(CALL_LATENCY)
            response = super().send(request, timeout)
            if response.status == 200 and ORDERS_PATH in request.url:
                body = json.loads(response.body)
                for order in body.get("orders") or [body.get("order") or {}]:
                    if "orderId" in order:
                        answered.append((order["orderId"], order["lastUpdatedTime"]))
            return response

    dynamodb = SimulatedDynamoDB()
    tables = {
        "orders_table_name": create_table(dynamodb, "orders", "pk", "sk", None),
        "idempotency_table_name": create_table(dynamodb, "idempotency", "id", None, None),
        "accounts_table_name": create_table(dynamodb, "accounts", "pk", None, None),
        "rate_budget_table_name": create_table(dynamodb, "rate-budget", "pk", None, None),
        "pending_orders_table_name": create_catalog_table(dynamodb, catalog.PENDING_ORDERS_TABLE),
    }
    secrets = {"lwa": json.dumps({"client_id": LWA_ID, "client_secret": LWA_SECRET})}
    for seller in sorted({notice.seller for notice in notices}):
        secrets[f"sellers/{seller}"] = json.dumps({"refresh_token": f"Atzr|{seller}", "region": "NA"})
        emulator.register_seller(seller, f"Atzr|{seller}")
    settings = OrderChangeSettings.of(
        **tables,
        lwa_app_secret_id="lwa",  # noqa: S106 - a secret's name
        seller_secret_prefix="sellers/",  # noqa: S106
        spapi_endpoint_override=IN_PROCESS_BASE_URL,
        lwa_endpoint_override=f"{IN_PROCESS_BASE_URL}/auth/o2/token",
        queue_url=sqs.queue.url,
        dead_letter_queue_url=f"{sqs.queue.url}-dlq",  # no poison in this workload
    )
    aws.reset_clients()
    real_client = aws.client
    services = {"sqs": sqs, "dynamodb": dynamodb, "secretsmanager": SimulatedSecrets(secrets)}
    aws.client = (observer.wrap(services) if observer else services).__getitem__  # type: ignore[assignment]
    publishing = {"done": False, "next": START}

    def publisher() -> None:
        for notice in notices:
            publishing["next"] = notice.at
            clock.sleep(notice.at - clock.now)
            # Amazon's view moves on with the change it announces (never backwards).
            current = emulator.catalog.get(notice.order_id)
            changed = datetime.fromtimestamp(notice.changed, UTC)
            if current is None or current.seller_id != notice.seller or current.last_updated < changed:
                emulator.set_order(
                    notice.order_id, seller_id=notice.seller, last_updated=changed, status="Unshipped"
                )
            document = order_change(
                seller_id=notice.seller,
                order_id=notice.order_id,
                status="Unshipped",
                changed_at=changed,
                notification_id=notice.notification_id,
            )
            document["EventTime"] = iso(datetime.fromtimestamp(notice.at, UTC))  # published after the change
            sqs.send(as_body(document))
        publishing["done"] = True
        publishing["next"] = float("inf")

    next_report = [START + PROGRESS_EVERY]

    def report_progress() -> None:
        next_report[0] += PROGRESS_EVERY
        print(
            f"[{progress}] {(clock.now - START) / 3600:.2f} h simulated: {sqs.receives:,} receives, "
            f"{sqs.queue.live:,} messages in the queue, {time.monotonic() - started:.0f} s of real time",
            file=sys.stderr,
            flush=True,
        )

    def container() -> None:
        directory = AwsSellerDirectory(
            accounts_table=settings.accounts_table_name,
            app_secret_id=settings.lwa_app_secret_id,
            seller_secret_prefix=settings.seller_secret_prefix,
        )
        shared = tables["rate_budget_table_name"]
        access = SpApiAccess(
            settings,
            directory,
            budgets=SharedRateBudget(shared, clock=clock.time, sleep=clock.sleep),
            transport=LaggingTransport(emulator),
            clock=clock.time,
            sleep=clock.sleep,
        )
        runner = orders_runner(settings, directory, access, clock=clock.time, sleep=clock.sleep)
        while not (publishing["done"] and sqs.empty()):
            if progress and clock.now >= next_report[0]:
                report_progress()
            messages = sqs.receive(BATCH_SIZE)
            gather_until, polls = clock.now + batching_window, 1
            while messages and len(messages) < BATCH_SIZE and clock.now < gather_until:
                available = sqs.next_available() or float("inf")
                clock.sleep(max(min(available, publishing["next"], gather_until) - clock.now, MIN_POLL))
                more = sqs.receive(BATCH_SIZE - len(messages))
                polls += bool(more)
                messages += more
            if not messages:
                # Long polling: back when a message becomes available or is published.
                available = sqs.next_available() or float("inf")
                wake = min(available, publishing["next"], clock.now + LONG_POLL)
                clock.sleep(max(wake - clock.now, MIN_POLL))
                continue
            begun = clock.now
            clock.sleep(INVOCATION_OVERHEAD + RECORD_OVERHEAD * len(messages))
            results: list[Any] = []
            invoke_batch(
                clock,
                sqs,
                messages,
                runner,
                timeout_seconds=FUNCTION_TIMEOUT,
                on_result=results.append,
                metrics_sink=observer.metrics if observer else None,
            )
            if observer:
                acknowledged = sum(1 for outcome in results[0].outcomes if outcome.done) if results else 0
                observer.invoked(clock.now - begun, len(messages), acknowledged, polls)

    # Powertools prints a metrics object every 100 values of a metric, disabled or not (as in Lambda):
    # to nowhere, like the function's logs.
    saved_stdout = sys.stdout
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - closed below
    try:
        with quiet_function_logs(observer.log_stream if observer else None), powertools_on(clock):
            clock.start("publisher", publisher)
            for index in range(CONTAINERS):
                clock.start(f"container-{index}", container)
            clock.run()
    finally:
        sys.stdout.close()
        sys.stdout = saved_stdout
        aws.client = real_client  # type: ignore[assignment]
    outcome = _outcome(notices, sqs, emulator, dynamodb, settings.orders_table_name, started)
    outcome.extra["fetches"] = _fetches(notices, answered)
    return outcome


def _outcome(
    notices: list[Notice], sqs: Any, emulator: Any, dynamodb: Any, orders_table: str, started: float
) -> Outcome:
    from sellerstream.timestamps import parse_sortable

    final: dict[tuple[str, str], float] = {}
    for notice in notices:
        key = (notice.seller, notice.order_id)
        final[key] = max(final.get(key, 0.0), float(int(notice.changed)))
    stored: dict[tuple[str, str], tuple[float, float]] = {}
    for item in dynamodb.stored_items(orders_table):
        if item["sk"]["S"].startswith("ORDER#"):
            key = (item["seller_id"]["S"], item["order_id"]["S"])
            stored_at = parse_sortable(item["stored_at"]["S"]).timestamp() if "stored_at" in item else 0.0
            stored[key] = (parse_sortable(item["last_updated"]["S"]).timestamp(), stored_at)
    latest = {key for key, changed in final.items() if key in stored and stored[key][0] >= changed}
    big_keys = [key for key in final if key[0] == BIG]
    # A small seller's notification to its order's storing (each of its orders changes once): the
    # queue no longer says when an order is stored, its drainer does.
    small_lags = [
        stored[(notice.seller, notice.order_id)][1] - notice.at
        for notice in notices
        if notice.seller != BIG and (notice.seller, notice.order_id) in stored
    ]
    big_done = [sqs.done_at.get(notice.notification_id) for notice in notices if notice.seller == BIG]
    return Outcome(
        notifications=len(notices),
        small_lags=small_lags,
        big_orders=len(big_keys),
        orders=len(final),
        orders_latest=len(latest),
        dead_lettered=len(sqs.queue.dead_letters),
        calls=Counter(emulator.sp_api_calls()),
        throttled=sum(emulator.throttled.values()),
        receives=sqs.receives,
        big_state_drained_at=max((stored[key][1] for key in big_keys if key in latest), default=None)
        if big_keys and all(key in latest for key in big_keys)
        else None,
        big_queue_drained_at=max((done for done in big_done if done is not None), default=None)
        if big_done and all(done is not None for done in big_done)
        else None,
        wall_seconds=time.monotonic() - started,
    )


def _fetches(notices: list[Notice], answered: list[tuple[str, str]]) -> dict[str, int]:
    """What the large seller's answers (getOrder's order, each order of a searchOrders page) were
    worth, in the order they came: ``final`` its order's last state, stored once; ``changed_later``
    a state the order left later (fetched during the burst, fetched again); ``repeated`` a state
    already fetched (an order served before, in a page's window)."""
    final: dict[str, float] = {}
    for notice in notices:
        if notice.seller == BIG:
            final[notice.order_id] = max(final.get(notice.order_id, 0.0), float(int(notice.changed)))
    counts = Counter({"final": 0, "changed_later": 0, "repeated": 0})
    fetched: dict[str, float] = {}
    for order_id, last_updated in answered:
        if order_id not in final:
            continue
        state = float(int(datetime.fromisoformat(last_updated.replace("Z", "+00:00")).timestamp()))
        if state <= fetched.get(order_id, -1.0):
            counts["repeated"] += 1
        else:
            counts["final" if state >= final[order_id] else "changed_later"] += 1
            fetched[order_id] = state
    return dict(counts)


def final_share_at_midpoint(notices: list[Notice]) -> dict[str, float]:
    """Halfway through the burst, of the large seller's orders announced so far, the share already
    at their last state, in the tenth that changed least and most recently and in the tenth whose
    first change came earliest and latest: how much an order's past tells of its future."""
    midpoint = START + BURST_SECONDS / 2
    final: dict[str, float] = {}
    seen: dict[str, tuple[float, float]] = {}  # order -> (first change, last change) announced
    for notice in notices:
        if notice.seller != BIG:
            continue
        final[notice.order_id] = max(final.get(notice.order_id, 0.0), notice.changed)
        if notice.at <= midpoint:
            first, last = seen.get(notice.order_id, (notice.changed, notice.changed))
            seen[notice.order_id] = (min(first, notice.changed), max(last, notice.changed))
    if len(seen) < 10:
        return {}

    def share(orders: list[str]) -> float:
        return round(sum(1 for order in orders if seen[order][1] >= final[order]) / len(orders), 2)

    tenth = len(seen) // 10
    by_last = sorted(seen, key=lambda order: seen[order][1])
    by_first = sorted(seen, key=lambda order: seen[order][0])
    return {
        "least_recently_changed_tenth": share(by_last[:tenth]),
        "most_recently_changed_tenth": share(by_last[-tenth:]),
        "earliest_first_change_tenth": share(by_first[:tenth]),
        "latest_first_change_tenth": share(by_first[-tenth:]),
    }


def simulation_environment(*, log_level: str = "WARNING", metrics: bool = False) -> None:
    """The process's environment as the order-change function's, with no AWS account reachable:
    its logs at ``log_level``, its metrics kept (``metrics``) or dropped."""
    for variable in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        os.environ.pop(variable, None)
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "POWERTOOLS_SERVICE_NAME": "order-change",
            "POWERTOOLS_METRICS_DISABLED": "false" if metrics else "true",
            # As in the function (read when the metrics object is built): Powertools flushes every
            # 100 metrics, disabled or not, and refuses to without a namespace.
            "POWERTOOLS_METRICS_NAMESPACE": "SellerStream",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": log_level,
        }
    )


def minimum_drain_seconds(big_orders: int, last_publish: float) -> float:
    """The earliest moment both budgets could have fetched every order once: getOrder (burst 30,
    0.5/s) plus searchOrders (burst 20, 0.0056/s) at 100 orders a page, and not before the last
    notification was published."""
    burst = 30 + 100 * 20
    rate = 0.5 + 100 * 0.0056
    return max(last_publish, (big_orders - burst) / rate)


def p95(values: list[float]) -> float:
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=100)[94] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--scale", type=float, default=1.0, help="share of the large seller's volume (default 1)"
    )
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument(
        "--progress",
        action="store_true",
        help="every simulated half hour, a line on stderr (receives, queue)",
    )
    args = parser.parse_args()
    simulation_environment()
    big_orders = int(BIG_ORDERS * args.scale)
    big_notifications = int(BIG_NOTIFICATIONS * args.scale)
    quiet = workload(random.Random(args.seed), big_orders, big_notifications, with_burst=False)
    busy = workload(random.Random(args.seed), big_orders, big_notifications, with_burst=True)
    without = simulate(quiet, args.seed, "without the burst" if args.progress else None)
    with_burst = simulate(busy, args.seed, "with the burst" if args.progress else None)

    last_publish = max(notice.at for notice in busy if notice.seller == BIG) - START
    minimum = minimum_drain_seconds(big_orders, last_publish)
    drained = (with_burst.big_state_drained_at - START) if with_burst.big_state_drained_at else float("nan")
    calls = with_burst.calls["getOrder"] + with_burst.calls["searchOrders"]
    figures = {
        "orders": with_burst.orders,
        "orders_latest": with_burst.orders_latest,
        "valid_dead_lettered": with_burst.dead_lettered,
        "calls_per_order": round(calls / with_burst.orders, 3),
        "receives_per_notification": round(with_burst.receives / with_burst.notifications, 2),
        "small_seller_p95_lag_ratio": round(p95(with_burst.small_lags) / p95(without.small_lags), 2),
        "drain_ratio": round(drained / minimum, 3),
    }
    queue_drained = (with_burst.big_queue_drained_at or START) - START
    if args.json:
        details = {  # besides the keys: what a reader of the figures asks next
            "get_order_calls": with_burst.calls["getOrder"],
            "search_orders_calls": with_burst.calls["searchOrders"],
            "throttled": with_burst.throttled,
            "receives": with_burst.receives,
            "small_seller_p95_lag_seconds": [
                round(p95(with_burst.small_lags), 1),
                round(p95(without.small_lags), 1),
            ],
            "drained_hours": round(drained / 3600, 2),
            "queue_drained_hours": round(queue_drained / 3600, 2),
            "minimum_hours": round(minimum / 3600, 2),
            # The large seller's orders as the answers carried them (see _fetches).
            "orders_fetched": with_burst.extra["fetches"],
            "final_share_at_midpoint": final_share_at_midpoint(busy),
            "real_seconds": round(without.wall_seconds + with_burst.wall_seconds),
        }
        print(json.dumps({**figures, "details": details}))
        return
    print(
        f"Prime Day, simulated: {big_notifications:,} notifications over {big_orders:,} orders of one seller "
        f"in {BURST_SECONDS // 3600} h, {len(SMALL)} small sellers trickling for {TRICKLE_SECONDS // 3600} h; "
        f"{CONTAINERS} containers"
    )
    print(f"  notifications {with_burst.notifications:,}   valid dead-lettered {with_burst.dead_lettered}")
    print(f"  orders at their latest state {with_burst.orders_latest:,} / {with_burst.orders:,}")
    print(
        f"  SP-API calls {calls:,} (getOrder {with_burst.calls['getOrder']:,}, searchOrders "
        f"{with_burst.calls['searchOrders']:,}, 429s {with_burst.throttled}): {figures['calls_per_order']} per order"
    )
    print(f"  SQS receives per notification {figures['receives_per_notification']}")
    print(
        f"  small sellers' p95 event-to-store lag: {p95(with_burst.small_lags):.1f} s with the burst, "
        f"{p95(without.small_lags):.1f} s without: {figures['small_seller_p95_lag_ratio']}x"
    )
    print(
        f"  large seller's orders all at their latest state after {drained / 3600:.2f} h "
        f"(its queue empty after {queue_drained / 3600:.2f} h); rate-plan minimum {minimum / 3600:.2f} h: "
        f"{figures['drain_ratio']}x"
    )
    fetches = with_burst.extra["fetches"]
    print(
        f"  the large seller's orders as answers carried them: {fetches['final']:,} final, "
        f"{fetches['changed_later']:,} changed later, {fetches['repeated']:,} fetched already"
    )
    print(f"  simulated in {without.wall_seconds + with_burst.wall_seconds:.0f} s of real time")


if __name__ == "__main__":
    main()

"""The fault matrix: 10,000 notifications through the real ORDER_CHANGE processing under injected faults.

ORDER_CHANGE notifications of ten sellers (about 2.5 changes per order over an hour) run through the
real batch processing and use case in 5 simulated Lambda containers, against the SP-API emulator
in process and the simulated SQS and DynamoDB, on one virtual clock
(``sellerstream_local.simulation``; the machinery is ``sellerstream_local.fault_matrix``). Injected:
SP-API 429s, 5xx, timeouts, connection resets and truncated bodies; LWA ``invalid_grant`` for one
seller for 30 minutes (then it re-authorises with a new refresh token); DynamoDB throttling and
internal errors; containers killed between the SP-API callback and the order's write; 20%
duplicates, 20% reordered, 1% poison, and 5% of the notifications dropped before the queue.

Prints lost, applied twice, regressed, poison, poison in the DLQ, valid notifications in the DLQ
and orders still stale after reconciliation (``not_repaired``), then what was injected. ``--json``
prints one object with exactly ``lost``, ``applied_twice``, ``regressed``, ``poison``,
``poison_dead_lettered``, ``valid_dead_lettered``, ``not_repaired``. Targets: 0, 0, 0, all poison, 0, 0.
About two to four minutes on two cores for the default 10,000.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from sellerstream import catalog
from sellerstream.adapters.backlog import DynamoDBSearchWindows
from sellerstream.logic.order_search import SEARCH_SETTLE_SECONDS
from sellerstream.logic.reconcile import ReconcileUseCase
from sellerstream_local.fault_matrix import World, run

# A seller's reconciliation stopped by its spent searchOrders budget is resumed at most this often.
RESUMES = 50
RECONCILIATION_ABSENT = (
    "reconciliation is not in this tree: not_repaired counts the orders stale before any reconciliation"
)


def reconcile_sellers(world: World) -> dict[str, Any] | None:
    """Reconciles every seller over the delivery phase's window, as the scheduled run would: the
    product's use case on the simulation's clock, emulator, tables and shared rate budget.

    searchOrders answers only for orders updated at least two minutes before the request, so the
    virtual clock first moves past that for the last changes. A run the budget stops is resumed
    when the budget says a slot is free, as the next scheduled run would.
    """
    world.clock.now = max(world.clock.now, world.until.timestamp() + SEARCH_SETTLE_SECONDS + 5.0)
    directory = world.make_directory()
    use_case = ReconcileUseCase(
        directory,
        world.make_access(directory),
        world.make_order_store(),
        DynamoDBSearchWindows(world.settings.rate_budget_table_name, clock=world.clock.time),
        clock=world.clock.time,
    )
    results: dict[str, Any] = {}
    for seller in world.sellers:
        total = use_case.reconcile(seller, world.since, None, lambda: 900.0)
        for _ in range(RESUMES):
            if total.complete or total.stopped != "rate_budget":
                break
            world.clock.now += max(total.resume_in_seconds or 1.0, 1.0)
            again = use_case.reconcile(seller, world.since, total.until, lambda: 900.0)
            again.add(total)
            total = again
        results[seller] = total.as_dict()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--notifications", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    for variable in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        os.environ.pop(variable, None)
    outcome = run(args.notifications, args.seed, reconcile=reconcile_sellers)
    figures = outcome.figures
    if args.json:
        print(json.dumps(figures))
        return
    injected = outcome.injected
    print(
        f"Fault matrix, simulated: {outcome.notifications:,} {catalog.ORDER_CHANGE.name} notifications over "
        f"{outcome.orders:,} orders ({outcome.deliveries:,} deliveries), {args.seed=}"
    )
    print(
        f"  lost {figures['lost']}   applied twice {figures['applied_twice']}   regressed {figures['regressed']}"
    )
    print(
        f"  poison {figures['poison']}   poison in the DLQ {figures['poison_dead_lettered']}   "
        f"valid notifications in the DLQ {figures['valid_dead_lettered']}"
    )
    print(
        f"  orders stale after delivery (notifications dropped before the queue) {outcome.stale_before_reconciliation}"
    )
    if not outcome.reconciled:
        print(f"  {RECONCILIATION_ABSENT}")
    print(f"  not repaired {figures['not_repaired']}")
    print(
        f"  injected: SP-API 429s {injected['spapi_throttles']} (+{injected['spapi_rate_plan_throttles']} from "
        f"the rate plans), 5xx and truncated bodies (emulator, 3% and 1% of calls), timeouts "
        f"{injected['timeouts']}, connection resets {injected['connection_resets']}; DynamoDB throttles "
        f"{injected['dynamodb_throttles']}, internal errors {injected['dynamodb_errors']}; containers killed "
        f"before a write {injected['kills']}; duplicates {injected['duplicates']}, reordered "
        f"{injected['reordered']}, dropped {injected['dropped']}"
    )
    print(
        f"  seller without a valid refresh token for 30 min: {outcome.revoked_lwa_exchanges} LWA exchanges with "
        f"the refused token; its {outcome.revoked_seller_notifications} notifications received "
        f"{outcome.revoked_seller_receives} times meanwhile (waiting, deferred)"
    )
    print(
        f"  SQS receives {outcome.receives:,}; SP-API calls {outcome.sp_api_calls}; still queued "
        f"{outcome.still_queued}; {outcome.virtual_seconds / 3600:.2f} h simulated in {outcome.wall_seconds:.0f} s"
    )


if __name__ == "__main__":
    main()

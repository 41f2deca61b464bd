"""How fast the parser refuses hostile SQS bodies of up to SQS's 256 KB.

Each case is a body Amazon never sends, built to be expensive: tens of thousands of bad list
items (or good ones with a bad last one), nesting past the decoder's recursion limit (raw, in an
ignored field, in an EventBridge event's detail), a 250,000-digit integer, a 256 KB id, thousands
of extra keys, invalid JSON. For each it prints the median CPU time ``parse_notification`` takes
to refuse it (a typed PoisonMessageError is required) next to a bare ``json.loads`` of the same
body measured in the same run, the floor any parser pays. The target is under 50 ms for every body.
CPU time of this process, not wall time: on a shared machine wall time also counts the waits
behind other processes, which a Lambda function with its own CPU share does not have.

    python bench/parse_reject.py [--json]

``--json`` prints one object: ``max_reject_ms``, ``limit_ms``, ``within_limit``, ``body_bytes_max``
and ``cases`` (per case: ``bytes``, ``reject_ms``, ``json_loads_ms``, ``ratio``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from sellerstream import catalog

SQS_MAX_BYTES = 256 * 1024
LIMIT_MS = 50.0
RUNS = 7

ORDER_CHANGE: dict[str, Any] = {
    "NotificationVersion": "1.0",
    "NotificationType": catalog.ORDER_CHANGE.name,
    "PayloadVersion": "1.0",
    "EventTime": "2020-01-11T00:09:53.109Z",
    "Payload": {
        "OrderChangeNotification": {
            "NotificationLevel": "OrderLevel",
            "SellerId": "A3TH9S8BH6GOGM",
            "AmazonOrderId": "903-8868176-2219830",
            "OrderChangeType": "BuyerRequestedChange",
            "OrderChangeTrigger": {"TimeOfOrderChange": None, "ChangeReason": "Buyer Requested Cancel"},
            "Summary": {
                "MarketplaceId": "ATVPDKIKX0DER",
                "OrderStatus": "Unshipped",
                "PurchaseDate": "2022-07-13T19:42:04.284Z",
                "DestinationPostalCode": "48110",
                "FulfillmentType": "MFN",
                "OrderType": "StandardOrder",
                "OrderItems": [],
            },
        }
    },
    "NotificationMetadata": {
        "ApplicationId": "app-id-d0e9e693-c3ad-4373-979f-ed4ec98dd746",
        "SubscriptionId": "subscription-id-d0e9e693-c3ad-4373-979f-ed4ec98dd746",
        "PublishTime": "2020-07-13T19:42:04.284Z",
        "NotificationId": "d0e9e693-c3ad-4373-979f-ed4ec98dd746",
    },
}
ITEM = {"OrderItemId": "OIID34853450", "SellerSKU": "S", "SupplySourceId": None, "Quantity": 1}


def _with_items(items: list[Any]) -> dict[str, Any]:
    document = json.loads(json.dumps(ORDER_CHANGE))
    document["Payload"]["OrderChangeNotification"]["Summary"]["OrderItems"] = items
    return document


def _fill(make: Callable[[int], str]) -> str:
    """The largest body ``make(n)`` builds within SQS's limit (n found by bisection)."""
    low, high = 0, SQS_MAX_BYTES
    while low < high:
        middle = (low + high + 1) // 2
        if len(make(middle).encode()) <= SQS_MAX_BYTES:
            low = middle
        else:
            high = middle - 1
    return make(low)


def _eventbridge(detail: str) -> str:
    head = (
        '{"version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718", "detail-type": "x", '
        '"source": "aws.partner/x", "time": "2025-01-11T00:09:53Z", "region": "us-east-1", '
        '"resources": [], "detail": '
    )
    return head + detail + "}"


def cases() -> dict[str, str]:
    valid = json.dumps(ORDER_CHANGE)
    return {
        "65k empty order items": _fill(lambda n: json.dumps(_with_items([{}] * n))),
        "good order items, bad last one": _fill(lambda n: json.dumps(_with_items([ITEM] * n + [{}]))),
        "65k bad listing statuses": _fill(
            lambda n: json.dumps(
                {
                    **ORDER_CHANGE,
                    "NotificationType": catalog.LISTINGS_ITEM_STATUS_CHANGE.name,
                    "Payload": {"SellerId": "A3TH9S8BH6GOGM", "Sku": "S", "Status": [1] * n},
                }
            )
        ),
        "nested arrays (raw body)": _fill(lambda n: "[" * n + "]" * n),
        "nested arrays in an ignored field": _fill(
            lambda n: valid[:-1] + ', "x": ' + "[" * n + "]" * n + "}"
        ),
        "nested objects in EventBridge detail": _fill(lambda n: _eventbridge('{"a":' * n + "1" + "}" * n)),
        "250k-digit integer in an ignored field": _fill(lambda n: valid[:-1] + ', "x": ' + "9" * n + "}"),
        "256 KB notification id": _fill(
            lambda n: valid.replace("d0e9e693-c3ad-4373-979f-ed4ec98dd746", "a" * n)
        ),
        "thousands of extra keys, one bad field": _fill(
            lambda n: json.dumps(
                {**{f"k{i}": i for i in range(n)}, **ORDER_CHANGE, "EventTime": "2020-01-11T00:09:53"}
            )
        ),
        "double-encoded 65k empty items": _fill(lambda n: json.dumps(json.dumps(_with_items([{}] * n)))),
        "unterminated string": _fill(lambda n: '{"NotificationType": "' + "x" * n),
        "escaped NULs in the type": _fill(
            lambda n: json.dumps({**ORDER_CHANGE, "NotificationType": "\x00" * n})
        ),
    }


def _median_ms(action: Callable[[], object]) -> float:
    samples = []
    for _ in range(RUNS):
        started = time.process_time()
        action()
        samples.append((time.process_time() - started) * 1000)
    return statistics.median(samples)


def measure() -> dict[str, Any]:
    from sellerstream.errors import PoisonMessageError
    from sellerstream.notifications import parse_notification

    def reject(body: str) -> None:
        try:
            parse_notification(body)
        except PoisonMessageError:
            return
        raise AssertionError("a hostile body was accepted")

    def bare_loads(body: str) -> None:
        with contextlib.suppress(ValueError, RecursionError):
            json.loads(body)

    results: dict[str, dict[str, float]] = {}
    for name, body in cases().items():
        reject_ms = _median_ms(lambda body=body: reject(body))
        loads_ms = _median_ms(lambda body=body: bare_loads(body))
        results[name] = {
            "bytes": len(body.encode()),
            "reject_ms": round(reject_ms, 3),
            "json_loads_ms": round(loads_ms, 3),
            "ratio": round(reject_ms / loads_ms, 2) if loads_ms > 0 else 0.0,
        }
    worst = max(result["reject_ms"] for result in results.values())
    return {
        "max_reject_ms": worst,
        "limit_ms": LIMIT_MS,
        "within_limit": worst < LIMIT_MS,
        "body_bytes_max": max(int(result["bytes"]) for result in results.values()),
        "cases": results,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    figures = measure()
    if args.json:
        json.dump(figures, sys.stdout)
        sys.stdout.write("\n")
        return
    print(f"{'case':<42} {'bytes':>8} {'reject':>10} {'json.loads':>11} {'ratio':>7}")
    for name, result in figures["cases"].items():
        print(
            f"{name:<42} {int(result['bytes']):>8} {result['reject_ms']:>8.2f}ms "
            f"{result['json_loads_ms']:>9.2f}ms {result['ratio']:>6.2f}x"
        )
    verdict = "within" if figures["within_limit"] else "OVER"
    print(
        f"slowest rejection {figures['max_reject_ms']:.2f} ms ({verdict} the {LIMIT_MS:.0f} ms target; CPU time, median of {RUNS})"
    )


if __name__ == "__main__":
    main()

"""The emulator meters every operation by the usage plan in Amazon's model of it.

Called in process on a fake clock: buckets refill only when the test moves the clock.
"""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

import pytest

from sellerstream_local.emulator import Reply, Route, SpApiEmulator
from sellerstream_local.emulator.notification_bodies import NEW_SECRET
from sellerstream_local.emulator.usage_plans import RatePlan, model_plans, usage_plan
from tests.support.fakes import FakeClock
from tests.unit.emulator.test_rate_plans_and_search import ORDER, SELLER, get, make_emulator, token

START = 1_790_000_000.0
CLIENT_ID, CLIENT_SECRET = "amzn1.application-oa2-client.local", "secret-1"


@pytest.mark.parametrize(
    ("description", "plan"),
    [
        (
            "Returns the order.\n\n**Usage Plan:**\n\n| Rate (requests per second) | Burst |\n"
            "| ---- | ---- |\n| 0.5 | 30 |\n\nThe `x-amzn-RateLimit-Limit` response header ...",
            RatePlan(0.5, 30),
        ),
        (
            "Returns inventory.\n\nUsage Plan:\n\n| Rate (requests per second) | Burst |\n"
            "| ---- | ---- |\n| 2 | 2 |\n",
            RatePlan(2.0, 2),
        ),
        (
            "Usage Plans:\n\n| Plan type | Rate (requests per second) | Burst |\n| ---- | ---- | ---- |\n"
            "|Default| 0.0167 | 15 |\n|Selling partner specific| Variable | Variable |\n",
            RatePlan(0.0167, 15),
        ),
        (
            "| Plan type | Rate (requests per second) | Burst |\n| ---- | ---- | ---- |\n"
            "|Selling partner specific| Variable | Variable |\n|Default| 1 | 10 |",
            RatePlan(1.0, 10),
        ),
        ("Creates an item. This is a sandbox-only operation.", None),
        ("| Field | Meaning |\n| ---- | ---- |\n| rate | how fast |", None),
    ],
    ids=["bold", "plain", "plan-type-default-first", "plan-type-variable-first", "no-table", "other-table"],
)
def test_given_an_operation_description_when_read_then_its_usage_plan_or_none(
    description: str, plan: RatePlan | None
) -> None:
    assert usage_plan(description) == plan


# One request of every operation the emulator serves. The answer does not matter (many are 4xx):
# every answer to a known caller carries the operation's rate.
SERVED = [
    ("GET", f"/orders/2026-01-01/orders/{ORDER}"),
    ("GET", "/orders/2026-01-01/orders?lastUpdatedAfter=2026-09-01T00:00:00Z"),
    ("GET", f"/orders/v0/orders/{ORDER}"),
    ("GET", f"/orders/v0/orders/{ORDER}/orderItems"),
    ("GET", f"/orders/v0/orders/{ORDER}/address"),
    ("GET", f"/orders/v0/orders/{ORDER}/buyerInfo"),
    ("GET", "/orders/v0/orders?MarketplaceIds=ATVPDKIKX0DER&CreatedAfter=2026-09-01T00:00:00Z"),
    ("POST", f"/orders/v0/orders/{ORDER}/shipmentConfirmation"),
    ("GET", f"/listings/2021-08-01/items/{SELLER}/SKU-1?marketplaceIds=ATVPDKIKX0DER"),
    ("GET", f"/listings/2021-08-01/items/{SELLER}?marketplaceIds=ATVPDKIKX0DER"),
    ("GET", "/sellers/v1/marketplaceParticipations"),
    ("GET", "/reports/2021-06-30/reports/R-1"),
    ("GET", "/reports/2021-06-30/documents/D-1"),
    ("POST", "/tokens/2021-03-01/restrictedDataToken"),
    ("GET", "/notifications/v1/destinations"),
    ("POST", "/notifications/v1/destinations"),
    ("GET", "/notifications/v1/destinations/D-1"),
    ("DELETE", "/notifications/v1/destinations/D-1"),
    ("GET", "/notifications/v1/subscriptions/TYPE"),
    ("POST", "/notifications/v1/subscriptions/TYPE"),
    ("GET", "/notifications/v1/subscriptions/TYPE/S-1"),
    ("DELETE", "/notifications/v1/subscriptions/TYPE/S-1"),
    ("POST", "/applications/2023-11-30/clientSecret"),
]


@pytest.mark.parametrize(("method", "path"), SERVED, ids=[f"{m} {p.split('?')[0]}" for m, p in SERVED])
def test_given_each_served_operation_when_called_then_its_rate_is_amazons_models(
    method: str, path: str
) -> None:
    emulator = make_emulator(FakeClock(START))
    access = token(emulator)

    _, headers, _ = emulator.handle(method, path, {"x-amz-access-token": access}, b"{}")

    [metered] = emulator.calls_by_api
    assert float(headers["x-amzn-RateLimit-Limit"]) == model_plans()[metered].rate


def test_given_getlistingsitems_model_burst_when_called_past_it_then_429_until_a_refill() -> None:
    clock = FakeClock(START)
    emulator = make_emulator(clock)
    emulator.set_listing(SELLER, "SKU-1", "ATVPDKIKX0DER")
    access = token(emulator)
    path = f"/listings/2021-08-01/items/{SELLER}/SKU-1"

    statuses = [get(emulator, path, access, marketplaceIds="ATVPDKIKX0DER")[0] for _ in range(11)]
    clock.now += 1 / 5 + 0.01  # the model's 5 requests a second

    assert statuses == [200] * 10 + [429]  # the model's burst of 10
    assert get(emulator, path, access, marketplaceIds="ATVPDKIKX0DER")[0] == 200


def rotation_token(emulator: SpApiEmulator) -> str:
    form = urllib.parse.urlencode(
        {
            "grant_type": "client_credentials",
            "scope": "sellingpartnerapi::client_credential:rotation",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        }
    ).encode()
    _, _, body = emulator.handle("POST", "/auth/o2/token", {}, form)
    assert isinstance(body, bytes)
    return str(json.loads(body)["access_token"])


def test_given_the_application_models_plan_when_rotating_twice_in_a_minute_then_the_second_is_throttled() -> (
    None
):
    clock = FakeClock(START)
    emulator = SpApiEmulator(clock=clock)
    emulator.register_app(CLIENT_ID, CLIENT_SECRET)
    emulator.register_app_notifications(NEW_SECRET.type_name, lambda body: None)
    headers = {"x-amz-access-token": rotation_token(emulator)}

    def rotate() -> int:
        return emulator.handle("POST", "/applications/2023-11-30/clientSecret", headers, b"")[0]

    first, second = rotate(), rotate()
    clock.now += 1 / 0.0167 + 0.01  # the model's rate: one a minute

    assert (first, second) == (204, 429)  # the model's burst: 1
    assert rotate() == 204


def test_given_a_plan_set_for_one_api_when_called_then_only_that_apis_operation_follows_it() -> None:
    emulator = make_emulator(FakeClock(START))
    emulator.set_rate_plan("orders/v0:getOrder", rate=0.5, burst=1)
    access = token(emulator)

    v0 = [get(emulator, f"/orders/v0/orders/{ORDER}", access)[0] for _ in range(2)]
    new = [get(emulator, f"/orders/2026-01-01/orders/{ORDER}", access)[0] for _ in range(2)]

    assert (v0, new) == ([200, 429], [200, 200])


def test_given_many_lwa_token_requests_when_answered_then_none_is_throttled() -> None:
    emulator = make_emulator(FakeClock(START))

    tokens = {token(emulator) for _ in range(100)}

    assert len(tokens) == 100


def test_given_an_operation_without_a_plan_in_amazons_models_when_added_then_refused() -> None:
    emulator = make_emulator(FakeClock(START))

    def handler(request: Any) -> Reply:
        return Reply(200, {})

    with pytest.raises(ValueError, match="orders/v0:getOrderInvoice"):
        emulator.add_routes([Route("GET", r"/orders/v0/invoices/(?P<id>[^/]+)", "getOrderInvoice", handler)])

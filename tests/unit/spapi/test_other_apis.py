"""Notifications, Listings Items and Reports wrappers: what they return, and broken answers."""

from __future__ import annotations

import pytest

from sellerstream.spapi.errors import MalformedResponse
from sellerstream.spapi.listings import ListingsApi
from sellerstream.spapi.notifications import NotificationsApi
from sellerstream.spapi.reports import ReportsApi
from tests.support.fakes import FakeTransport, amazon_error, response
from tests.unit.spapi.conftest import MakeClient


def test_given_destinations_when_listed_then_payload_list_and_grantless_token(
    make_client: MakeClient, transport: FakeTransport
) -> None:
    transport.script = [response(200, {"payload": [{"destinationId": "d"}]})]

    assert NotificationsApi(make_client()).get_destinations() == [{"destinationId": "d"}]

    assert b"grant_type=client_credentials" in (transport.lwa_requests[0].body or b"")


@pytest.mark.parametrize("body", [{"payload": {"destinationId": "d"}}, {"payload": ["x"]}])
def test_given_destinations_answer_not_a_list_when_listed_then_malformed(
    make_client: MakeClient, transport: FakeTransport, body: object
) -> None:
    transport.script = [response(200, body)]

    with pytest.raises(MalformedResponse):
        NotificationsApi(make_client()).get_destinations()


def test_given_no_subscription_when_fetched_then_none(
    make_client: MakeClient, transport: FakeTransport
) -> None:
    transport.script = [amazon_error(404, "NotFound"), response(200, {})]
    api = NotificationsApi(make_client())

    assert api.get_subscription("ORDER_CHANGE") is None
    assert api.get_subscription("ORDER_CHANGE") is None


def test_given_create_answer_without_payload_when_subscribing_then_malformed(
    make_client: MakeClient, transport: FakeTransport
) -> None:
    transport.script = [response(200, {"errors": []}, {"x-amzn-RequestId": "rq"})]

    with pytest.raises(MalformedResponse) as caught:
        NotificationsApi(make_client()).create_subscription(
            "ORDER_CHANGE", destination_id="d", payload_version="1.0"
        )

    assert (caught.value.operation, caught.value.request_id) == ("createSubscription", "rq")


def test_given_listing_answer_without_sku_when_fetched_then_malformed(
    make_client: MakeClient, transport: FakeTransport
) -> None:
    transport.script = [response(200, {"summaries": []})]

    with pytest.raises(MalformedResponse):
        ListingsApi(make_client()).get_listings_item("A1SELLER", "SKU-1", "ATVPDKIKX0DER")


def test_given_report_answers_without_required_fields_when_fetched_then_malformed(
    make_client: MakeClient, transport: FakeTransport
) -> None:
    transport.script = [response(200, {"reportId": "1"}), response(200, {"reportDocumentId": "d"})]
    api = ReportsApi(make_client())

    with pytest.raises(MalformedResponse):
        api.get_report("1")
    with pytest.raises(MalformedResponse):
        api.get_report_document("d")

"""LISTINGS_ITEM_ISSUES_CHANGE over fakes and the emulator: a listing's issues are Amazon's answer, stored
under the listings table's one-version rule (a newer version whole; the same version's issues when
read later; nothing older)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sellerstream import catalog
from sellerstream.domain.credentials import MarketplaceParticipation, SellerMarketplaces
from sellerstream.errors import UnknownSellerError
from sellerstream.logic.listing_issues import ListingIssuesUseCase
from sellerstream.logic.listing_status import ListingStatusUseCase
from sellerstream.notifications import parse_notification
from sellerstream.notifications.listings_item_issues_change import ListingsItemIssuesChangeNotification
from sellerstream.spapi.endpoints import Region
from sellerstream.spapi.errors import MalformedResponse
from sellerstream.timestamps import sortable_timestamp
from sellerstream_local.emulator import SpApiEmulator
from sellerstream_local.notifications_factory import listings_status_change
from tests.support.fakes import FakeClock, FakeListingStore, FakeSellerDirectory, FakeTransport, response
from tests.support.lambda_events import FakeLambdaContext, sqs_event
from tests.unit.logic.conftest import SELLER
from tests.unit.notifications.test_envelope import eventbridge_event

US = "ATVPDKIKX0DER"
CANADA = "A2EUQ1WTGCTBG2"
SKU = "NLS-SHOES-03"
KEY = (SELLER, US, SKU)
T_0800 = datetime(2026, 9, 1, 8, tzinfo=UTC)
T_0900 = datetime(2026, 9, 1, 9, tzinfo=UTC)
T_1000 = datetime(2026, 9, 1, 10, tzinfo=UTC)
READ_AT = datetime(2026, 9, 2, 12, tzinfo=UTC)  # when the use case reads Amazon's answer
# Amazon's example of payload version 2023-12-13 (extracted from its schema).
EXAMPLE = json.loads(
    (
        Path(__file__).resolve().parents[3]
        / "local"
        / "sellerstream_local"
        / "amazon"
        / "examples"
        / "notifications"
        / "LISTINGS_ITEM_ISSUES_CHANGE.2023-12-13.schema-example-1.json"
    ).read_text(encoding="utf-8")
)
ISSUES_TYPE = catalog.LISTINGS_ITEM_ISSUES_CHANGE


def plenty() -> float:
    return 300.0


def issue(code: str, severity: str = "ERROR", *marketplaces: str, **more: Any) -> dict[str, Any]:
    """An Issue of Amazon's listings model (naming the marketplaces it applies to, if given)."""
    found = {
        "code": code,
        "message": f"issue {code}",
        "severity": severity,
        "categories": ["INVALID_ATTRIBUTE"],
        **more,
    }
    if marketplaces:
        found["marketplaceIds"] = list(marketplaces)
    return found


SUPPRESSED = issue(
    "18027",
    "ERROR",
    enforcements={"actions": [{"action": "SEARCH_SUPPRESSED"}], "exemption": {"status": "NOT_EXEMPT"}},
)


def document(
    changed_at: datetime = T_0900,
    *,
    seller_id: str = SELLER,
    sku: str = SKU,
    marketplace_id: str | None = US,
    notification_id: str = "n-issues-1",
    severities: tuple[str, ...] = ("ERROR",),
    enforcement_actions: tuple[str, ...] | None = ("SEARCH_SUPPRESSED",),
) -> dict[str, Any]:
    body = copy.deepcopy(EXAMPLE)
    body["EventTime"] = changed_at.isoformat().replace("+00:00", "Z")
    body["NotificationMetadata"]["NotificationId"] = notification_id
    payload = body["Payload"]
    payload.update(SellerId=seller_id, Sku=sku, Severities=list(severities))
    for name, value in (("MarketplaceId", marketplace_id), ("EnforcementActions", enforcement_actions)):
        if value is None:
            del payload[name]
        else:
            payload[name] = list(value) if isinstance(value, tuple) else value
    return body


def notification(changed_at: datetime = T_0900, **options: Any) -> ListingsItemIssuesChangeNotification:
    return ListingsItemIssuesChangeNotification.model_validate(document(changed_at, **options))


@pytest.fixture
def store() -> FakeListingStore:
    return FakeListingStore()


@pytest.fixture
def reads() -> FakeClock:
    """When the use case reads Amazon (apart from the emulator's clock, which meters its calls)."""
    return FakeClock(start=READ_AT.timestamp())


@pytest.fixture
def use_case(directory, spapi, store, reads) -> ListingIssuesUseCase:
    return ListingIssuesUseCase(directory, spapi, store, clock=reads)


def listed(emulator: SpApiEmulator, marketplace_id: str = US, **listing: Any) -> None:
    emulator.listings.set_listing(SELLER, SKU, marketplace_id, **listing)


# -- a marketplace named -----------------------------------------------------------------------------


def test_given_a_listing_amazon_knows_when_its_issues_change_then_amazons_answer_is_stored_with_them(
    emulator, use_case, store
) -> None:
    listed(emulator, status=["DISCOVERABLE"], last_updated=T_0800, asin="B0ANSWERED", issues=[SUPPRESSED])

    result = use_case.apply(notification(), plenty)

    assert result == {
        "sku_key": SKU,
        "marketplace_id": US,
        "outcome": "written",
        "last_updated": "2026-09-01T08:00:00.000000Z",
    }
    stored = store.listings[KEY]
    assert stored["last_updated"] == T_0800 and stored["deleted"] is False
    assert stored["issues"] == [{**SUPPRESSED, "marketplaceIds": [US]}]
    assert (stored["status"], stored["asin"]) == (["DISCOVERABLE"], "B0ANSWERED")
    assert stored["offers"] and stored["quantity"] == stored["fulfillment_availability"][0]["quantity"]
    assert stored["stored_at"] == sortable_timestamp(READ_AT)
    assert stored["notification_id"] == "n-issues-1"
    assert stored["notification"] == {
        "notification_id": "n-issues-1",
        "notification_type": "LISTINGS_ITEM_ISSUES_CHANGE",
        "event_time": "2026-09-01T09:00:00.000000Z",
        "severities": ["ERROR"],
        "enforcement_actions": ["SEARCH_SUPPRESSED"],
        "asin": "BT6RZ7JM4H",
    }


def test_given_an_issues_change_then_getlistingsitem_is_asked_for_the_issues_with_what_a_listing_holds(
    emulator, use_case
) -> None:
    listed(emulator, last_updated=T_0800)

    use_case.apply(notification(), plenty)

    [request] = [r for r in emulator.requests if r.operation == "getListingsItem"]
    assert request.query["marketplaceIds"] == [US]
    assert set(request.query["includedData"][0].split(",")) == {
        "summaries",
        "issues",
        "offers",
        "fulfillmentAvailability",
    }


def test_given_the_stored_version_when_amazon_changed_only_its_issues_then_only_the_issues_are_replaced(
    emulator, use_case, store, reads
) -> None:
    listed(emulator, status=["BUYABLE"], last_updated=T_0800, issues=[])
    use_case.apply(notification(T_0800, notification_id="n-first"), plenty)
    before = copy.deepcopy(store.listings[KEY])
    # Amazon adds an issue without touching lastUpdatedDate; the callback reads it a minute later.
    listed(emulator, issues=[SUPPRESSED, issue("99300", "WARNING")])
    reads.now += 60

    result = use_case.apply(notification(T_0900, notification_id="n-second"), plenty)

    assert result["outcome"] == "issues_written" and result["last_updated"] == sortable_timestamp(T_0800)
    stored = store.listings[KEY]
    assert [i["code"] for i in stored["issues"]] == ["18027", "99300"]
    assert stored["issues_as_of"] == sortable_timestamp(READ_AT + timedelta(minutes=1))
    assert stored["issues_notification"]["notification_id"] == "n-second"
    unchanged = {name for name in before if name != "issues"}
    assert {name: stored[name] for name in unchanged} == {name: before[name] for name in unchanged}
    assert stored["last_updated"] == T_0800 and stored["notification_id"] == "n-first"


def test_given_the_issues_resolved_at_the_same_version_when_notified_then_the_stored_issues_are_emptied(
    emulator, use_case, store, reads
) -> None:
    listed(emulator, last_updated=T_0800, issues=[SUPPRESSED])
    use_case.apply(notification(T_0800), plenty)
    listed(emulator, issues=[])
    reads.now += 60

    result = use_case.apply(notification(T_0900, severities=("NONE",), enforcement_actions=()), plenty)

    assert result["outcome"] == "issues_written"
    assert store.listings[KEY]["issues"] == []
    assert store.listings[KEY]["issues_notification"]["severities"] == ["NONE"]


def test_given_issues_read_later_stored_when_an_earlier_read_lands_late_then_the_older_issues_stay_away(
    emulator, directory, spapi, store
) -> None:
    listed(emulator, last_updated=T_0800, issues=[])
    ListingIssuesUseCase(directory, spapi, store, clock=FakeClock(READ_AT.timestamp())).apply(
        notification(T_0800, notification_id="n-version"), plenty
    )
    listed(emulator, issues=[SUPPRESSED])
    later = ListingIssuesUseCase(directory, spapi, store, clock=FakeClock(READ_AT.timestamp() + 120))
    later.apply(notification(T_1000, notification_id="n-later"), plenty)
    listed(emulator, issues=[issue("00001")])  # what an earlier read saw, written after the later one
    earlier = ListingIssuesUseCase(directory, spapi, store, clock=FakeClock(READ_AT.timestamp() + 60))

    result = earlier.apply(notification(T_0900, notification_id="n-earlier"), plenty)

    assert result["outcome"] == "stale"
    assert [i["code"] for i in store.listings[KEY]["issues"]] == ["18027"]
    assert store.listings[KEY]["issues_notification"]["notification_id"] == "n-later"


@pytest.mark.parametrize("read_later", [False, True], ids=["same-read-time", "read-later"])
def test_given_a_redelivery_when_applied_again_then_nothing_amazon_said_changes(
    emulator, use_case, store, reads, read_later: bool
) -> None:
    listed(emulator, last_updated=T_0800, issues=[SUPPRESSED])
    use_case.apply(notification(), plenty)
    before = copy.deepcopy(store.listings[KEY])
    reads.now += 60 if read_later else 0

    result = use_case.apply(notification(), plenty)

    stored = store.listings[KEY]
    assert result["outcome"] == ("issues_written" if read_later else "stale")
    assert {n: v for n, v in stored.items() if not n.startswith("issues_")} == before
    assert stored["last_updated"] == T_0800


def test_given_a_newer_version_stored_when_amazon_answers_an_older_one_then_nothing_changes(
    emulator, directory, spapi, store, use_case
) -> None:
    listed(emulator, status=["BUYABLE"], last_updated=T_1000, issues=[])
    ListingStatusUseCase(directory, spapi, store).apply(_status_change(), plenty)
    before = copy.deepcopy(store.listings[KEY])
    listed(emulator, status=[], last_updated=T_0800, issues=[SUPPRESSED])

    result = use_case.apply(notification(), plenty)

    assert result["outcome"] == "stale"
    assert store.listings[KEY] == before


def test_given_a_listing_stored_by_its_status_change_when_its_issues_change_at_that_version_then_they_are_refreshed(
    emulator, directory, spapi, store, use_case
) -> None:
    # The status change's callback stores the version with stored_at = its own read (the wall clock).
    listed(emulator, status=["BUYABLE"], last_updated=T_0800, issues=[])
    ListingStatusUseCase(directory, spapi, store).apply(_status_change(), plenty)
    listed(emulator, issues=[SUPPRESSED])
    late = ListingIssuesUseCase(
        directory, spapi, store, clock=FakeClock(datetime.now(UTC).timestamp() + 3600)
    )

    result = late.apply(notification(), plenty)

    assert result["outcome"] == "issues_written"
    assert store.listings[KEY]["issues"][0]["code"] == "18027"
    assert store.listings[KEY]["status"] == ["BUYABLE"] and store.listings[KEY]["last_updated"] == T_0800


def test_given_a_listing_flagged_deleted_when_amazon_answers_an_older_version_then_it_stays_deleted(
    emulator, use_case, store
) -> None:
    store.mark_deleted(SELLER, US, SKU, as_of=T_1000, attributes={"status": ["DELETED"]})
    listed(emulator, last_updated=T_0800, issues=[SUPPRESSED])

    result = use_case.apply(notification(), plenty)

    assert result["outcome"] == "stale"
    assert store.listings[KEY]["deleted"] is True and "issues" not in store.listings[KEY]


def test_given_a_listing_flagged_deleted_when_amazon_answers_a_newer_version_then_it_is_listed_again(
    emulator, use_case, store
) -> None:
    store.mark_deleted(SELLER, US, SKU, as_of=T_0800, attributes={"status": ["DELETED"]})
    listed(emulator, status=["BUYABLE"], last_updated=T_1000, issues=[SUPPRESSED])

    result = use_case.apply(notification(), plenty)

    assert result["outcome"] == "written"
    assert store.listings[KEY]["deleted"] is False and store.listings[KEY]["issues"]


def test_given_amazon_answers_404_when_the_issues_change_then_the_listing_is_flagged_deleted_as_of_the_event(
    emulator, use_case, store
) -> None:
    emulator.delete_listing(SELLER, SKU, US)

    result = use_case.apply(notification(T_0900), plenty)

    assert (result["outcome"], result["deleted"]) == ("written", True)
    stored = store.listings[KEY]
    assert (stored["deleted"], stored["deleted_at"], stored["status"]) == (True, T_0900, ["DELETED"])
    assert stored["notification"]["severities"] == ["ERROR"]


def test_given_an_unknown_seller_when_its_issues_change_then_unknown_seller_before_any_call_or_write(
    emulator, use_case, store
) -> None:
    with pytest.raises(UnknownSellerError):
        use_case.apply(notification(seller_id="AUNKNOWNSELLER1"), plenty)

    assert store.listings == {} and emulator.sp_api_calls() == {}


@pytest.mark.parametrize(
    "answer",
    [
        {"sku": SKU, "summaries": [{"marketplaceId": US, "status": []}], "issues": []},
        {"sku": SKU, "issues": [SUPPRESSED]},
    ],
    ids=["no-lastUpdatedDate", "no-summaries"],
)
def test_given_an_answer_without_amazons_version_when_applied_then_malformed_and_nothing_stored(
    directory, make_spapi, store, answer: dict[str, Any]
) -> None:
    use_case = ListingIssuesUseCase(directory, make_spapi(FakeTransport([response(200, answer)])), store)

    with pytest.raises(MalformedResponse, match="lastUpdatedDate"):
        use_case.apply(notification(), plenty)

    assert store.listings == {}


def test_given_the_type_in_the_catalog_when_delivered_through_eventbridge_then_applied_by_the_runner(
    emulator, directory, spapi, make_runner, clock, queue, monkeypatch
) -> None:
    listed(emulator, last_updated=T_0800, issues=[SUPPRESSED])
    store = FakeListingStore()
    runner = make_runner(
        ListingIssuesUseCase(directory, spapi, store, clock=clock), frozenset({ISSUES_TYPE.name})
    )

    [outcome] = runner.run(
        sqs_event(json.dumps(eventbridge_event(document()))), FakeLambdaContext(clock)
    ).outcomes

    assert (outcome.outcome, outcome.result["outcome"]) == ("applied", "written")
    assert queue.dead_letters == [] and store.listings[KEY]["issues"][0]["code"] == "18027"


# -- no marketplace named -------------------------------------------------------------------------------


def marketplaces_known(directory: FakeSellerDirectory, clock: FakeClock, *marketplace_ids: str) -> None:
    directory.marketplaces[(SELLER, Region.NA)] = SellerMarketplaces(
        tuple(MarketplaceParticipation(m, True) for m in marketplace_ids),
        datetime.fromtimestamp(clock(), UTC),
    )


def test_given_an_event_without_a_marketplace_then_each_marketplace_stores_its_own_issues_from_one_call(
    emulator, directory, clock, use_case, store
) -> None:
    marketplaces_known(directory, clock, US, CANADA)
    both = issue("100", "WARNING")
    listed(emulator, US, last_updated=T_0800, issues=[both, issue("200")])
    listed(emulator, CANADA, last_updated=T_0900, issues=[both])

    result = use_case.apply(notification(marketplace_id=None), plenty)

    assert result == {
        "sku_key": SKU,
        "marketplace_id": None,
        "marketplaces": {US: "written", CANADA: "written"},
        "outcome": "written",
    }
    assert emulator.calls["getListingsItem"] == 1
    us, ca = store.listings[KEY], store.listings[(SELLER, CANADA, SKU)]
    assert [(i["code"], i["marketplaceIds"]) for i in us["issues"]] == [("100", [US, CANADA]), ("200", [US])]
    assert [(i["code"], i["marketplaceIds"]) for i in ca["issues"]] == [("100", [US, CANADA])]
    assert (us["last_updated"], ca["last_updated"]) == (T_0800, T_0900)


def test_given_an_event_without_a_marketplace_when_one_marketplace_holds_the_same_version_then_its_issues_are_refreshed(
    emulator, directory, clock, use_case, store, reads
) -> None:
    marketplaces_known(directory, clock, US, CANADA)
    listed(emulator, US, last_updated=T_0800, issues=[])
    use_case.apply(notification(), plenty)
    listed(emulator, US, issues=[SUPPRESSED])
    listed(emulator, CANADA, last_updated=T_0900, issues=[])
    reads.now += 60

    result = use_case.apply(notification(T_1000, marketplace_id=None), plenty)

    assert result["marketplaces"] == {US: "issues_written", CANADA: "written"}
    assert result["outcome"] == "written"
    assert store.listings[KEY]["issues"][0]["code"] == "18027"


def test_given_an_event_without_a_marketplace_when_the_listing_is_in_one_then_the_other_is_left_alone(
    emulator, directory, clock, use_case, store
) -> None:
    marketplaces_known(directory, clock, US, CANADA)
    listed(emulator, CANADA, last_updated=T_0800, issues=[SUPPRESSED])

    result = use_case.apply(notification(marketplace_id=None), plenty)

    assert result["marketplaces"] == {US: "not_listed", CANADA: "written"}
    assert list(store.listings) == [(SELLER, CANADA, SKU)]


def test_given_an_event_without_a_marketplace_when_amazon_knows_the_listing_nowhere_then_flagged_deleted_in_each(
    emulator, directory, clock, use_case, store
) -> None:
    marketplaces_known(directory, clock, US, CANADA)

    result = use_case.apply(notification(T_0900, marketplace_id=None), plenty)

    assert (result["outcome"], result["deleted"]) == ("written", [US, CANADA])
    assert all(store.listings[(SELLER, m, SKU)]["deleted_at"] == T_0900 for m in (US, CANADA))


def test_given_an_event_without_a_marketplace_for_a_seller_whose_marketplaces_are_unknown_then_they_are_fetched(
    emulator, directory, use_case, store
) -> None:
    emulator.set_marketplaces(SELLER, [US, CANADA])
    listed(emulator, CANADA, last_updated=T_0800, issues=[SUPPRESSED])

    result = use_case.apply(notification(marketplace_id=None), plenty)

    assert result["marketplaces"] == {US: "not_listed", CANADA: "written"}
    assert emulator.calls["getMarketplaceParticipations"] == 1
    assert [p.marketplace_id for p in directory.marketplaces[(SELLER, Region.NA)].participations] == [
        US,
        CANADA,
    ]


def test_given_a_seller_who_lists_nowhere_when_an_event_has_no_marketplace_then_nothing_to_store(
    emulator, directory, clock, use_case, store
) -> None:
    directory.marketplaces[(SELLER, Region.NA)] = SellerMarketplaces(
        (MarketplaceParticipation(US, False),), datetime.fromtimestamp(clock(), UTC)
    )

    result = use_case.apply(notification(marketplace_id=None), plenty)

    assert result == {"sku_key": SKU, "marketplace_id": None, "marketplaces": {}, "outcome": "no_marketplace"}
    assert store.listings == {} and emulator.calls["getListingsItem"] == 0


def _status_change() -> Any:
    body = listings_status_change(seller_id=SELLER, sku=SKU, status=["BUYABLE"], changed_at=T_0900)
    body["Payload"]["MarketplaceId"] = US
    return parse_notification(json.dumps(body))

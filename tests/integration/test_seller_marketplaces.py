"""A seller's marketplaces in the seller directory: the same promises in memory and in the accounts
table (moto), and ``sellerstream add-seller`` storing them from Amazon (the local pipeline's account)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from sellerstream import aws
from sellerstream.adapters.sellers import AwsSellerDirectory
from sellerstream.domain.credentials import MarketplaceParticipation, SellerMarketplaces
from sellerstream.errors import UnknownSellerError
from sellerstream.ports import SellerDirectory
from sellerstream.spapi.endpoints import Region
from sellerstream_local.pipeline import LOCAL_REGION, LocalPipeline
from sellerstream_local.resources import create_catalog_tables
from sellerstream_ops import credentials
from sellerstream_ops.account import Account
from sellerstream_ops.outputs import StackOutputs
from tests.support.fakes import FakeSellerDirectory

SELLER = "A1SELLERMARKETS"
US, CANADA, UK = "ATVPDKIKX0DER", "A2EUQ1WTGCTBG2", "A1F83G8C2ARO7P"
T0 = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)
NA, EU = Region.NA, Region.EU
GERMANY = "A1PA6795UKMFR9"


def known(*participations: tuple[str, bool], at: datetime = T0) -> SellerMarketplaces:
    return SellerMarketplaces(
        tuple(MarketplaceParticipation(m, p, "US" if m == US else None) for m, p in participations), at
    )


@pytest.fixture
def accounts_table() -> Iterator[str]:
    with mock_aws():
        aws.reset_clients()
        yield create_catalog_tables(boto3.client("dynamodb"))["accounts"]
    aws.reset_clients()


@pytest.fixture(params=["fake", "dynamodb"])
def directory(request: pytest.FixtureRequest) -> SellerDirectory:
    if request.param == "fake":
        return FakeSellerDirectory()
    table: str = request.getfixturevalue("accounts_table")
    return AwsSellerDirectory(accounts_table=table, app_secret_id="unused", secrets_cache_seconds=0)


def test_given_nothing_stored_when_asked_then_none(directory: SellerDirectory) -> None:
    assert directory.marketplaces_of(SELLER, NA) is None


def test_given_marketplaces_saved_when_asked_then_each_with_its_participation_and_time(
    directory: SellerDirectory,
) -> None:
    saved = known((US, True), (CANADA, False), (UK, True))

    assert directory.save_marketplaces(SELLER, NA, saved) is True
    assert directory.marketplaces_of(SELLER, NA) == saved
    assert directory.marketplaces_of("A2OTHERSELLER", NA) is None


def test_given_marketplaces_saved_when_an_older_or_as_old_answer_is_saved_then_refused(
    directory: SellerDirectory,
) -> None:
    directory.save_marketplaces(SELLER, NA, known((US, True)))

    late = directory.save_marketplaces(SELLER, NA, known((CANADA, True), at=T0 - timedelta(minutes=1)))
    again = directory.save_marketplaces(SELLER, NA, known((CANADA, True)))

    assert (late, again) == (False, False)
    assert directory.marketplaces_of(SELLER, NA) == known((US, True))


def test_given_marketplaces_saved_when_a_later_answer_is_saved_then_it_replaces_them(
    directory: SellerDirectory,
) -> None:
    directory.save_marketplaces(SELLER, NA, known((US, True), (CANADA, True)))

    assert directory.save_marketplaces(SELLER, NA, known((US, True), at=T0 + timedelta(days=1))) is True
    assert directory.marketplaces_of(SELLER, NA) == known((US, True), at=T0 + timedelta(days=1))


def test_given_a_seller_key_that_is_no_id_when_saved_or_asked_then_unknown_seller(
    accounts_table: str,
) -> None:
    directory = AwsSellerDirectory(accounts_table=accounts_table, app_secret_id="unused")

    with pytest.raises(UnknownSellerError):
        directory.save_marketplaces("A1#SUBSCRIPTION#x", NA, known((US, True)))
    with pytest.raises(UnknownSellerError):
        directory.marketplaces_of("../x", NA)


@pytest.mark.parametrize(
    "item",
    [
        {"marketplaces": {"L": []}},
        {"marketplaces_refreshed_at": {"S": "yesterday"}},
    ],
    ids=["no-time", "an-unreadable-time"],
)
def test_given_an_item_an_operator_broke_when_asked_then_none_so_they_are_fetched_again(
    accounts_table: str, item: dict[str, Any]
) -> None:
    boto3.client("dynamodb").put_item(
        TableName=accounts_table, Item={"pk": {"S": f"SELLER#{SELLER}#NA"}, **item}
    )

    assert (
        AwsSellerDirectory(accounts_table=accounts_table, app_secret_id="unused").marketplaces_of(SELLER, NA)
        is None
    )


def test_given_marketplaces_in_two_regions_when_asked_then_each_regions_own(
    directory: SellerDirectory,
) -> None:
    # Given the seller's answers from the NA and the EU endpoints
    directory.save_marketplaces(SELLER, NA, known((US, True)))
    directory.save_marketplaces(SELLER, EU, known((UK, True), (GERMANY, True), at=T0 - timedelta(days=1)))

    # Then each region keeps its own (an older EU answer is no older NA one)
    assert directory.marketplaces_of(SELLER, NA) == known((US, True))
    assert directory.marketplaces_of(SELLER, EU) == known(
        (UK, True), (GERMANY, True), at=T0 - timedelta(days=1)
    )
    assert directory.marketplaces_of(SELLER, Region.FE) is None


def test_given_a_seller_item_from_before_regions_when_asked_then_read_for_the_regions_it_names(
    accounts_table: str,
) -> None:
    # Given the one item a seller had before regions (SELLER#<id>), naming US marketplaces
    boto3.client("dynamodb").put_item(
        TableName=accounts_table,
        Item={
            "pk": {"S": f"SELLER#{SELLER}"},
            "seller_id": {"S": SELLER},
            "marketplaces_refreshed_at": {"S": "2026-09-01T12:00:00.000000Z"},
            "marketplaces": {"L": [{"M": {"marketplace_id": {"S": US}, "participating": {"BOOL": True}}}]},
        },
    )
    directory = AwsSellerDirectory(
        accounts_table=accounts_table, app_secret_id="unused", secrets_cache_seconds=0
    )

    # When NA and EU are asked, then NA reads it as before and EU has none yet
    stored = directory.marketplaces_of(SELLER, NA)
    assert stored is not None and stored.listing_marketplaces(NA) == (US,)
    assert directory.marketplaces_of(SELLER, EU) is None


def test_given_an_entry_without_a_marketplace_id_when_asked_then_the_others_are_read(
    accounts_table: str,
) -> None:
    directory = AwsSellerDirectory(
        accounts_table=accounts_table, app_secret_id="unused", secrets_cache_seconds=0
    )
    directory.save_marketplaces(SELLER, NA, known((US, True)))
    boto3.client("dynamodb").update_item(
        TableName=accounts_table,
        Key={"pk": {"S": f"SELLER#{SELLER}#NA"}},
        UpdateExpression="SET marketplaces = list_append(marketplaces, :junk)",
        ExpressionAttributeValues={":junk": {"L": [{"M": {"participating": {"BOOL": True}}}, {"S": "x"}]}},
    )

    assert directory.marketplaces_of(SELLER, NA) == known((US, True))


def test_given_a_cache_when_marketplaces_were_read_then_a_container_reads_the_table_once_per_period(
    accounts_table: str,
) -> None:
    cached = AwsSellerDirectory(
        accounts_table=accounts_table, app_secret_id="unused", secrets_cache_seconds=300
    )
    elsewhere = AwsSellerDirectory(accounts_table=accounts_table, app_secret_id="unused")
    elsewhere.save_marketplaces(SELLER, NA, known((US, True)))
    first = cached.marketplaces_of(SELLER, NA)

    elsewhere.save_marketplaces(SELLER, NA, known((CANADA, True), at=T0 + timedelta(days=1)))

    assert cached.marketplaces_of(SELLER, NA) == first == known((US, True))
    # Its own refresh is seen at once.
    assert cached.save_marketplaces(SELLER, NA, known((UK, True), at=T0 + timedelta(days=2)))
    assert cached.marketplaces_of(SELLER, NA) == known((UK, True), at=T0 + timedelta(days=2))


def test_given_routed_subscriptions_and_seller_items_when_routed_sellers_asked_then_subscriptions_only(
    accounts_table: str,
) -> None:
    directory = AwsSellerDirectory(accounts_table=accounts_table, app_secret_id="unused")
    directory.route_subscription("sub-1", "A2ROUTED")
    directory.save_marketplaces(SELLER, NA, known((US, True)))

    assert directory.routed_sellers() == {"A2ROUTED"}


# -- add-seller --------------------------------------------------------------------------------------


@pytest.fixture
def account(pipeline: LocalPipeline) -> Account:
    return Account(LOCAL_REGION, StackOutputs(pipeline.stack_outputs()))


def test_given_a_new_seller_when_added_then_its_marketplaces_from_amazon_are_stored(
    pipeline: LocalPipeline, account: Account
) -> None:
    pipeline.emulator.register_seller(SELLER, "Atzr|markets-token")
    pipeline.emulator.set_marketplaces(SELLER, [US, CANADA, UK], not_participating=[CANADA])

    result = credentials.add_seller(account, SELLER, "NA", "Atzr|markets-token")

    assert result["marketplaces"] == {
        "stored": True,
        "participating": [US, UK],
        "not_participating": [CANADA],
        "listings_in": [US],
    }
    stored = pipeline.seller_directory().marketplaces_of(SELLER, NA)
    assert stored is not None
    assert [(p.marketplace_id, p.participating) for p in stored.participations] == [
        (US, True),
        (CANADA, False),
        (UK, True),
    ]
    assert "Atzr|" not in str(result)


def test_given_amazon_refusing_the_marketplaces_when_a_seller_is_added_then_added_and_told_when_they_come(
    pipeline: LocalPipeline, account: Account
) -> None:
    pipeline.emulator.register_seller(SELLER, "Atzr|markets-token")
    pipeline.emulator.fail_next("getMarketplaceParticipations", 403, count=2, code="Unauthorized")

    result = credentials.add_seller(account, SELLER, "NA", "Atzr|markets-token")

    assert result["action"] == "created" and result["marketplaces"]["stored"] is False
    assert "getMarketplaceParticipations" in result["marketplaces"]["reason"]
    assert pipeline.seller_directory().marketplaces_of(SELLER, NA) is None

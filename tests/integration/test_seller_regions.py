"""A seller in several SP-API regions, in Secrets Manager and the accounts table (moto): one secret
holding a refresh token per region, a notification resolved to its marketplace's (or its
subscription's) region, a region added beside the others, removed, and LWA's refusal recorded."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws

from sellerstream import aws
from sellerstream.adapters.sellers import AwsSellerDirectory
from sellerstream.errors import UnknownSellerError
from sellerstream.spapi.endpoints import Region
from sellerstream_local.resources import create_table

PREFIX = "sellerstream/sellers/"
SELLER = "A1MULTIREGION01"
US, GERMANY, JAPAN = "ATVPDKIKX0DER", "A1PA6795UKMFR9", "A1VC38T7YXB528"
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def directory(cache_seconds: int = 0) -> AwsSellerDirectory:
    return AwsSellerDirectory(
        accounts_table="accounts",
        app_secret_id="sellerstream/lwa-app",
        seller_secret_prefix=PREFIX,
        secrets_cache_seconds=cache_seconds,
    )


@pytest.fixture
def secrets() -> Iterator[Any]:
    with mock_aws():
        aws.reset_clients()
        create_table(boto3.client("dynamodb"), "accounts", "pk", None, None)
        yield boto3.client("secretsmanager")
    aws.reset_clients()


def stored_secret(secrets: Any) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(secrets.get_secret_value(SecretId=f"{PREFIX}{SELLER}")["SecretString"])
    return value


def test_given_a_seller_in_na_when_eu_is_saved_then_both_kept_in_one_secret(secrets: Any) -> None:
    # Given a seller saved in NA
    sellers = directory()
    assert sellers.save_seller(SELLER, refresh_token="Atzr|na", region=Region.NA)[1] == "created"

    # When its EU token is saved, and then a new NA token
    added = sellers.save_seller(SELLER, refresh_token="Atzr|eu", region=Region.EU)
    updated = sellers.save_seller(SELLER, refresh_token="Atzr|na-2", region=Region.NA)

    # Then one secret holds both regions, the NA token replaced
    assert (added[1], updated[1]) == ("added", "updated")
    assert stored_secret(secrets) == {
        "regions": {"NA": {"refresh_token": "Atzr|na-2"}, "EU": {"refresh_token": "Atzr|eu"}}
    }
    assert [(c.region, c.refresh_token) for c in sellers.regions_of(SELLER)] == [
        (Region.NA, "Atzr|na-2"),
        (Region.EU, "Atzr|eu"),
    ]
    # No lock is left behind in the accounts table.
    assert boto3.client("dynamodb").scan(TableName="accounts")["Items"] == []


def test_given_a_secret_from_before_regions_when_a_region_is_added_then_the_old_one_is_kept(
    secrets: Any,
) -> None:
    # Given the one-region shape a seller was stored in before regions
    secrets.create_secret(
        Name=f"{PREFIX}{SELLER}", SecretString=json.dumps({"refresh_token": "Atzr|old", "region": "EU"})
    )
    sellers = directory()
    assert [c.region for c in sellers.regions_of(SELLER)] == [Region.EU]

    # When a Far East token is added
    assert sellers.save_seller(SELLER, refresh_token="Atzr|fe", region=Region.FE)[1] == "added"

    # Then the old token keeps its region beside the new one
    assert stored_secret(secrets) == {
        "regions": {"EU": {"refresh_token": "Atzr|old"}, "FE": {"refresh_token": "Atzr|fe"}}
    }


@pytest.mark.parametrize(
    ("marketplace", "region", "token"),
    [(US, Region.NA, "Atzr|na"), (GERMANY, Region.EU, "Atzr|eu")],
    ids=["us-to-na", "germany-to-eu"],
)
def test_given_a_seller_in_two_regions_when_a_notification_names_a_marketplace_then_its_regions_token(
    secrets: Any, marketplace: str, region: Region, token: str
) -> None:
    sellers = directory()
    sellers.save_seller(SELLER, refresh_token="Atzr|na", region=Region.NA)
    sellers.save_seller(SELLER, refresh_token="Atzr|eu", region=Region.EU)

    resolved = sellers.for_notification(seller_id=SELLER, subscription_id="s", marketplace_id=marketplace)

    assert (resolved.region, resolved.refresh_token) == (region, token)


def test_given_a_marketplace_in_a_region_the_seller_has_not_authorised_then_unknown_seller_naming_it(
    secrets: Any,
) -> None:
    sellers = directory()
    sellers.save_seller(SELLER, refresh_token="Atzr|na", region=Region.NA)

    with pytest.raises(UnknownSellerError, match="no credentials in FE") as raised:
        sellers.for_notification(seller_id=SELLER, subscription_id="s", marketplace_id=JAPAN)

    assert "--seller-region FE" in str(raised.value) and "Atzr" not in str(raised.value)


def test_given_a_secret_cached_for_hours_when_a_region_is_added_elsewhere_then_its_notifications_read_it_afresh(
    secrets: Any,
) -> None:
    # Given a container that cached the seller's secret (NA only) for six hours
    cached = directory(cache_seconds=21_600)
    cached.save_seller(SELLER, refresh_token="Atzr|na", region=Region.NA)
    assert cached.for_seller(SELLER).refresh_token == "Atzr|na"

    # When the seller authorises Europe through another container, and Europe's orders arrive
    directory().save_seller(SELLER, refresh_token="Atzr|eu", region=Region.EU)
    resolved = cached.for_notification(seller_id=SELLER, subscription_id="s", marketplace_id=GERMANY)
    again = cached.for_seller(SELLER, Region.EU)

    # Then the secret is read afresh for the region it lacked: no wait for the cache to expire
    assert (
        (resolved.region, resolved.refresh_token)
        == (Region.EU, "Atzr|eu")
        == (again.region, again.refresh_token)
    )


def test_given_no_marketplace_when_resolved_then_the_subscriptions_region_else_the_first(
    secrets: Any,
) -> None:
    # Given a seller in NA and EU, and an EU subscription routed with its region
    sellers = directory()
    sellers.save_seller(SELLER, refresh_token="Atzr|na", region=Region.NA)
    sellers.save_seller(SELLER, refresh_token="Atzr|eu", region=Region.EU)
    sellers.route_subscription("sub-eu-reports", SELLER, Region.EU)

    # When notifications without a marketplace arrive (with and without a seller id)
    with_seller = sellers.for_notification(seller_id=SELLER, subscription_id="sub-eu-reports")
    without_seller = sellers.for_notification(seller_id=None, subscription_id="sub-eu-reports")
    unrouted = sellers.for_notification(seller_id=SELLER, subscription_id="sub-unknown")

    # Then the subscription's region serves them; an unknown subscription falls back to the first
    assert (with_seller.region, without_seller.region) == (Region.EU, Region.EU)
    assert (without_seller.seller_key, without_seller.refresh_token) == (SELLER, "Atzr|eu")
    assert unrouted.region is Region.NA


def test_given_two_regions_when_one_is_removed_then_the_other_stays_and_the_last_removes_the_seller(
    secrets: Any,
) -> None:
    sellers = directory()
    sellers.save_seller(SELLER, refresh_token="Atzr|na", region=Region.NA)
    sellers.save_seller(SELLER, refresh_token="Atzr|eu", region=Region.EU)

    assert sellers.remove_region(SELLER, Region.NA) is True
    assert sellers.remove_region(SELLER, Region.NA) is False
    assert [c.region for c in sellers.regions_of(SELLER)] == [Region.EU]

    assert sellers.remove_region(SELLER, Region.EU) is True
    assert sellers.known_sellers() == []
    with pytest.raises(UnknownSellerError):
        sellers.regions_of(SELLER)
    # It can be added again at once (no deletion window).
    assert sellers.save_seller(SELLER, refresh_token="Atzr|back", region=Region.EU)[1] == "created"


def test_given_a_refusal_when_recorded_then_listed_with_its_first_time_until_a_new_token_is_saved(
    secrets: Any,
) -> None:
    sellers = directory()
    sellers.save_seller(SELLER, refresh_token="Atzr|eu", region=Region.EU)

    sellers.mark_refused(SELLER, Region.EU, reason="LWA invalid_grant", at=T0)
    sellers.mark_refused(SELLER, Region.EU, reason="LWA invalid_grant", at=T0.replace(hour=10))

    assert sellers.refusals_of(SELLER) == {Region.EU: ("LWA invalid_grant", T0)}
    sellers.save_seller(SELLER, refresh_token="Atzr|eu-again", region=Region.EU)
    assert sellers.refusals_of(SELLER) == {}


def test_given_two_writers_adding_regions_at_once_when_both_finish_then_both_regions_are_stored(
    secrets: Any,
) -> None:
    # Given an operator's CLI and the onboarding API adding NA and EU at the same moment
    directory().save_seller(SELLER, refresh_token="Atzr|fe", region=Region.FE)
    start = threading.Barrier(2)
    failures: list[BaseException] = []

    def add(region: Region) -> None:
        try:
            start.wait()
            directory().save_seller(SELLER, refresh_token=f"Atzr|{region.value}", region=region)
        except BaseException as error:  # the assertion below names it
            failures.append(error)

    writers = [threading.Thread(target=add, args=(region,)) for region in (Region.NA, Region.EU)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()

    # Then neither write lost the other's region (the lock serialises read-modify-write)
    assert failures == []
    assert set(stored_secret(secrets)["regions"]) == {"NA", "EU", "FE"}

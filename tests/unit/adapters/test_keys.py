"""Composite keys stay unambiguous whatever characters a SKU holds."""

from __future__ import annotations

import pytest

from sellerstream.adapters.listings import listing_key
from sellerstream.identifiers import key_part


def test_given_common_skus_then_keys_unchanged() -> None:
    assert listing_key("A3AYAZLIQ7AX77", "ATVPDKIKX0DER", "NLS-SHOES-03") == {
        "pk": "SELLER#A3AYAZLIQ7AX77#MARKETPLACE#ATVPDKIKX0DER",
        "sk": "SKU#NLS-SHOES-03",
    }


@pytest.mark.parametrize(
    ("first", "second"),
    [("A#B", "A%23B"), ("a/b", "a%2Fb"), ("x", " x"), ("\u202eab", "ab"), ("SKU#1", "SKU%231")],
)
def test_given_skus_that_differ_then_their_keys_differ(first: str, second: str) -> None:
    assert key_part(first) != key_part(second)


@pytest.mark.parametrize("sku", ["A#B", "../x", "a b", "nul\x00", "\u200b", "%", "ü✓"])
def test_given_any_sku_then_its_key_part_holds_no_separator_and_only_printable_ascii(sku: str) -> None:
    part = key_part(sku)

    assert "#" not in part and "/" not in part
    assert part.isascii() and part.isprintable() and " " not in part

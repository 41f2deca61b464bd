"""How a bucket's slot claims are stored: one compact string, read back exactly as cached."""

from __future__ import annotations

import pytest

from sellerstream.adapters.rate_budget import decode_claims, encode_claims
from sellerstream.spapi.ratelimit import Claim

CLAIMS = {
    "111-0000000-0000001": Claim(1_790_000_012.3456789, 1_790_000_012.3456789, held=True),
    "111-0000000-0000002": Claim(1_790_000_010.0001, 1_790_000_038.9999, held=False, basis=1_789_999_000.0),
    "111-0000000-0000003": Claim(1_790_000_900.5, 1_790_000_914.25, held=True, basis=1_789_999_123.456),
}


def test_given_claims_when_encoded_then_the_reader_gets_exactly_what_the_writer_caches() -> None:
    text, cached = encode_claims(CLAIMS)

    assert decode_claims(text).keys() == cached.keys() == CLAIMS.keys()
    for name, claim in decode_claims(text).items():
        assert repr(claim) == repr(cached[name])
    assert encode_claims(cached)[0] == text  # stable: a rewrite changes nothing


def test_given_claims_when_encoded_then_no_slot_moves_earlier_no_window_later_and_bases_stay_exact() -> None:
    _, cached = encode_claims(CLAIMS)

    for name, original in CLAIMS.items():
        stored = cached[name]
        assert original.at <= stored.at < original.at + 0.001
        assert original.until - 0.001 < stored.until <= original.until or stored.until == stored.at
        assert stored.until >= stored.at
        assert (stored.held, stored.basis) == (original.held, original.basis)


def test_given_no_claims_when_encoded_then_an_empty_string_that_reads_back_empty() -> None:
    assert encode_claims({}) == ("", {})
    assert decode_claims("") == {}


def test_given_a_name_with_a_separator_when_encoded_then_it_is_refused() -> None:
    with pytest.raises(ValueError, match="must not contain"):
        encode_claims({"a,b": Claim(1.0, 1.0, held=True)})

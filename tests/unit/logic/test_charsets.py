"""A report document's charset, from the Content-Type Amazon serves it with, in Java's spelling."""

from __future__ import annotations

import codecs

import pytest

from sellerstream.logic.charsets import (
    JAVA_CHARSETS,
    DocumentCharset,
    UnknownCharsetError,
    charset_of,
    codec_for,
)


@pytest.mark.parametrize(
    ("name", "codec"),
    [
        ("Cp1252", "cp1252"),
        ("windows-1252", "cp1252"),
        ("UTF-8", "utf-8-sig"),
        ("utf8", "utf-8-sig"),
        ("Shift_JIS", "shift_jis"),
        ("SJIS", "shift_jis"),
        ("x-sjis", "shift_jis"),
        ("Windows-31J", "cp932"),
        ("MS932", "cp932"),
        ("EUC-JP", "euc_jp"),
        ("x-eucjp", "euc_jp"),  # Java's x- prefix on a name known without it
        ("ISO-8859-1", "iso8859-1"),
        ("8859_1", "iso8859-1"),
        ("x-windows-949", "cp949"),
        ("UnicodeLittleUnmarked", "utf-16-le"),
        ("koi8-r", "koi8-r"),  # a name Python knows as it is
        (' "Cp1250" ', "cp1250"),
    ],
)
def test_given_a_charset_name_as_amazon_writes_it_when_resolved_then_the_python_codec_that_decodes_it(
    name: str, codec: str
) -> None:
    assert codec_for(name) == codec


@pytest.mark.parametrize("name", sorted(JAVA_CHARSETS))
def test_given_any_java_name_known_when_resolved_then_a_text_codec_that_round_trips_ascii(name: str) -> None:
    codec = codec_for(name)

    assert codecs.decode(codecs.encode("sku\tA-1\n", codec), codec) == "sku\tA-1\n"


@pytest.mark.parametrize("name", ["x-klingon", "", "utf-9"])
def test_given_a_charset_nobody_knows_when_resolved_then_an_error_never_a_guess(name: str) -> None:
    with pytest.raises(UnknownCharsetError, match="unknown charset"):
        codec_for(name)


@pytest.mark.parametrize("name", ["base64", "zlib", "rot13", "hex"])
def test_given_a_codec_that_is_no_text_charset_when_resolved_then_refused(name: str) -> None:
    with pytest.raises(UnknownCharsetError, match="not a text charset"):
        codec_for(name)


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("text/plain; charset=Cp1252", DocumentCharset("Cp1252", "cp1252")),
        ('text/plain;CHARSET="Shift_JIS"', DocumentCharset("Shift_JIS", "shift_jis")),
        ("text/plain; format=flowed; charset=UTF-8 ", DocumentCharset("UTF-8", "utf-8-sig")),
        ("text/plain", DocumentCharset(None, "utf-8-sig")),
        ("text/plain; charset=", DocumentCharset(None, "utf-8-sig")),
        ("text/plain; charsets=Cp1252", DocumentCharset(None, "utf-8-sig")),
        (None, DocumentCharset(None, "utf-8-sig")),
    ],
)
def test_given_a_content_type_when_read_then_the_charset_it_declares_or_the_default(
    content_type: str | None, expected: DocumentCharset
) -> None:
    assert charset_of(content_type) == expected


def test_given_no_declared_charset_when_a_default_is_configured_then_the_default_is_used() -> None:
    assert charset_of("application/octet-stream", "Cp1252") == DocumentCharset(None, "cp1252")
    assert charset_of("text/plain; charset=UTF-8", "Cp1252") == DocumentCharset("UTF-8", "utf-8-sig")


def test_given_an_unknown_declared_charset_when_read_then_refused_naming_it() -> None:
    with pytest.raises(UnknownCharsetError, match="x-klingon"):
        charset_of("text/plain; charset=x-klingon")


def test_given_a_charset_when_described_then_what_was_declared_and_what_decodes_it() -> None:
    assert charset_of("text/plain; charset=Cp1252").describe() == "Cp1252 -> cp1252"
    assert charset_of(None).describe() == "no charset (default) -> utf-8-sig"

"""The charset of a report document, from the ``Content-Type`` Amazon serves it with.

Amazon names charsets the way Java does (``Cp1252`` in Europe, ``UTF-8``/``utf8`` in North
America, ``Shift_JIS``/``Windows-31J`` in Japan). Java's names and aliases map to Python codecs
here; a name Python knows under the same spelling is looked up as is. A document served without a
charset is read in a configured default (``REPORT_DEFAULT_CHARSET``, UTF-8 unless set). A charset
nobody knows is an error, never a guess.
"""

from __future__ import annotations

import codecs
from typing import NamedTuple

from sellerstream.errors import SellerStreamError

DEFAULT_REPORT_CHARSET = "UTF-8"

# Java charset names (canonical and common aliases, lower-cased) whose Python spelling differs or
# that Python does not know. Java's Shift_JIS is JIS X 0208 like Python's shift_jis; its
# Windows-31J (MS932) is Microsoft's superset, Python's cp932.
JAVA_CHARSETS = {
    "utf8": "utf-8",
    "utf-8": "utf-8",
    "cp1252": "cp1252",
    "windows-1252": "cp1252",
    "cp1250": "cp1250",
    "windows-1250": "cp1250",
    "cp1251": "cp1251",
    "windows-1251": "cp1251",
    "iso-8859-1": "latin-1",
    "iso8859_1": "latin-1",
    "8859_1": "latin-1",
    "iso-latin-1": "latin-1",
    "iso-8859-15": "iso8859-15",
    "iso8859_15": "iso8859-15",
    "latin9": "iso8859-15",
    "shift_jis": "shift_jis",
    "sjis": "shift_jis",
    "x-sjis": "shift_jis",
    "ms_kanji": "shift_jis",
    "csshiftjis": "shift_jis",
    "windows-31j": "cp932",
    "ms932": "cp932",
    "cswindows31j": "cp932",
    "windows-932": "cp932",
    "x-sjis_0213": "shift_jisx0213",
    "euc-jp": "euc_jp",
    "euc_jp": "euc_jp",
    "eucjp": "euc_jp",
    "x-euc-jp": "euc_jp",
    "iso-2022-jp": "iso2022_jp",
    "euc-kr": "euc_kr",
    "ms949": "cp949",
    "x-windows-949": "cp949",
    "gbk": "gbk",
    "gb18030": "gb18030",
    "big5": "big5",
    "x-windows-874": "cp874",
    "windows-874": "cp874",
    "utf-16": "utf-16",
    "utf-16le": "utf-16-le",
    "utf-16be": "utf-16-be",
    "unicodelittleunmarked": "utf-16-le",
    "unicodebigunmarked": "utf-16-be",
}


class UnknownCharsetError(SellerStreamError):
    """The document declares a charset that maps to no Python codec."""


class DocumentCharset(NamedTuple):
    declared: str | None  # as Amazon wrote it, None when the Content-Type had no charset
    codec: str  # the Python codec that decodes it

    def describe(self) -> str:
        return f"{self.declared or 'no charset (default)'} -> {self.codec}"


def charset_of(content_type: str | None, default: str = DEFAULT_REPORT_CHARSET) -> DocumentCharset:
    """The charset a ``Content-Type`` header declares (``text/plain; charset=Cp1252``), resolved."""
    declared = _charset_parameter(content_type)
    codec = codec_for(declared or default)
    return DocumentCharset(declared, codec)


def codec_for(name: str) -> str:
    """The Python codec for a Java (or IANA, or Python) charset name."""
    key = name.strip().strip('"').lower()
    mapped = JAVA_CHARSETS.get(key)
    if mapped is None and key.startswith("x-"):
        mapped = JAVA_CHARSETS.get(key[2:])
    try:
        info = codecs.lookup(mapped or key)
    except LookupError:
        raise UnknownCharsetError(f"unknown charset {name!r}") from None
    # codecs also holds bytes-to-bytes transforms (base64, zlib): never a document's charset.
    if not getattr(info, "_is_text_encoding", True):
        raise UnknownCharsetError(f"{name!r} is not a text charset")
    # A UTF-8 byte order mark is not part of the text (Amazon's flat files sometimes start with one).
    return "utf-8-sig" if info.name == "utf-8" else info.name


def _charset_parameter(content_type: str | None) -> str | None:
    """The ``charset`` parameter of a media type (``type/subtype; name=value; ...``), if any."""
    for parameter in (content_type or "").split(";")[1:]:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip('"').strip() or None
    return None

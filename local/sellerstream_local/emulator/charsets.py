"""The charsets Amazon serves report documents in, by the names Amazon gives them.

Amazon names a document's charset in its ``Content-Type`` the way Java does: ``Cp1252`` in Europe,
``UTF-8`` (or ``utf8``) in North America, ``Shift_JIS`` or ``Windows-31J`` in Japan. The emulator
encodes a document in the charset it is asked to serve it in; a name Python spells the same way
(``EUC-JP``, ``ISO-8859-1``, ``windows-1252``) needs no entry here.
"""

from __future__ import annotations

import codecs
from typing import Final

DEFAULT_CHARSET: Final = "UTF-8"  # North America's
# Java's names whose Python spelling differs (lower case). Java's Windows-31J (MS932) is Microsoft's
# superset of Shift_JIS: Python's cp932.
JAVA_NAMES: Final = {
    "windows-31j": "cp932",
    "ms932": "cp932",
    "sjis": "shift_jis",
    "x-sjis": "shift_jis",
    "iso8859_1": "latin-1",
    "8859_1": "latin-1",
}


def codec_for(charset: str) -> str:
    """The Python codec that encodes text in ``charset`` (no byte order mark for UTF-8)."""
    key = charset.strip().lower()
    try:
        return codecs.lookup(JAVA_NAMES.get(key, key)).name
    except LookupError:
        raise ValueError(f"no codec for the charset {charset!r}") from None

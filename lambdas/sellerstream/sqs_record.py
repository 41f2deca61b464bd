"""One SQS record of a Lambda event, read the way the functions read it.

Powertools' ``SQSRecord`` offers the same properties, but importing it runs its ``data_classes``
package, which loads the data class of every event source Lambda has: about 50 ms of every cold
start, for five properties. The names and answers here are Powertools' (a missing message attribute
is ``None``), so code and tests read either alike.
"""

from __future__ import annotations

from typing import Any


class SQSMessageAttribute:
    def __init__(self, raw: dict[str, Any]) -> None:
        self._raw = raw

    @property
    def string_value(self) -> str | None:
        value = self._raw.get("stringValue")
        return value if isinstance(value, str) else None

    @property
    def data_type(self) -> str:
        return str(self._raw.get("dataType", "String"))


class SQSMessageAttributes:
    def __init__(self, raw: dict[str, Any]) -> None:
        self._raw = raw

    def __getitem__(self, name: str) -> SQSMessageAttribute | None:
        attribute = self._raw.get(name)
        return SQSMessageAttribute(attribute) if isinstance(attribute, dict) else None


class SQSRecordAttributes:
    """SQS's system attributes of the record; absent ones are ``None`` (a hand-made event)."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self._raw = raw

    @property
    def approximate_receive_count(self) -> str | None:
        return self._raw.get("ApproximateReceiveCount")

    @property
    def sent_timestamp(self) -> str | None:
        return self._raw.get("SentTimestamp")


class SQSRecord:
    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    @property
    def raw_event(self) -> dict[str, Any]:
        return self._data

    @property
    def message_id(self) -> str:
        return str(self._data["messageId"])

    @property
    def body(self) -> str:
        return str(self._data.get("body") or "")

    @property
    def message_attributes(self) -> SQSMessageAttributes:
        return SQSMessageAttributes(self._data.get("messageAttributes") or {})

    @property
    def attributes(self) -> SQSRecordAttributes:
        return SQSRecordAttributes(self._data.get("attributes") or {})

    @property
    def event_source_arn(self) -> str:
        return str(self._data["eventSourceARN"])

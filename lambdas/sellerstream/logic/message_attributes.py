"""SQS message attributes that every copy of a message keeps.

A continuation message is Amazon's notification plus the part it continues, and the part lives in
a message attribute (a body is Amazon's alone). A throttled record's deferred copy, or a failure's
dead-letter copy, therefore carries that attribute over, or it would restart from part 0. Copies
also name the message Amazon's delivery arrived as, so a notification can be traced in the logs
across its copies.
"""

from __future__ import annotations

from typing import Any

from sellerstream.notifications import CONTINUATION_PART_ATTRIBUTE
from sellerstream.sqs_record import SQSRecord

SOURCE_MESSAGE_ID_ATTRIBUTE = "sellerstream-source-message-id"
MEANINGFUL_ATTRIBUTES = (CONTINUATION_PART_ATTRIBUTE,)


def attribute_value(record: SQSRecord, name: str) -> str | None:
    attribute = record.message_attributes[name]
    return attribute.string_value if attribute is not None else None


def source_message_id(record: SQSRecord) -> str:
    """The id of the message this record is a copy of (its own id when it is the original)."""
    return attribute_value(record, SOURCE_MESSAGE_ID_ATTRIBUTE) or record.message_id


def carried_attributes(record: SQSRecord) -> dict[str, Any]:
    """What a copy of the record must carry, in send_message's shape."""
    carried: dict[str, Any] = {
        SOURCE_MESSAGE_ID_ATTRIBUTE: {"DataType": "String", "StringValue": source_message_id(record)}
    }
    for name in MEANINGFUL_ATTRIBUTES:
        attribute = record.message_attributes[name]
        if attribute is not None and attribute.string_value:
            carried[name] = {"DataType": attribute.data_type, "StringValue": attribute.string_value}
    return carried

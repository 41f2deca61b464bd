"""What every copy of a message keeps: the part it continues, and the message Amazon's delivery was."""

from __future__ import annotations

from sellerstream.logic.dead_letter import REASON_ATTRIBUTE
from sellerstream.logic.deferral import DEFERRALS_ATTRIBUTE, FIRST_SENT_ATTRIBUTE
from sellerstream.logic.message_attributes import (
    SOURCE_MESSAGE_ID_ATTRIBUTE,
    attribute_value,
    carried_attributes,
    source_message_id,
)
from sellerstream.notifications import CONTINUATION_PART_ATTRIBUTE
from sellerstream.sqs_record import SQSRecord


def record(message_id: str = "m-1", attributes: dict[str, tuple[str, str]] | None = None) -> SQSRecord:
    return SQSRecord(
        {
            "messageId": message_id,
            "body": "{}",
            "messageAttributes": {
                name: {"dataType": data_type, "stringValue": value}
                for name, (data_type, value) in (attributes or {}).items()
            },
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:reports",
        }
    )


def test_given_amazons_own_delivery_then_it_is_its_own_source_and_a_copy_carries_only_that() -> None:
    original = record("m-from-amazon")

    assert source_message_id(original) == "m-from-amazon"
    assert carried_attributes(original) == {
        SOURCE_MESSAGE_ID_ATTRIBUTE: {"DataType": "String", "StringValue": "m-from-amazon"}
    }


def test_given_a_copy_then_its_source_is_the_message_it_was_copied_from_and_its_copies_say_so_too() -> None:
    copy = record("m-copy", {SOURCE_MESSAGE_ID_ATTRIBUTE: ("String", "m-from-amazon")})

    assert source_message_id(copy) == "m-from-amazon"
    assert carried_attributes(copy)[SOURCE_MESSAGE_ID_ATTRIBUTE]["StringValue"] == "m-from-amazon"


def test_given_a_continuation_then_its_copies_continue_the_same_part_with_its_data_type() -> None:
    continuation = record(attributes={CONTINUATION_PART_ATTRIBUTE: ("Number", "4")})

    assert carried_attributes(continuation)[CONTINUATION_PART_ATTRIBUTE] == {
        "DataType": "Number",
        "StringValue": "4",
    }


def test_given_attributes_about_this_receive_only_then_copies_leave_them_behind() -> None:
    # A deferral or a dead letter writes these afresh for its copy.
    copy = record(
        attributes={
            DEFERRALS_ATTRIBUTE: ("Number", "3"),
            FIRST_SENT_ATTRIBUTE: ("Number", "1790000000000"),
            REASON_ATTRIBUTE: ("String", "invalid_notification"),
        }
    )

    assert set(carried_attributes(copy)) == {SOURCE_MESSAGE_ID_ATTRIBUTE}


def test_given_an_empty_continuation_attribute_then_copies_leave_it_out() -> None:
    # SQS refuses an attribute without a value: carrying it would make every copy fail.
    assert CONTINUATION_PART_ATTRIBUTE not in carried_attributes(
        record(attributes={CONTINUATION_PART_ATTRIBUTE: ("Number", "")})
    )


def test_given_an_empty_source_attribute_then_the_record_is_its_own_source() -> None:
    assert source_message_id(record("m-2", {SOURCE_MESSAGE_ID_ATTRIBUTE: ("String", "")})) == "m-2"


def test_given_a_record_then_an_attribute_is_read_by_name_and_an_absent_one_is_none() -> None:
    continuation = record(attributes={CONTINUATION_PART_ATTRIBUTE: ("Number", "2")})

    assert attribute_value(continuation, CONTINUATION_PART_ATTRIBUTE) == "2"
    assert attribute_value(continuation, SOURCE_MESSAGE_ID_ATTRIBUTE) is None

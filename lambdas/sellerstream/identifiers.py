"""The shapes of Amazon's identifiers, checked before an id reaches a key, a secret name or a log.

Each pattern is the body of a regular expression (no anchors: callers match the whole value) made
of plain character classes, so it means the same to Python's ``re`` and to pydantic's Rust engine.
None of them admits ``#`` (our key separator), ``/``, ``%``, whitespace, control, bidi or
zero-width characters, so an id that passes is safe as a key part, a secret-name suffix and in a
log line as it is. Where Amazon's schemas type an id only as "string", the pattern is a bounded
token that every id in Amazon's models, examples and sandbox covers, rather than a guess at a
stricter format that could refuse a real notification.

Sources (Amazon's selling-partner-api-models: notification schemas and their examples, the
Orders, Reports, Listings Items and Notifications API models and their sandbox examples).
SKUs are the exception: Amazon lets a seller choose any characters, so they are encoded where
they become a key (``key_part``) instead of being restricted.
"""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import quote

# Merchant tokens: "A3TH9S8BH6GOGM", "A3AYAZLIQ7AX77" (notification examples). The Listings API
# says a seller id may also be a vendor code (short, uppercase alphanumeric). Lengths vary by account.
SELLER_ID: Final = r"[A-Z0-9]{2,32}"

# Selling partner account ids in REPORT_PROCESSING_FINISHED: "amzn1.merchant.o.A3TH9S8BH6GOGM",
# vendor groups "amzn1.vg.6213651" (schema examples). Dot-separated, no empty segment.
ACCOUNT_ID: Final = r"amzn1(?:\.[A-Za-z0-9_-]{1,64}){1,8}"

# What credentials are keyed by: a seller id, or (vendors, routed through their subscription)
# an account id. It names a Secrets Manager secret and prefixes table keys.
SELLER_KEY: Final = rf"{SELLER_ID}|{ACCOUNT_ID}"

# Marketplace ids: "ATVPDKIKX0DER", "A1F83G8C2ARO7P", "AMEN7PMS3EDWL" (Amazon's marketplace table,
# 13 to 14 characters today, always starting with A).
MARKETPLACE_ID: Final = r"A[A-Z0-9]{9,15}"

# Amazon order ids: 3-7-7 groups, "902-1845936-5435065", "903-8868176-2219830" (Orders API models,
# ORDER_CHANGE example; the first group is alphanumeric in non-retail channels, e.g. "D01-" digital
# orders), and the sandbox's "TEST_CASE_200", "TEST_CASE_IBA_200" (Orders v0 sandbox examples).
ORDER_ID: Final = r"[0-9A-Z]{3}-[0-9]{7}-[0-9]{7}|TEST_CASE_[A-Z0-9_]{1,40}"

# Report ids are numeric strings: "54517018502", "383187020424"; the Reports sandbox uses "ID323"
# and "ReportId1".
REPORT_ID: Final = r"[A-Za-z0-9]{1,64}"

# Report document ids: "amzn1.spdoc.1.4.na.52d7591e-de2b-4d70-8fb1-0923856f9d59.T2OL05CQTET8D2.3211"
# (Reports model), "amzn1.tortuga.3.edbcd0d8-3434-8222-1234-52ad8ade1208.REP4567URI9BMZ" (schema
# example); the sandbox uses UUIDs ("0356cf79-b8b0-4226-b4b9-0ee058ea5760") and "badDocumentId1".
# They become part of an S3 key: no "/" and, since segments are non-empty, never "..".
REPORT_DOCUMENT_ID: Final = r"amzn1(?:\.[A-Za-z0-9_-]{1,128}){1,16}|[A-Za-z0-9][A-Za-z0-9-]{0,127}"

# Feed ids are numeric strings in real traffic: "53347018456" (FEED_PROCESSING_FINISHED's schema
# example); the Feeds sandbox uses "feedId1", "FeedId1" and "badFeedId1" (Feeds API model). So, like
# report ids, a bounded alphanumeric token rather than digits only.
FEED_ID: Final = r"[A-Za-z0-9]{1,64}"

# Feed document ids have the report documents' shapes: "amzn1.tortuga.3.edbcd0d8-3434-8222-1234-
# 52ad8ade1208.URUTI57URI9BMZ" (FEED_PROCESSING_FINISHED's schema example), the sandbox's UUID
# "0356cf79-b8b0-4226-b4b9-0ee058ea5760" and "badDocumentId1" (Feeds API model).
FEED_DOCUMENT_ID: Final = REPORT_DOCUMENT_ID

# Notification, subscription, application, order item and supply source ids are typed "string" by
# Amazon. Examples: NotificationId "d0e9e693-c3ad-4373-979f-ed4ec98dd746" (a UUID); SubscriptionId
# "7fcacc7e-727b-11e9-8848-1681be663d3e", "93b098e1-c42-2f45-93a1-78910a6a8369" (not a UUID),
# "subscription-id-d0e9e693-…", sandbox "TEST_CASE_200_SUBSCRIPTION_ID"; ApplicationId
# "amzn1.sellerapps.app.f108f511-…"; OrderItemId "OIID34853450". A bounded opaque id shape covers them all.
OPAQUE_ID: Final = r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}"
NOTIFICATION_ID: Final = OPAQUE_ID
SUBSCRIPTION_ID: Final = OPAQUE_ID

# Login with Amazon client ids: "amzn1.application-oa2-client.6XXXXXXXXXXXXXXXXXXXXXXXXX" (Amazon's
# credential-rotation sample notifications); the shape of an account id. It is no secret.
LWA_CLIENT_ID: Final = ACCOUNT_ID

# EventBridge event ids are UUIDs ("89d1a02d-5ec7-412e-82f5-13505f849b41", AWS's event reference).
EVENT_ID: Final = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"

# ASINs are 10 uppercase alphanumerics: "BT6RZ7JM4H" (LISTINGS_ITEM_STATUS_CHANGE example).
ASIN: Final = r"[A-Z0-9]{10}"

# Enumeration-like words that are stored or logged (report types "GET_FLAT_FILE_ACTIONABLE_ORDER_DATA",
# processing statuses "DONE", listing statuses "BUYABLE", notification types): kept open, since
# Amazon adds values, but only as words.
WORD: Final = r"[A-Za-z][A-Za-z0-9_]{0,127}"

# Envelope and payload versions: "1.0", "2020-09-04", "2023-11-30" (notification schemas and examples).
VERSION: Final = r"[0-9][0-9A-Za-z.-]{0,31}"

# Amazon limits a seller SKU to 40 characters; this bound leaves room while keeping the encoded
# sort key (up to 3 bytes per UTF-8 byte) inside DynamoDB's 1,024 bytes.
SKU_MAX_UTF8_BYTES: Final = 255


def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(rf"(?:{pattern})")


_SELLER_KEY = _compiled(SELLER_KEY)
_NOTIFICATION_ID = _compiled(NOTIFICATION_ID)
_SUBSCRIPTION_ID = _compiled(SUBSCRIPTION_ID)
_SELLER_ID = _compiled(SELLER_ID)
_ORDER_ID = _compiled(ORDER_ID)
_WORD = _compiled(WORD)
_LWA_CLIENT_ID = _compiled(LWA_CLIENT_ID)
_VERSION = _compiled(VERSION)


def _matches(compiled: re.Pattern[str], value: object) -> bool:
    # Length first: fullmatch on a 256 KB value would still be linear, but there is no need.
    return isinstance(value, str) and len(value) <= 256 and compiled.fullmatch(value) is not None


def is_seller_key(value: object) -> bool:
    return _matches(_SELLER_KEY, value)


def is_seller_id(value: object) -> bool:
    return _matches(_SELLER_ID, value)


def is_order_id(value: object) -> bool:
    return _matches(_ORDER_ID, value)


def is_notification_id(value: object) -> bool:
    return _matches(_NOTIFICATION_ID, value)


def is_subscription_id(value: object) -> bool:
    return _matches(_SUBSCRIPTION_ID, value)


def is_word(value: object) -> bool:
    return _matches(_WORD, value)


def is_lwa_client_id(value: object) -> bool:
    return _matches(_LWA_CLIENT_ID, value)


def is_version(value: object) -> bool:
    return _matches(_VERSION, value)


def sku_problem(value: str) -> str | None:
    """Why a SKU cannot be stored (never quoting it), or None when it can."""
    if not value:
        return "is empty"
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        return "is not valid Unicode (a lone surrogate)"
    if size > SKU_MAX_UTF8_BYTES:
        return f"is longer than {SKU_MAX_UTF8_BYTES} UTF-8 bytes"
    return None


def key_part(value: str) -> str:
    """A value that may hold any character (a SKU) as an unambiguous key part.

    Percent-encoding (UTF-8) of everything but letters, digits and ``_.-~``: ``#`` and ``%`` are
    encoded too, so no two values share an encoding and none can forge a key separator. Common
    SKUs ("NLS-SHOES-03") are unchanged.
    """
    return quote(value, safe="")

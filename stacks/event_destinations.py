"""Where SellerStream's events go besides its bus: the destinations an operator declares in CDK
context (``events_destinations``), checked at synth, and the stack outputs that describe them.

Pure Python (no CDK imports): app.py refuses a malformed value in one line before anything is
built, and ``sellerstream events`` reads the outputs named here.

A destination is a JSON object (a list of them: ``-c events_destinations='[...]'`` or a list in
cdk.json), each with a ``name`` and a ``kind``:

- ``sqs``: ``arn``, a queue of this account or another's (same region);
- ``webhook``: ``url`` (https), ``auth`` (``api_key``, ``basic`` or ``oauth``), ``secret_arn`` (the
  Secrets Manager secret holding the credentials), for oauth ``token_url`` and optionally ``scope``,
  and ``rate_per_second``;
- ``bus``: ``arn``, another event bus (e.g. another account's);

and optionally ``detail_types`` (names of SellerStream's events) and ``sellers`` (seller ids).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from sellerstream import catalog, identifiers

CONTEXT_KEY: Final = "events_destinations"
KINDS: Final = ("sqs", "webhook", "bus")
AUTHS: Final = ("api_key", "basic", "oauth")
# The Secrets Manager secret's JSON fields per auth (oauth: the client; its token URL is a field of
# the destination).
SECRET_FIELDS: Final = {
    "api_key": ("name", "value"),
    "basic": ("username", "password"),
    "oauth": ("client_id", "client_secret"),
}
# EventBridge API destinations: 1 to 300 invocations per second.
DEFAULT_RATE_PER_SECOND: Final = 10
MAX_RATE_PER_SECOND: Final = 300
# Each destination adds up to four outputs; CloudFormation allows 200 per stack.
MAX_DESTINATIONS: Final = 20
# A name enters construct ids, alarm names and output ids (letters and digits only there).
NAME: Final = re.compile(r"[A-Za-z][A-Za-z0-9]{0,31}")
SQS_ARN: Final = re.compile(r"arn:aws[a-z-]*:sqs:[a-z0-9-]+:(\d{12}):[A-Za-z0-9_-]{1,80}(\.fifo)?")
BUS_ARN: Final = re.compile(r"arn:aws[a-z-]*:events:[a-z0-9-]+:(\d{12}):event-bus/[A-Za-z0-9._/-]{1,256}")
SECRET_ARN: Final = re.compile(
    r"arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]{1,512}"
)
MAX_URL_LENGTH: Final = 2048

_COMMON_FIELDS: Final = frozenset({"name", "kind", "detail_types", "sellers"})
_KIND_FIELDS: Final = {
    "sqs": frozenset({"arn"}),
    "bus": frozenset({"arn"}),
    "webhook": frozenset({"url", "auth", "secret_arn", "token_url", "scope", "rate_per_second"}),
}


@dataclass(frozen=True)
class Destination:
    name: str
    kind: str
    arn: str | None = None  # sqs, bus
    url: str | None = None  # webhook
    auth: str | None = None
    secret_arn: str | None = None
    token_url: str | None = None  # oauth
    scope: str | None = None  # oauth
    rate_per_second: int = DEFAULT_RATE_PER_SECOND
    detail_types: tuple[str, ...] = ()  # none: every event SellerStream emits
    sellers: tuple[str, ...] = ()  # none: every seller

    @property
    def construct_id(self) -> str:
        return f"EventsDestination{self.name[0].upper()}{self.name[1:]}"

    @property
    def outputs(self) -> DestinationOutputs:
        return destination_outputs(self.name)

    def event_pattern(self) -> dict[str, Any]:
        """The rule's pattern (EventBridge JSON): SellerStream's events, narrowed by the filters."""
        pattern: dict[str, Any] = {"source": [catalog.EVENT_SOURCE]}
        if self.detail_types:
            pattern["detail-type"] = list(self.detail_types)
        if self.sellers:
            pattern["detail"] = {"seller_id": list(self.sellers)}
        return pattern


@dataclass(frozen=True)
class DestinationOutputs:
    rule_arn: str
    dead_letter_queue_url: str
    policy: str  # sqs and bus: the statement the target's owner adds to its resource policy


def destination_outputs(name: str) -> DestinationOutputs:
    prefix = f"EventsDestination{name[:1].upper()}{name[1:]}"
    return DestinationOutputs(f"{prefix}RuleArn", f"{prefix}DeadLetterQueueUrl", f"{prefix}Policy")


class EventsOutputs:
    """The stack's outputs about its events, which ``sellerstream events`` reads."""

    BUS_NAME: Final = "EventsBusName"
    BUS_ARN: Final = "EventsBusArn"
    ARCHIVE_NAME: Final = "EventsArchiveName"  # absent when the stack keeps no archive
    ARCHIVE_ARN: Final = "EventsArchiveArn"
    DEAD_LETTER_QUEUE_URL: Final = "ChangeEventsDeadLetterQueueUrl"
    # A JSON object: each destination's name and kind ({} when none is configured).
    DESTINATIONS: Final = "EventsDestinations"


def parse_destinations(value: Any) -> tuple[Destination, ...]:
    """The destinations of the context value (a JSON text or a list), or a one-line ValueError."""
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as error:
            raise ValueError(f"{CONTEXT_KEY} must be a JSON list of destinations: {error}") from None
    if not isinstance(value, list):
        raise ValueError(f"{CONTEXT_KEY} must be a JSON list of destinations, not {type(value).__name__}")
    if len(value) > MAX_DESTINATIONS:
        raise ValueError(f"{CONTEXT_KEY}: at most {MAX_DESTINATIONS} destinations, not {len(value)}")
    destinations = tuple(_destination(index, item) for index, item in enumerate(value, start=1))
    seen: dict[str, str] = {}
    for destination in destinations:
        folded = destination.name.lower()
        if folded in seen:
            raise ValueError(
                f"{CONTEXT_KEY}: two destinations named {seen[folded]!r} and {destination.name!r} "
                "(names must differ in more than case)"
            )
        seen[folded] = destination.name
    return destinations


def _destination(index: int, item: Any) -> Destination:
    where = f"{CONTEXT_KEY} destination {index}"
    if not isinstance(item, dict):
        raise ValueError(f"{where} must be a JSON object, not {type(item).__name__}")
    name = item.get("name")
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise ValueError(
            f"{where}: name must be 1-32 letters or digits starting with a letter, not {_shown(name)}"
        )
    where = f"{CONTEXT_KEY} destination {name!r}"
    kind = item.get("kind")
    if kind not in KINDS:
        raise ValueError(f"{where}: kind must be one of {', '.join(KINDS)}, not {_shown(kind)}")
    unknown = sorted(set(item) - _COMMON_FIELDS - _KIND_FIELDS[kind])
    if unknown:
        allowed = ", ".join(sorted(_COMMON_FIELDS | _KIND_FIELDS[kind]))
        raise ValueError(f"{where}: unknown field {unknown[0]!r} for kind {kind} (fields: {allowed})")
    detail_types, sellers = _detail_types(where, item), _sellers(where, item)
    if kind == "sqs":
        arn = _required(where, item, "arn")
        match = SQS_ARN.fullmatch(arn)
        if not match:
            raise ValueError(f"{where}: arn must be an SQS queue's ARN, not {_shown(arn)}")
        if match.group(2):
            raise ValueError(
                f"{where}: a FIFO queue needs a message group per event, which a rule cannot give; "
                "use a standard queue (order by each event's detail.version)"
            )
        return Destination(name, kind, arn=arn, detail_types=detail_types, sellers=sellers)
    if kind == "bus":
        arn = _required(where, item, "arn")
        if not BUS_ARN.fullmatch(arn):
            raise ValueError(f"{where}: arn must be an event bus's ARN, not {_shown(arn)}")
        return Destination(name, kind, arn=arn, detail_types=detail_types, sellers=sellers)
    return _webhook(where, name, item, detail_types=detail_types, sellers=sellers)


def _webhook(
    where: str, name: str, item: dict[str, Any], *, detail_types: tuple[str, ...], sellers: tuple[str, ...]
) -> Destination:
    url = _https_url(where, "url", _required(where, item, "url"))
    auth = item.get("auth")
    if auth not in AUTHS:
        raise ValueError(f"{where}: auth must be one of {', '.join(AUTHS)}, not {_shown(auth)}")
    secret_arn = _required(where, item, "secret_arn")
    if not SECRET_ARN.fullmatch(secret_arn):
        raise ValueError(
            f"{where}: secret_arn must be a Secrets Manager secret's ARN, not {_shown(secret_arn)}"
        )
    token_url = scope = None
    if auth == "oauth":
        token_url = _https_url(where, "token_url", _required(where, item, "token_url"))
        scope = item.get("scope")
        if scope is not None and (not isinstance(scope, str) or not scope.strip() or len(scope) > 512):
            raise ValueError(f"{where}: scope must be a non-empty text, not {_shown(scope)}")
    else:
        extra = sorted({"token_url", "scope"} & set(item))
        if extra:
            raise ValueError(f"{where}: {extra[0]} is for auth oauth only, not {auth}")
    rate = item.get("rate_per_second", DEFAULT_RATE_PER_SECOND)
    if isinstance(rate, str) and rate.isdigit():
        rate = int(rate)
    if isinstance(rate, bool) or not isinstance(rate, int) or not 1 <= rate <= MAX_RATE_PER_SECOND:
        raise ValueError(
            f"{where}: rate_per_second must be a whole number from 1 to {MAX_RATE_PER_SECOND}, not {_shown(rate)}"
        )
    return Destination(
        name,
        "webhook",
        url=url,
        auth=auth,
        secret_arn=secret_arn,
        token_url=token_url,
        scope=scope,
        rate_per_second=rate,
        detail_types=detail_types,
        sellers=sellers,
    )


def _required(where: str, item: dict[str, Any], field: str) -> str:
    value = item.get(field)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{where}: {field} is required (a text), not {_shown(value)}")
    return value


def _https_url(where: str, field: str, url: str) -> str:
    parts = urlsplit(url)
    if (
        parts.scheme != "https"
        or not parts.hostname
        or len(url) > MAX_URL_LENGTH
        or any(c.isspace() for c in url)
        or parts.username is not None
    ):
        raise ValueError(f"{where}: {field} must be an https:// URL (without credentials), not {_shown(url)}")
    return url


def _detail_types(where: str, item: dict[str, Any]) -> tuple[str, ...]:
    known = [event.detail_type for event in catalog.change_events()]
    value = item.get("detail_types")
    if value is None:
        return ()
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{where}: detail_types must be a non-empty list of texts, not {_shown(value)}")
    for detail_type in value:
        if detail_type not in known:
            raise ValueError(
                f"{where}: unknown detail-type {_shown(detail_type)} (SellerStream emits {', '.join(known)})"
            )
    return tuple(dict.fromkeys(value))


def _sellers(where: str, item: dict[str, Any]) -> tuple[str, ...]:
    value = item.get("sellers")
    if value is None:
        return ()
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{where}: sellers must be a non-empty list of seller ids, not {_shown(value)}")
    for seller in value:
        if not identifiers.is_seller_key(seller):
            raise ValueError(f"{where}: {_shown(seller)} is not a seller id (e.g. A3TH9S8BH6GOGM)")
    return tuple(dict.fromkeys(value))


def _shown(value: Any) -> str:
    """A value in a one-line message: its repr, cut short."""
    text = repr(value)
    return text if len(text) <= 120 else f"{text[:117]}..."

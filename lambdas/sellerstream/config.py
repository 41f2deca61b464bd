"""Each function's configuration: the environment variables it reads, declared once per setting.

A settings class lists the settings one function needs (the catalog names it for each function). A
setting's variable is its field name in upper case (``orders_table_name`` is ``ORDERS_TABLE_NAME``),
so a variable's name is spelled once, here. The stack renders each function's environment from its
class (``environment``): a required setting the stack does not give, or a value its parser refuses,
fails the synth. The function reads the same class back (``from_environment``) when it builds its use
case, before the first record: an unset or malformed variable fails the invocation and names it.
Secrets are never here, only the names under which Secrets Manager holds them.

Plain descriptors, not a pydantic model: building a model class costs every cold start about 10 ms,
for variables that need only a text, integer or flag check.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, Final, Generic, Self, TypeVar, cast, overload

T = TypeVar("T")


class MissingSettingError(RuntimeError):
    """A function started (or the stack was synthesized) without a setting it needs: a deployment error."""


class InvalidSettingError(ValueError):
    """A setting holds a value of the wrong kind: a deployment error."""


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Final = _Required()


class Setting(Generic[T]):
    """One environment variable of a settings class: its parser and its default (or REQUIRED)."""

    __slots__ = ("default", "name", "parse", "variable")

    def __init__(self, parse: Callable[[str, str], T], default: T | _Required = REQUIRED) -> None:
        self.parse = parse
        self.default = default
        self.name = ""
        self.variable = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        self.variable = name.upper()

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    @overload
    def __get__(self, instance: None, owner: type) -> Setting[T]: ...

    @overload
    def __get__(self, instance: Settings, owner: type) -> T: ...

    def __get__(self, instance: Settings | None, owner: type) -> Setting[T] | T:
        if instance is None:
            return self
        return cast(T, instance._values[self.name])

    def render(self, value: object) -> str:
        """``value`` as the variable's text, checked by the parser the function will read it with."""
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, Mapping):
            text = ",".join(f"{name}={value[name]}" for name in sorted(value))
        elif isinstance(value, set | frozenset | tuple | list):
            text = ",".join(sorted(str(item) for item in value))
        else:
            text = str(value)
        self.parse(self.variable, text)
        return text


class Settings:
    """Base of the settings classes: the settings declared on a class and its bases, read or rendered."""

    __slots__ = ("_values",)
    _fields: dict[str, Setting[Any]] = {}

    def __init_subclass__(cls) -> None:
        fields: dict[str, Setting[Any]] = {}
        for klass in reversed(cls.__mro__):
            fields.update({name: value for name, value in vars(klass).items() if isinstance(value, Setting)})
        cls._fields = fields

    def __init__(self, values: Mapping[str, object]) -> None:
        self._values = dict(values)

    @classmethod
    def fields(cls) -> dict[str, Setting[Any]]:
        return dict(cls._fields)

    @classmethod
    def from_environment(cls, environment: Mapping[str, str]) -> Self:
        """Reads every setting from ``environment``; other variables are ignored.

        Raises ``MissingSettingError`` for an unset required variable and ``InvalidSettingError``
        for a value of the wrong kind, each naming the variable.
        """
        values: dict[str, object] = {}
        for name, setting in cls._fields.items():
            text = environment.get(setting.variable)
            if text is None:
                if setting.required:
                    raise MissingSettingError(f"environment variable {setting.variable} is not set")
                values[name] = setting.default
            else:
                values[name] = setting.parse(setting.variable, text)
        return cls(values)

    @classmethod
    def of(cls, **values: object) -> Self:
        """Settings from Python values (tests, the operator's commands); unset ones take their defaults."""
        unknown = sorted(set(values) - set(cls._fields))
        if unknown:
            raise TypeError(f"{cls.__name__} has no settings {', '.join(unknown)}")
        missing = [s.variable for n, s in cls._fields.items() if s.required and n not in values]
        if missing:
            raise MissingSettingError(f"{cls.__name__} needs {', '.join(missing)}")
        return cls({name: values.get(name, setting.default) for name, setting in cls._fields.items()})

    @classmethod
    def environment(cls, available: Mapping[str, object]) -> dict[str, str]:
        """The variables of the settings this class declares, from ``available`` (values by setting
        name; more may be there, for other functions). A required setting missing from it raises
        ``MissingSettingError``, a value the setting's parser refuses ``InvalidSettingError``."""
        rendered: dict[str, str] = {}
        for name, setting in cls._fields.items():
            if name in available and available[name] is not None:
                rendered[setting.variable] = setting.render(available[name])
            elif setting.required:
                raise MissingSettingError(f"{cls.__name__}: nothing gives {setting.variable}")
        return rendered

    def replace(self, **changes: object) -> Self:
        return type(self).of(**{**self._values, **changes})

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Settings) and type(other) is type(self) and other._values == self._values

    def __hash__(self) -> int:
        return hash((type(self), tuple(sorted(self._values.items(), key=lambda item: item[0]))))

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={value!r}" for name, value in self._values.items())
        return f"{type(self).__name__}({shown})"


# -- parsers: (variable, text) -> value, raising InvalidSettingError that names the variable -----


def text(variable: str, value: str) -> str:
    if not value:
        raise InvalidSettingError(f"environment variable {variable} must not be empty")
    return value


def optional_text(variable: str, value: str) -> str | None:
    return value or None


def integer(minimum: int | None = None) -> Callable[[str, str], int]:
    def parse(variable: str, value: str) -> int:
        try:
            number = int(value.strip(), 10)
        except ValueError:
            raise InvalidSettingError(f"environment variable {variable} must be an integer") from None
        if minimum is not None and number < minimum:
            raise InvalidSettingError(f"environment variable {variable} must be at least {minimum}")
        return number

    return parse


def names(variable: str, value: str) -> frozenset[str] | None:
    """A comma-separated list of names (empty: none given)."""
    listed = frozenset(name.strip() for name in value.split(",") if name.strip())
    return listed or None


def days_by_name(variable: str, value: str) -> dict[str, int]:
    """``NAME=days,NAME=days``: a number of days (at least 1) for each name."""
    days: dict[str, int] = {}
    for entry in filter(None, (part.strip() for part in value.split(","))):
        name, equals, number = entry.partition("=")
        if not equals or not name.strip():
            raise InvalidSettingError(f"environment variable {variable} must read NAME=days,NAME=days")
        days[name.strip()] = integer(minimum=1)(variable, number)
    return days


def text_by_name(variable: str, value: str) -> dict[str, str]:
    """``NAME=text,NAME=text`` (no comma or equals sign in a text: ARNs and names)."""
    texts: dict[str, str] = {}
    for entry in filter(None, (part.strip() for part in value.split(","))):
        name, equals, found = entry.partition("=")
        if not equals or not name.strip() or not found.strip():
            raise InvalidSettingError(f"environment variable {variable} must read NAME=text,NAME=text")
        texts[name.strip()] = found.strip()
    return texts


def json_object(variable: str, value: str) -> dict[str, Any]:
    """A JSON object (empty text: none)."""
    if not value.strip():
        return {}
    try:
        parsed = json.loads(value)
    except ValueError:
        raise InvalidSettingError(f"environment variable {variable} must be a JSON object") from None
    if not isinstance(parsed, dict):
        raise InvalidSettingError(f"environment variable {variable} must be a JSON object")
    return parsed


def optional_integer(variable: str, value: str) -> int | None:
    return integer(minimum=1)(variable, value) if value.strip() else None


_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def flag(variable: str, value: str) -> bool:
    word = value.strip().lower()
    if word in _TRUE or word in _FALSE:
        return word in _TRUE
    raise InvalidSettingError(f"environment variable {variable} must be true or false")


def one_of(*choices: str) -> Callable[[str, str], str]:
    def parse(variable: str, value: str) -> str:
        if value not in choices:
            raise InvalidSettingError(f"environment variable {variable} must be one of {', '.join(choices)}")
        return value

    return parse


ORDERS_API_VERSIONS: Final = ("2026-01-01", "v0")
DAY: Final = 24 * 3600


# -- the settings each function needs, in parts ---------------------------------------------------


class AppSecretSettings(Settings):
    """The application's LWA credentials and the accounts table (subscriptions, the secret's expiry)."""

    accounts_table_name = Setting(text)
    lwa_app_secret_id = Setting(text)


class SpApiSettings(AppSecretSettings):
    """What calling SP-API for a seller needs: the seller's secret, Amazon's endpoints, the shared budget."""

    seller_secret_prefix = Setting(text)
    # The rate budget every container shares (DynamoDB); unset: each process keeps its own.
    rate_budget_table_name = Setting(optional_text, None)
    spapi_sandbox = Setting(flag, False)
    # Local mode and tests point these at the emulator; unset in AWS (Amazon's endpoints).
    spapi_endpoint_override = Setting(optional_text, None)
    lwa_endpoint_override = Setting(optional_text, None)
    # Cache for secrets read by the function (seconds): each read costs, per seller and container.
    # A token LWA refuses, and a region the cached secret lacks, are read afresh at once.
    secrets_cache_seconds = Setting(integer(minimum=0), 21_600)


class QueueSettings(Settings):
    """What every queue consumer needs: idempotency, its own queue and its DLQ, and how long to wait."""

    idempotency_table_name = Setting(text)
    idempotency_expires_after_seconds = Setting(integer(minimum=60), 7 * DAY)
    # The consumer's own queue (deferred copies and continuations go back to it) and its DLQ
    # (failures no retry can cure are copied there at once).
    queue_url = Setting(text)
    dead_letter_queue_url = Setting(text)
    # The queue's redrive setting: the receive on which a failing record goes to the DLQ.
    max_receive_count = Setting(integer(minimum=1), 5)
    # The queue's message retention: a record is deferred as long as the notification (counted
    # from its first delivery) would not outlive it, then fails normally towards the DLQ.
    queue_retention_seconds = Setting(integer(minimum=60), 14 * DAY)
    # First delay of a throttled record's deferred copy when the wait is unknown (doubling up to the
    # maximum); a wait the rate budget knows is used as it is, up to the maximum (SQS's 900 s).
    throttle_deferral_base_seconds = Setting(integer(minimum=1), 30)
    throttle_deferral_max_seconds = Setting(integer(minimum=1), 900)
    # How long a notification waits (deferred, counted from its first delivery) for its seller's
    # credentials to work again (LWA refused the refresh token, or the secret is unusable) before it
    # is dead-lettered with reason ``seller_credentials``: time for the seller to re-authorise.
    seller_credentials_wait_seconds = Setting(integer(minimum=0), DAY)
    # The notification types this deployment enabled of those the consumer can take (context key
    # ``notification_types``); unset: all of them. Any other type is dead-lettered as unknown.
    notification_types = Setting(names, None)


class NotificationsTableSettings(Settings):
    """Where the types stored as Amazon sends them go (``catalog.Stored``), and for how long."""

    notifications_table_name = Setting(text)
    # Days each type's items are kept, where the deployment changes the catalog's (``NAME=days,...``).
    notification_retention_days: Setting[dict[str, int]] = Setting(days_by_name, {})


class OrdersTableSettings(Settings):
    orders_table_name = Setting(text)


class OrdersApiSettings(Settings):
    orders_api_version = Setting(one_of(*ORDERS_API_VERSIONS), "2026-01-01")


# -- one class per function ----------------------------------------------------------------------


class OrderChangeSettings(QueueSettings, SpApiSettings, OrdersTableSettings, OrdersApiSettings):
    # The orders whose change is not stored yet, and each seller's drainer lease.
    pending_orders_table_name = Setting(text)


class ListingStatusSettings(QueueSettings, SpApiSettings, NotificationsTableSettings):
    listings_table_name = Setting(text)


class NotificationsSettings(QueueSettings, SpApiSettings, NotificationsTableSettings):
    pass


class FeedProcessedSettings(QueueSettings, SpApiSettings):
    feeds_table_name = Setting(text)
    # A feed's record and results expire (TTL) this many days after they were recorded.
    feed_retention_days = Setting(integer(minimum=1), 90)
    # The charset of a processing report served without one in its Content-Type.
    feed_default_charset = Setting(text, "UTF-8")


class ReportFinishedSettings(QueueSettings, SpApiSettings):
    reports_table_name = Setting(text)
    report_rows_table_name = Setting(text)
    reports_bucket_name = Setting(text)
    # Report rows' lookups expire (TTL) this many days after their report was first ingested, like the
    # raw copy; the stack expires the rows' blocks (the bucket's rows/ prefix) after as many days.
    report_rows_retention_days = Setting(integer(minimum=1), 28)
    # Bounds one invocation's share of a report (rows); the rest continues in the next. Unset: time decides.
    report_max_rows_per_invocation = Setting(optional_integer, None)
    # The charset of a report document served without one in its Content-Type (Java or Python name).
    report_default_charset = Setting(text, "UTF-8")


class AppCredentialsSettings(QueueSettings, AppSecretSettings):
    # Warn (and the stack alarms) when the LWA client secret expires within this many days and no
    # newer secret has arrived.
    lwa_secret_expiry_warning_days = Setting(integer(minimum=1), 14)
    # An expiry notice makes the function ask Amazon for a new secret (rotateApplicationClientSecret)
    # itself: off unless the deployment opts in (context ``auto_rotate_app_secret``).
    auto_rotate_app_secret = Setting(flag, False)
    # The grantless rotation call alone needs these (not SpApiSettings: no seller secrets here).
    rate_budget_table_name = Setting(optional_text, None)
    spapi_sandbox = Setting(flag, False)
    spapi_endpoint_override = Setting(optional_text, None)
    lwa_endpoint_override = Setting(optional_text, None)


class ShipmentSettings(QueueSettings, SpApiSettings, OrdersTableSettings):
    pass


class ReconcileSettings(SpApiSettings, OrdersTableSettings, OrdersApiSettings):
    # Checkpoints live beside the backlog windows: here the table is required.
    rate_budget_table_name = Setting(text)
    # Each scheduled run starts this long before where the previous one ended (an order stored late
    # in DynamoDB's or Amazon's clock is not missed); a seller never reconciled before starts this
    # long before now.
    reconcile_overlap_seconds = Setting(integer(minimum=0), 900)
    reconcile_first_window_seconds = Setting(integer(minimum=60), DAY)
    # The listings table: each seller's listings are reconciled too (searchListingsItems per
    # marketplace, checkpoints beside the orders'). Unset: orders only.
    listings_table_name = Setting(optional_text, None)


class ChangeEventsSettings(Settings):
    """The change-events publisher: the tables whose streams it reads (their names tell a stream
    record's table), the bus, and the DLQ for events EventBridge refuses for good."""

    events_bus_name = Setting(text)
    events_dead_letter_queue_url = Setting(text)
    orders_table_name = Setting(text)
    listings_table_name = Setting(text)
    reports_table_name = Setting(text)
    notifications_table_name = Setting(text)
    feeds_table_name = Setting(text)
    # Buyer and recipient data (the order's PII item) in Order Changed events: off unless the
    # deployment opts in (context ``events_include_pii``).
    events_include_pii = Setting(flag, False)


class OnboardingSettings(SpApiSettings):
    """The onboarding API (Amazon's website authorization workflow): the application whose consent
    page the seller is sent to, and what a newly authorised (seller, region) is subscribed to."""

    # The SP-API application id (``amzn1.sp.solution.…``, the Developer Console's App ID): the
    # consent page's ``application_id``.
    spapi_application_id = Setting(text)
    # The application is still a draft: the consent URL carries ``version=beta``.
    onboarding_draft_app = Setting(flag, False)
    # How long a login's signed ``state`` is accepted at the redirect URI (Amazon's code lives 5 min).
    onboarding_state_ttl_seconds = Setting(integer(minimum=60), 900)
    # Local mode and tests: the emulator's consent page instead of Seller Central's (``{region}`` is
    # replaced by na, eu or fe); unset in AWS.
    seller_central_url_override = Setting(optional_text, None)
    # What a new (seller, region) is subscribed to: the deployment's types, each SQS consumer's queue
    # ARN by consumer kind (``orders=arn:aws:sqs:…,reports=…``), and the deployment's processing
    # directives by type (the stack's ``ProcessingDirectives`` output, as JSON). The EventBridge
    # destination is the function's own account and AWS region.
    notification_types = Setting(names, None)
    subscription_destinations: Setting[dict[str, str]] = Setting(text_by_name, {})
    processing_directives: Setting[dict[str, Any]] = Setting(json_object, {})

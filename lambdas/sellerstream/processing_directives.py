"""Processing directives: what a subscription asks Amazon to filter, checked before Amazon sees it.

Amazon's Notifications API model is the contract: ``ProcessingDirective`` holds an ``eventFilter``
(``eventFilterType`` and, by type, ``marketplaceIds``, ``aggregationSettings.aggregationTimePeriod``
``FiveMinutes`` or ``TenMinutes``, ``orderChangeTypes`` of ``BuyerRequestedChange``,
``DeliveryTipChange``, ``OrderStatusChange``) or a ``filterExpression`` (CEL), never both. Which type
takes which filter is Amazon's Notification Type Values, declared in the catalog
(``catalog.EVENT_FILTER_FIELDS``). A ``filterExpression`` is refused: which types take one is not in
Amazon's model, and its CEL is Amazon's to parse, so a mistake would surface only when a seller
subscribes, not when the deployment is synthesized.

Pure (no AWS, no CDK): ``app.py`` checks the ``processing_directives`` context with it, and
``sellerstream subscribe`` a seller's own ``--processing-directive`` and what Amazon returns.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Final

from sellerstream import catalog, identifiers
from sellerstream.spapi.endpoints import MARKETPLACE_REGIONS

CONTEXT_KEY: Final = "processing_directives"
EVENT_FILTER: Final = "eventFilter"
FILTER_EXPRESSION: Final = "filterExpression"
EVENT_FILTER_TYPE: Final = "eventFilterType"
MARKETPLACE_IDS: Final = "marketplaceIds"
AGGREGATION_SETTINGS: Final = "aggregationSettings"
AGGREGATION_TIME_PERIOD: Final = "aggregationTimePeriod"
ORDER_CHANGE_TYPES: Final = "orderChangeTypes"
# Amazon's enumerations (AggregationTimePeriod, OrderChangeTypeEnum).
AGGREGATION_TIME_PERIODS: Final = ("FiveMinutes", "TenMinutes")
ORDER_CHANGE_TYPE_VALUES: Final = ("BuyerRequestedChange", "DeliveryTipChange", "OrderStatusChange")

_MARKETPLACE_ID = re.compile(rf"(?:{identifiers.MARKETPLACE_ID})")


def check(type_name: str, directive: object) -> dict[str, Any]:
    """``directive`` as Amazon's rules for ``type_name`` take it (a plain copy), or ``ValueError``
    saying what is wrong, by the field's path (``eventFilter.orderChangeTypes``)."""
    allowed = catalog.EVENT_FILTER_FIELDS.get(type_name)
    if allowed is None:
        raise ValueError(
            "Amazon takes no processing directive for this type (only for "
            f"{' and '.join(sorted(catalog.EVENT_FILTER_FIELDS))})"
        )
    if not isinstance(directive, dict):
        raise ValueError(f"must be a JSON object with {EVENT_FILTER}, not {_shown(directive)}")
    if FILTER_EXPRESSION in directive:
        raise ValueError(
            f"{FILTER_EXPRESSION} is not supported (Amazon's model does not say which types take one): "
            f"use {EVENT_FILTER}"
        )
    _known_fields(directive, (EVENT_FILTER,), "the directive")
    if EVENT_FILTER not in directive:
        raise ValueError(f"needs {EVENT_FILTER} (null, not an empty object, for no directive)")
    event_filter = directive[EVENT_FILTER]
    if not isinstance(event_filter, dict):
        raise ValueError(f"{EVENT_FILTER} must be a JSON object, not {_shown(event_filter)}")
    if event_filter.get(EVENT_FILTER_TYPE) != type_name:
        raise ValueError(
            f"{EVENT_FILTER}.{EVENT_FILTER_TYPE} must be {type_name} (the notification type), "
            f"not {_shown(event_filter.get(EVENT_FILTER_TYPE))}"
        )
    _known_fields(event_filter, (EVENT_FILTER_TYPE, *allowed), EVENT_FILTER)
    checked: dict[str, Any] = {EVENT_FILTER_TYPE: type_name}
    for field, value in event_filter.items():
        where = f"{EVENT_FILTER}.{field}"
        if field == MARKETPLACE_IDS:
            checked[field] = _marketplace_ids(value, where)
        elif field == ORDER_CHANGE_TYPES:
            checked[field] = _listed(value, ORDER_CHANGE_TYPE_VALUES, where)
        elif field == AGGREGATION_SETTINGS:
            checked[field] = _aggregation_settings(value, where)
    return {EVENT_FILTER: checked}


def same(first: Mapping[str, Any] | None, second: Mapping[str, Any] | None) -> bool:
    """Whether two directives ask Amazon for the same (a list's order aside)."""
    return bool(_canonical(first) == _canonical(second))


def from_context(value: object, types: frozenset[str]) -> dict[str, dict[str, Any] | None]:
    """The ``processing_directives`` context (a JSON object by type name, as text or as JSON from
    cdk.json; None or empty: none) checked for a deployment of ``types``: each directive, or None for
    a type subscribed without one. Raises ``ValueError`` naming what is wrong."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as error:
            raise ValueError(f"{CONTEXT_KEY}: not JSON ({error})") from None
    if not isinstance(value, dict):
        raise ValueError(
            f"{CONTEXT_KEY} must be a JSON object by notification type, "
            f'e.g. {{"TYPE": {{"{EVENT_FILTER}": {{...}}}}}}, not {_shown(value)}'
        )
    return by_type(value, types, CONTEXT_KEY, "the deployment's notification_types")


def by_type(
    directives: Mapping[str, object], types: frozenset[str], source: str, enabled: str
) -> dict[str, dict[str, Any] | None]:
    """Directives by type name (another spelling of a type is its catalog name), each checked;
    ``ValueError`` names ``source`` and the type. A type must be one of ``types`` (``enabled`` says
    where they come from)."""
    checked: dict[str, dict[str, Any] | None] = {}
    for named, directive in directives.items():
        found = catalog.message_type(str(named))
        if found is None or found.subscription is None:
            known = ", ".join(sorted(t.name for t in catalog.subscribed_types()))
            raise ValueError(f"{source}: {_shown(named)} is no type SellerStream takes; one of {known}")
        if found.name not in types:
            raise ValueError(f"{source}: {found.name} is not among {enabled}: {', '.join(sorted(types))}")
        if found.name in checked:
            raise ValueError(f"{source}: {found.name} is named twice")
        if directive is None:
            checked[found.name] = None
            continue
        try:
            checked[found.name] = check(found.name, directive)
        except ValueError as error:
            raise ValueError(f"{source}: {found.name}: {error}") from None
    return checked


def _known_fields(value: dict[str, Any], allowed: tuple[str, ...], where: str) -> None:
    unknown = sorted(str(field) for field in value if field not in allowed)
    if unknown:
        raise ValueError(
            f"{where} has no field {', '.join(_shown(field, 40) for field in unknown)}; "
            f"its fields: {', '.join(allowed)}"
        )


def _listed(value: object, choices: tuple[str, ...], where: str) -> list[str]:
    if not isinstance(value, list) or not value:
        raise ValueError(f"{where} must be a non-empty list (leave it out for all), not {_shown(value)}")
    for item in value:
        if item not in choices:
            raise ValueError(f"{where}: {_shown(item)} is not one of {', '.join(choices)}")
    if len(set(value)) != len(value):
        raise ValueError(f"{where} names a value twice")
    return list(value)


def _marketplace_ids(value: object, where: str) -> list[str]:
    if not isinstance(value, list) or not value:
        raise ValueError(
            f"{where} must be a non-empty list (leave it out for every marketplace), not {_shown(value)}"
        )
    for item in value:
        if not isinstance(item, str) or len(item) > 32 or not _MARKETPLACE_ID.fullmatch(item):
            raise ValueError(f"{where}: {_shown(item)} is not a marketplace id (e.g. ATVPDKIKX0DER)")
        if item not in MARKETPLACE_REGIONS:
            raise ValueError(f"{where}: {item} is no marketplace Amazon lists")
    if len(set(value)) != len(value):
        raise ValueError(f"{where} names a marketplace twice")
    return list(value)


def _aggregation_settings(value: object, where: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ValueError(f"{where} must be a JSON object, not {_shown(value)}")
    _known_fields(value, (AGGREGATION_TIME_PERIOD,), where)
    period = value.get(AGGREGATION_TIME_PERIOD)
    if period not in AGGREGATION_TIME_PERIODS:
        raise ValueError(
            f"{where}.{AGGREGATION_TIME_PERIOD} must be one of {', '.join(AGGREGATION_TIME_PERIODS)}, "
            f"not {_shown(period)}"
        )
    return {AGGREGATION_TIME_PERIOD: str(period)}


def _canonical(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(key): _canonical(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        items = [_canonical(item) for item in value]
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))
    return value


def _shown(value: object, limit: int = 60) -> str:
    """A value in a message: JSON, cut short."""
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = type(value).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"

"""ORDER_CHANGE use case: the stored order is the one the notification named."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from sellerstream.logic.order_change import OrderChangeUseCase
from sellerstream.logic.order_records import OrderResponseError
from sellerstream.notifications import OrderChangeNotification, parse_notification
from sellerstream.store.orders import OrderRecord
from tests.unit.notifications.test_envelope import ORDER_CHANGE


class _Credentials:
    def for_notification(self, **_: Any) -> object:
        return object()


class _SpApi:
    def client_for(self, *_: Any) -> object:
        return object()


class _Store:
    def __init__(self) -> None:
        self.written: list[OrderRecord] = []

    def put_if_newer(self, record: OrderRecord) -> Any:
        self.written.append(record)
        raise AssertionError("nothing may be written")


def test_given_amazon_answers_with_another_order_when_applied_then_nothing_written(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    notification = parse_notification(json.dumps(ORDER_CHANGE))
    assert isinstance(notification, OrderChangeNotification)
    store = _Store()
    use_case = OrderChangeUseCase(None, _Credentials(), _SpApi(), store)  # type: ignore[arg-type]
    other = OrderRecord("A3TH9S8BH6GOGM", "111-1111111-1111111", datetime(2025, 1, 1, tzinfo=UTC), {})
    monkeypatch.setattr(use_case, "_fetch", lambda *_: other)

    with pytest.raises(OrderResponseError):
        use_case.apply(notification, lambda: 30.0)

    assert store.written == []

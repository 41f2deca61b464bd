"""A queue of several types: each notification reaches the use case of its type, whatever its spelling."""

from __future__ import annotations

from typing import Any, NamedTuple

import pytest

from sellerstream.errors import UnknownNotificationTypeError
from sellerstream.logic.routing import ByType


class Note(NamedTuple):
    notification_type: str
    notification_id: str = "n-1"


class Recording:
    def __init__(self, name: str) -> None:
        self.name = name
        self.applied: list[Any] = []

    def apply(self, notification: Any, remaining_time: Any) -> dict[str, Any]:
        self.applied.append(notification)
        return {"by": self.name}


def test_given_two_types_when_each_arrives_then_its_own_use_case_applies_it() -> None:
    status, issues = Recording("status"), Recording("issues")
    router = ByType({"LISTINGS_ITEM_STATUS_CHANGE": status, "LISTINGS_ITEM_ISSUES_CHANGE": issues})

    assert router.apply(Note("LISTINGS_ITEM_ISSUES_CHANGE"), None) == {"by": "issues"}
    # Amazon's schema spells the status type with a trailing D: the same type.
    assert router.apply(Note("LISTINGS_ITEM_STATUS_CHANGED"), None) == {"by": "status"}
    assert len(status.applied) == len(issues.applied) == 1


@pytest.mark.parametrize("name", ["ORDER_CHANGE", "NOT_A_TYPE"])
def test_given_a_type_without_a_use_case_here_then_dead_lettered_as_unknown(name: str) -> None:
    router = ByType({"LISTINGS_ITEM_STATUS_CHANGE": Recording("status")})

    with pytest.raises(UnknownNotificationTypeError) as raised:
        router.apply(Note(name), None)
    assert raised.value.notification_id == "n-1"

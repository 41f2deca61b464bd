"""``sellerstream reconcile``: runs the deployed reconcile function for one seller's window and says
what it refreshed: its orders (searchOrders), or with ``--listings`` its listings in each of its
marketplaces (searchListingsItems).

The window is checked here first (a seller id's shape, RFC 3339 times with an offset or durations
such as ``6h``), so a typo is one line before anything is invoked; the function applies Amazon's
settle rule (``until`` at most two minutes before now) and answers with its counts.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sellerstream import catalog, identifiers
from sellerstream.logic.reconcile import ReconcileRequestError, parse_moment
from sellerstream_ops.errors import OperatorError


def reconcile(
    account: Any,
    seller: str,
    since: str,
    until: str | None,
    *,
    listings: bool = False,
    region: str | None = None,
) -> dict[str, Any]:
    """The window in ``region`` (NA, EU, FE), or in each region the seller has: one result per
    region, or the one result itself when there is one."""
    if not identifiers.is_seller_key(seller):
        raise OperatorError(f"--seller {seller!r} is not a selling partner (or vendor account) id")
    now = datetime.now(UTC)
    try:
        since_at = parse_moment(since, now)
        until_at = parse_moment(until, now) if until else None
    except ReconcileRequestError as error:
        raise OperatorError(str(error)) from None
    if until_at is not None and since_at >= until_at:
        raise OperatorError("--since must be before --until")
    function = account.outputs[catalog.RECONCILE.outputs[0]]
    payload: dict[str, Any] = {"seller_id": seller, "since": _rfc3339(since_at)}
    if until_at is not None:
        payload["until"] = _rfc3339(until_at)
    if listings:
        payload["listings"] = True
    if region:
        payload["region"] = region
    response = account.client("lambda").invoke(
        FunctionName=function,
        InvocationType="RequestResponse",
        Payload=json.dumps(payload).encode(),
    )
    body = response["Payload"].read()
    try:
        answer = json.loads(body) if body else None
    except ValueError:
        answer = None
    if response.get("FunctionError"):
        message = answer.get("errorMessage") if isinstance(answer, dict) else None
        kind = answer.get("errorType") if isinstance(answer, dict) else None
        detail = f"{kind}: {message}" if kind and message else (message or "see the function's log")
        raise OperatorError(f"the reconcile function failed: {' '.join(str(detail).split())[:300]}")
    if not isinstance(answer, dict) or not isinstance(answer.get("sellers"), list) or not answer["sellers"]:
        raise OperatorError("the reconcile function gave no result (is the stack up to date? make deploy)")
    results: list[dict[str, Any]] = answer["sellers"]
    for result in results:
        if not result.get("complete"):
            where = f" --seller-region {result['region']}" if result.get("region") else ""
            result["next"] = (
                f"sellerstream reconcile{' --listings' if listings else ''} --seller {seller}{where} "
                f"--since {result['since']} --until {result['until']} resumes this window where it stopped"
            )
    return results[0] if len(results) == 1 else {"regions": results}


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

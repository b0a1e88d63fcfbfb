"""The call history (CDRs) of a shop: every call, newest first, filtered and paged."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cashdesk.auth.roles import Permission
from cashdesk.call_state import CallState
from cashdesk.server import scope
from cashdesk.server.api.transactions import CALL, call_json, page_rows
from cashdesk.server.periods import CALLSHOP, PAGE, RANGE, custom_period, shop_zone
from cashdesk.server.routes import Ctx, RouteTable
from cashdesk.server.schema import Int, Str, page_of
from cashdesk.server.state import Principal
from cashdesk.store.models import Cabin, Call, Transaction

routes = RouteTable("calls")

QUERY = {
    **CALLSHOP,
    "cabin_id": Int("only calls from this cabin", minimum=1, required=False),
    "number": Str("only numbers containing these digits (dialed or normalised)",
                  pattern=r"\+?[0-9*#]{1,32}", pattern_help="use digits (up to 32)",
                  required=False),
    "destination": Str("only destinations containing this text", min_len=1, max_len=120,
                       required=False),
    "state": Str("only calls in this state", choices=tuple(s.value for s in CallState),
                 required=False),
    **RANGE,
    **PAGE,
}

HISTORY_CALL = CALL.extend({
    "cabin_name": Str(),
    "transaction_id": Int("the payment that took it; null while unpaid", nullable=True),
})

CALL_PAGE = page_of(HISTORY_CALL)


def call_history(session: Session, principal: Principal,
                 query: dict[str, Any]) -> dict[str, Any]:
    shop = scope.readable_shop(session, principal, query.get("callshop_id"))
    period = custom_period(query.get("since"), query.get("until"), shop_zone(shop))
    select_ = (select(Call, Cabin.name, Transaction.id)
               .join(Cabin, Cabin.id == Call.cabin_id)
               .outerjoin(Transaction, Transaction.session_id == Call.session_id)
               .where(Call.callshop_id == shop.id))
    if query.get("cabin_id") is not None:
        select_ = select_.where(Call.cabin_id == query["cabin_id"])
    if query.get("number"):
        digits = query["number"].lstrip("+")
        select_ = select_.where(Call.number.contains(digits, autoescape=True)
                                | Call.dialed_number.contains(digits, autoescape=True))
    if query.get("destination"):
        select_ = select_.where(Call.destination.icontains(query["destination"],
                                                           autoescape=True))
    if query.get("state"):
        select_ = select_.where(Call.state == CallState(query["state"]))
    if period.since is not None:
        select_ = select_.where(Call.started_at >= period.since)
    if period.until is not None:
        select_ = select_.where(Call.started_at < period.until)
    select_ = select_.order_by(Call.started_at.desc(), Call.id.desc())
    rows, total = page_rows(session, select_, query["offset"], query["limit"])
    items = [{**call_json(call, shop.currency), "cabin_name": cabin_name,
              "transaction_id": transaction_id}
             for call, cabin_name, transaction_id in rows]
    return {"items": items, "total": total, "offset": query["offset"], "limit": query["limit"]}


@routes.get("/calls", Permission.VIEW_CALL_HISTORY,
            "The shop's calls, newest first, filtered and paged", query=QUERY,
            response=CALL_PAGE)
async def list_calls(ctx: Ctx) -> dict[str, Any]:
    """`since`/`until` filter on when the call started; `total` counts every match."""
    return await ctx.db(call_history, ctx.principal, ctx.query)

"""The shop's people: an admin manages the operators (and fellow admins) of their own
callshop. Passwords go through `cashdesk.users` (argon2id); none is ever answered."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cashdesk.auth.passwords import WeakPassword, check_strength
from cashdesk.auth.roles import Permission, Role
from cashdesk.clock import Clock
from cashdesk.server import scope
from cashdesk.server.auth import close_open_shift, revoke_user_tokens
from cashdesk.server.errors import Conflict, Forbidden, Invalid
from cashdesk.server.routes import Ctx, RouteTable
from cashdesk.server.schema import Bool, ListOf, Obj, Secret, Str
from cashdesk.server.state import Principal
from cashdesk.server.wire import USER, user_json
from cashdesk.store.models import AuthToken, Callshop, Shift, Topup, Transaction, User
from cashdesk.users import USERNAME, UserError, create_user, set_password

routes = RouteTable("users")

SHOP_ROLES = (Role.OPERATOR.value, Role.ADMIN.value)
PASSWORD = Secret("at least 8 characters, no spaces at either end", max_len=1024)

EDITABLE = Obj({
    "display_name": Str(max_len=120, default=""),
    "role": Str("an admin can do everything an operator can, and manage the shop",
                choices=SHOP_ROLES, default=Role.OPERATOR.value),
    "active": Bool("a disabled user cannot log in", default=True),
    "language": Str("the user's screen language (en, fr, ar…); empty for the shop's",
                    max_len=20, default=""),
})

CREATE = Obj({
    "username": Str(min_len=2, max_len=64, pattern=USERNAME.pattern[1:-1],
                    pattern_help="use 2 to 64 letters, digits, '.', '_', '@' or '-'"),
    "password": PASSWORD,
    **EDITABLE.fields,
})


def _check_password(password: str) -> None:
    try:
        check_strength(password)
    except WeakPassword as exc:
        raise Invalid(f"password: {exc}", field="password") from None


@routes.get("/users", Permission.MANAGE_OPERATORS, "List the shop's users",
            response=ListOf(USER))
async def list_users(ctx: Ctx) -> list[dict[str, Any]]:
    def work(session: Session, shop_id: int) -> list[dict[str, Any]]:
        users = session.scalars(select(User).where(User.callshop_id == shop_id)
                                .order_by(User.username))
        return [user_json(user) for user in users]

    return await ctx.db(work, ctx.shop_id)


@routes.post("/users", Permission.MANAGE_OPERATORS, "Add an operator or admin",
             request=CREATE, response=USER, status=201)
async def create_shop_user(ctx: Ctx) -> dict[str, Any]:
    _check_password(ctx.body["password"])
    clock = ctx.clock

    def work(session: Session, shop_id: int, body: dict[str, Any]) -> dict[str, Any]:
        shop = session.get_one(Callshop, shop_id)
        if session.scalar(select(User.id).where(User.username == body["username"])):
            raise Conflict(f"the username {body['username']!r} is taken", field="username")
        try:
            user = create_user(session, clock, username=body["username"],
                               password=body["password"], role=Role(body["role"]),
                               reseller_id=shop.reseller_id, callshop=shop,
                               display_name=body["display_name"], language=body["language"])
        except UserError as exc:
            raise Invalid(str(exc)) from None
        user.active = body["active"]
        return user_json(user)

    return await ctx.db(work, ctx.shop_id, ctx.body)


@routes.get("/users/{user_id}", Permission.MANAGE_OPERATORS, "One user of the shop",
            response=USER)
async def get_user(ctx: Ctx) -> dict[str, Any]:
    def work(session: Session, shop_id: int, user_id: int) -> dict[str, Any]:
        return user_json(scope.shop_user(session, shop_id, user_id))

    return await ctx.db(work, ctx.shop_id, ctx.params["user_id"])


def _update(session: Session, clock: Clock, principal: Principal, user_id: int,
            body: dict[str, Any]) -> dict[str, Any]:
    assert principal.callshop_id is not None
    user = scope.shop_user(session, principal.callshop_id, user_id)
    if user.id == principal.user_id:
        if body.get("active") is False:
            raise Forbidden("you cannot disable your own account")
        if body.get("role", user.role.value) != user.role.value:
            raise Forbidden("you cannot change your own role")
    if "role" in body:
        body = {**body, "role": Role(body["role"])}
    was_active, old_role = user.active, user.role
    for name, value in body.items():
        setattr(user, name, value)
    if (was_active and not user.active) or user.role != old_role:
        # Disabled means out now, not at the token's expiry; a new role starts with a
        # new login (an operator's login is what opens their shift).
        now = clock.now()
        revoke_user_tokens(session, user.id, now)
        close_open_shift(session, user.id, now)
    session.flush()
    return user_json(user)


@routes.patch("/users/{user_id}", Permission.MANAGE_OPERATORS,
              "Change a user (disabling or changing the role logs them out)",
              request=EDITABLE.partial(), response=USER)
async def update_user(ctx: Ctx) -> dict[str, Any]:
    return await ctx.db(_update, ctx.clock, ctx.principal, ctx.params["user_id"], ctx.body)


@routes.post("/users/{user_id}/password", Permission.MANAGE_OPERATORS,
             "Set a user's password (logs them out elsewhere)",
             request=Obj({"password": PASSWORD}), response=USER)
async def set_user_password(ctx: Ctx) -> dict[str, Any]:
    _check_password(ctx.body["password"])
    now = ctx.now()

    def work(session: Session, principal: Principal, user_id: int,
             password: str) -> dict[str, Any]:
        assert principal.callshop_id is not None
        user = scope.shop_user(session, principal.callshop_id, user_id)
        set_password(user, password)
        # Whoever knew the old password is logged out; the admin's own session stays.
        revoke_user_tokens(session, user.id, now, keep_token_id=principal.token_id)
        return user_json(user)

    return await ctx.db(work, ctx.principal, ctx.params["user_id"], ctx.body["password"])


@routes.delete("/users/{user_id}", Permission.MANAGE_OPERATORS,
               "Delete a user who has no history")
async def delete_user(ctx: Ctx) -> None:
    """A user who worked shifts or took payments stays for the records: disable them."""
    def work(session: Session, principal: Principal, user_id: int) -> None:
        assert principal.callshop_id is not None
        user = scope.shop_user(session, principal.callshop_id, user_id)
        if user.id == principal.user_id:
            raise Forbidden("you cannot delete your own account")
        for model, column, what in ((Shift, Shift.operator_id, "shifts"),
                                    (Transaction, Transaction.operator_id, "payments"),
                                    (Topup, Topup.recorded_by, "top-ups")):
            count = session.scalar(select(func.count()).select_from(model)
                                   .where(column == user.id))
            if count:
                raise Conflict(f"{user.username!r} has {count} {what} in the records; "
                               "disable the account instead (active=false)")
        for token in session.scalars(select(AuthToken).where(AuthToken.user_id == user.id)):
            session.delete(token)
        session.flush()
        session.delete(user)

    await ctx.db(work, ctx.principal, ctx.params["user_id"])

"""Logging in and out, and the one middleware that checks every request.

A login answers an opaque bearer token: 32 random bytes, URL-safe. Only its SHA-256
is stored (`AuthToken`), so a copy of the database logs nobody in. An operator's login
opens their shift (or picks up the one still open) and their logout closes it.

`auth_middleware` looks up the declared route (`cashdesk.server.routes`) of every
request and refuses it with 401 (no valid token) or 403 (the role lacks the route's
permission, per `cashdesk.auth.roles.PERMISSIONS`) before any handler runs.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cashdesk.auth.roles import PERMISSIONS, Permission, Role, allowed
from cashdesk.clock import Clock
from cashdesk.server.errors import ApiError, Forbidden, TooManyAttempts, Unauthorized
from cashdesk.server.routes import AUTHENTICATED, PUBLIC, Ctx, RouteTable
from cashdesk.server.schema import Bool, Int, ListOf, Obj, Secret, Str, Timestamp
from cashdesk.server.state import CLOCK, PRINCIPAL, ROUTES, THROTTLE, Principal, run_db
from cashdesk.server.wire import SHOP_SUMMARY, USER, shop_summary_json, timestamp, user_json
from cashdesk.store.models import AuthToken, Callshop, Shift, User
from cashdesk.users import authenticate

log = logging.getLogger("cashdesk.server.auth")
routes = RouteTable("auth")

TOKEN_BYTES = 32
MAX_TOKEN_LENGTH = 200


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# --- tokens and shifts ---------------------------------------------------------------

def open_shift(session: Session, user: User, now: datetime) -> Shift:
    """The operator's open shift, opened now if there is none."""
    shift = session.scalar(select(Shift).where(Shift.operator_id == user.id,
                                               Shift.closed_at.is_(None)))
    if shift is not None:
        return shift
    assert user.callshop_id is not None
    try:
        with session.begin_nested():
            shift = Shift(callshop_id=user.callshop_id, operator_id=user.id, opened_at=now)
            session.add(shift)
    except IntegrityError:
        # Two logins of the same operator at once: the other one opened it.
        shift = session.scalar(select(Shift).where(Shift.operator_id == user.id,
                                                   Shift.closed_at.is_(None)))
        assert shift is not None
    return shift


def issue_token(session: Session, user: User, now: datetime,
                ttl: timedelta) -> tuple[str, AuthToken]:
    """A new login for `user`: the bearer token (shown once) and its stored row."""
    shift = open_shift(session, user, now) if user.role is Role.OPERATOR else None
    token = secrets.token_urlsafe(TOKEN_BYTES)
    row = AuthToken(token_hash=hash_token(token), user_id=user.id,
                    callshop_id=user.callshop_id, shift_id=shift.id if shift else None,
                    created_at=now, expires_at=now + ttl)
    session.add(row)
    session.flush()
    return token, row


def revoke_user_tokens(session: Session, user_id: int, now: datetime,
                       *, keep_token_id: int | None = None) -> int:
    """Log a user out everywhere (password reset, account disabled)."""
    tokens = session.scalars(select(AuthToken).where(AuthToken.user_id == user_id,
                                                     AuthToken.revoked_at.is_(None)))
    count = 0
    for token in tokens:
        if token.id != keep_token_id:
            token.revoked_at = now
            count += 1
    return count


def close_open_shift(session: Session, user_id: int, now: datetime) -> int | None:
    shift = session.scalar(select(Shift).where(Shift.operator_id == user_id,
                                               Shift.closed_at.is_(None)))
    if shift is None:
        return None
    shift.closed_at = now
    return shift.id


def load_principal(session: Session, token_hash: str, now: datetime) -> Principal:
    """The principal behind a token, or a 401/403 saying exactly why not."""
    row = session.execute(select(AuthToken, User).join(User, User.id == AuthToken.user_id)
                          .where(AuthToken.token_hash == token_hash)).first()
    if row is None:
        raise Unauthorized("the token is not valid; log in again")
    token, user = row
    if token.revoked_at is not None:
        raise Unauthorized("this login has ended (logged out); log in again")
    if token.expires_at <= now:
        raise Unauthorized("this login has expired; log in again")
    if not user.active:
        raise Unauthorized("this account is disabled")
    if user.callshop_id is not None:
        shop = session.get_one(Callshop, user.callshop_id)
        if not shop.active:
            raise Forbidden(f"the callshop {shop.name!r} is disabled; ask your reseller")
    return Principal(user_id=user.id, username=user.username, role=user.role,
                     reseller_id=user.reseller_id, callshop_id=user.callshop_id,
                     token_id=token.id, shift_id=token.shift_id, expires_at=token.expires_at)


def bearer_token(request: web.Request, *, allow_query: bool) -> str:
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _, token = header.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("the Authorization header must be 'Bearer <token>'")
    elif allow_query and request.query.get("token"):
        token = request.query["token"]
    else:
        raise Unauthorized("log in first: this endpoint needs a bearer token "
                           "(Authorization: Bearer <token>)")
    if len(token) > MAX_TOKEN_LENGTH:
        raise Unauthorized("the token is not valid; log in again")
    return token


class UndeclaredRoute(ApiError):
    status = 500
    code = "undeclared_route"


@web.middleware
async def auth_middleware(request: web.Request,
                          handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                          ) -> web.StreamResponse:
    if request.match_info.http_exception is not None:
        return await handler(request)  # no such route or method: a plain 404/405
    route = request.app[ROUTES].get(request.match_info.route)
    if route is None:
        # Deny by default: something reached the router without a declaration.
        log.error("refused %s %s: the route declares no permission",
                  request.method, request.path)
        raise UndeclaredRoute("this endpoint declares no permission and is refused")
    if route.access is PUBLIC:
        return await handler(request)
    token = bearer_token(request, allow_query=route.token_in_query)
    clock: Clock = request.app[CLOCK]
    principal = await run_db(request.app, load_principal, hash_token(token), clock.now(),
                             read_only=True)
    permission = route.permission
    if permission is not None and not allowed(principal.role, permission):
        log.info("refused %s %s to %s (%s): needs %s", request.method, request.path,
                 principal.username, principal.role.value, permission.value)
        raise Forbidden(f"your role ({principal.role.value}) may not do this: it needs "
                        f"the permission {permission.value!r}")
    request[PRINCIPAL] = principal
    return await handler(request)


# --- endpoints ----------------------------------------------------------------------

LOGIN = Obj({
    "username": Str(min_len=1, max_len=64),
    "password": Secret(max_len=1024),
})

LOGIN_ANSWER = Obj({
    "token": Str("the bearer token; send it as 'Authorization: Bearer <token>'"),
    "expires_at": Timestamp(),
    "user": Obj({
        "id": Int(), "username": Str(), "display_name": Str(), "role": Str(),
        "callshop_id": Int(nullable=True),
    }),
    "shift_id": Int("the operator's open shift; null for admins and resellers",
                    nullable=True),
})


def _login(session: Session, username: str, password: str, now: datetime,
           ttl: timedelta) -> dict[str, Any] | None:
    user = authenticate(session, username, password)
    if user is None:
        return None
    if user.callshop_id is not None:
        shop = session.get_one(Callshop, user.callshop_id)
        if not shop.active:
            raise Forbidden(f"the callshop {shop.name!r} is disabled; ask your reseller")
    token, row = issue_token(session, user, now, ttl)
    return {
        "token": token,
        "expires_at": timestamp(row.expires_at),
        "user": {"id": user.id, "username": user.username,
                 "display_name": user.display_name, "role": user.role.value,
                 "callshop_id": user.callshop_id},
        "shift_id": row.shift_id,
    }


@routes.post("/auth/login", PUBLIC, "Log in with a username and password",
             request=LOGIN, response=LOGIN_ANSWER)
async def login(ctx: Ctx) -> dict[str, Any]:
    """Answers a bearer token. An operator's login opens their shift (or picks up the
    one still open). After 5 failed attempts for a username or from an address, each
    further attempt must wait twice as long (429 with Retry-After)."""
    username: str = ctx.body["username"]
    address = ctx.request.remote or "unknown"
    keys = (f"user:{username.lower()}", f"addr:{address}")
    throttle = ctx.app[THROTTLE]
    wait = throttle.retry_after(keys)
    if wait:
        log.warning("login for %r from %s refused: too many failures, %d s to wait",
                    username, address, wait)
        raise TooManyAttempts(f"too many failed logins; try again in {wait} s", wait)
    answer = await ctx.db(_login, username, ctx.body["password"], ctx.now(),
                          ctx.config.token_ttl)
    if answer is None:
        throttle.failed(keys)
        log.warning("failed login for %r from %s (%d failures for the name, %d from the "
                    "address)", username, address, throttle.failures(keys[0]),
                    throttle.failures(keys[1]))
        raise Unauthorized("wrong username or password")
    throttle.succeeded(keys)
    log.info("%s logged in from %s", username, address)
    return answer


def _logout(session: Session, principal: Principal, now: datetime) -> dict[str, Any]:
    token = session.get_one(AuthToken, principal.token_id)
    token.revoked_at = now
    closed = False
    if token.shift_id is not None:
        # The same operator may still be logged in at another desk on the same shift.
        others = session.scalar(select(func.count()).select_from(AuthToken).where(
            AuthToken.shift_id == token.shift_id, AuthToken.id != token.id,
            AuthToken.revoked_at.is_(None), AuthToken.expires_at > now))
        shift = session.get_one(Shift, token.shift_id)
        if not others and shift.closed_at is None:
            shift.closed_at = now
            closed = True
    return {"shift_id": token.shift_id, "shift_closed": closed}


@routes.post("/auth/logout", AUTHENTICATED, "Log out (ends an operator's shift)",
             response=Obj({"shift_id": Int(nullable=True), "shift_closed": Bool()}))
async def logout(ctx: Ctx) -> dict[str, Any]:
    """Revokes this token. An operator's shift is closed unless they are still logged
    in elsewhere on it."""
    answer = await ctx.db(_logout, ctx.principal, ctx.now())
    log.info("%s logged out%s", ctx.principal.username,
             " and closed their shift" if answer["shift_closed"] else "")
    return answer


ME = Obj({
    "user": USER,
    "callshop": Obj(SHOP_SUMMARY.fields, "the user's callshop; null for a reseller",
                    nullable=True),
    "reseller_id": Int(),
    "shift_id": Int(nullable=True),
    "expires_at": Timestamp(),
    "permissions": ListOf(Str(choices=tuple(p.value for p in Permission)),
                          "what this user may do; the server checks it on every request"),
})


def _me(session: Session, principal: Principal) -> dict[str, Any]:
    user = session.get_one(User, principal.user_id)
    shop = session.get(Callshop, user.callshop_id) if user.callshop_id is not None else None
    return {
        "user": user_json(user),
        "callshop": shop_summary_json(shop) if shop is not None else None,
        "reseller_id": user.reseller_id,
        "shift_id": principal.shift_id,
        "expires_at": timestamp(principal.expires_at),
        "permissions": sorted(p.value for p in PERMISSIONS[principal.role]),
    }


@routes.get("/me", AUTHENTICATED, "Who is logged in, and what they may do", response=ME)
async def me(ctx: Ctx) -> dict[str, Any]:
    return await ctx.db(_me, ctx.principal)

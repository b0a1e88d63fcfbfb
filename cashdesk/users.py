"""Users of the cash desk: creating them and checking their passwords."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from cashdesk.auth.passwords import DUMMY_HASH, hash_password, needs_rehash, verify_password
from cashdesk.auth.roles import Role
from cashdesk.clock import Clock
from cashdesk.store.models import Callshop, User

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{1,63}$")


class UserError(ValueError):
    pass


def create_user(session: Session, clock: Clock, *, username: str, password: str, role: Role,
                reseller_id: int, callshop: Callshop | None = None,
                display_name: str = "", language: str = "") -> User:
    """Add a user. Resellers belong to no shop; admins and operators to exactly one."""
    username = username.strip()
    if not USERNAME.match(username):
        raise UserError("a username is 2 to 64 letters, digits, '.', '_', '@' or '-'")
    if (role is Role.RESELLER) != (callshop is None):
        raise UserError("resellers belong to no shop; admins and operators to one shop")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise UserError(f"the username {username!r} is taken")
    user = User(username=username, password_hash=hash_password(password), role=role,
                reseller_id=reseller_id, callshop_id=callshop.id if callshop else None,
                display_name=display_name or username, language=language,
                active=True, created_at=clock.now())
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with these credentials, or None. Same cost for unknown names."""
    user = session.scalar(select(User).where(User.username == username.strip()))
    if user is None:
        verify_password(DUMMY_HASH, password)
        return None
    if not verify_password(user.password_hash, password) or not user.active:
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def set_password(user: User, password: str) -> None:
    user.password_hash = hash_password(password)

"""Cabin sessions: the unpaid calls of one customer in one cabin.

A call joins its cabin's open session, and a session is open until it is paid. The
database allows one open session per cabin (a partial unique index); the functions
here lock that row, so a call never joins a session that a payment is closing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, bindparam, case, func, insert, select, type_coerce
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cashdesk.call_state import LIVE_STATES
from cashdesk.clock import Clock
from cashdesk.ledger.errors import LedgerError, TrainingMismatch
from cashdesk.money import Money
from cashdesk.store.models import Cabin, CabinSession, Call, Callshop


def open_session_for(session: Session, clock: Clock, cabin: Cabin, *,
                     training: bool = False) -> CabinSession:
    """The cabin's open session, locked; a new one (with `training`) if there is none."""
    current = _locked_open_session(session, cabin.id)
    if current is not None:
        return current
    fresh = CabinSession(callshop_id=cabin.callshop_id, cabin_id=cabin.id,
                         opened_at=clock.now(), training=training)
    try:
        # A savepoint, because on PostgreSQL a concurrent writer may open the cabin's
        # session first: the unique index then refuses ours and we join theirs.
        with session.begin_nested():
            session.add(fresh)
            session.flush()
    except IntegrityError:
        current = _locked_open_session(session, cabin.id)
        if current is None:
            raise
        return current
    return fresh


def attach_call(session: Session, clock: Clock, call: Call) -> CabinSession:
    """Put `call` into its cabin's open session (opening one if none) and return it.

    Idempotent: a call already in a session stays there. A training call cannot join a
    real customer's session nor a real call a training one (`TrainingMismatch`): the
    payment of a session is either practice or real cash, never both.
    """
    if call.session_id is not None:
        return session.get_one(CabinSession, call.session_id)
    cabin = session.get_one(Cabin, call.cabin_id)
    if cabin.callshop_id != call.callshop_id:
        raise LedgerError(f"call {call.id} and cabin {cabin.name!r} belong to different shops")
    call.session_id = join_open_session(session, clock, cabin.id,
                                        callshop_id=cabin.callshop_id,
                                        training=call.training)
    session.flush()
    return session.get_one(CabinSession, call.session_id)


_OPEN_SESSION = (select(CabinSession.id, CabinSession.training)
                 .where(CabinSession.cabin_id == bindparam("cabin"),
                        CabinSession.closed_at.is_(None))
                 .with_for_update())


_OPEN_NEW_SESSION = insert(CabinSession).returning(CabinSession.id)


def join_open_session(session: Session, clock: Clock, cabin_id: int, *, callshop_id: int,
                      training: bool) -> int:
    """The id of the cabin's open session, locked, for a call that is (or is not) a
    training call; a new session if none is open. `attach_call` without ORM objects,
    for the call tracker, which then writes the call's `session_id` itself."""
    db = session.connection()
    row = db.execute(_OPEN_SESSION, {"cabin": cabin_id}).first()
    if row is None:
        opening = {"callshop_id": callshop_id, "cabin_id": cabin_id, "opened_at": clock.now(),
                   "training": training}
        if db.dialect.name == "sqlite":
            # SQLite's writers run one at a time (BEGIN IMMEDIATE): nobody can open the
            # cabin's session between our look and our insert.
            return db.execute(_OPEN_NEW_SESSION, opening).scalar_one()
        try:
            # A savepoint, as in `open_session_for`: on PostgreSQL a concurrent writer
            # may open the cabin's session first; we then join theirs.
            with session.begin_nested():
                session_id = db.execute(_OPEN_NEW_SESSION, opening).scalar_one()
            return session_id
        except IntegrityError:
            row = db.execute(_OPEN_SESSION, {"cabin": cabin_id}).first()
            if row is None:
                raise
    session_id, session_training = row
    if session_training != training:
        name = session.get_one(Cabin, cabin_id).name
        what = "a training call" if training else "a real call"
        which = "a training session" if session_training else "a customer's session"
        raise TrainingMismatch(f"{what} cannot join {which} in cabin {name!r}; "
                               f"pay or close the cabin's session first")
    return session_id


@dataclass(frozen=True, slots=True)
class SessionFigures:
    """A session and the figures a desk shows for it, as stored now."""

    id: int
    callshop_id: int
    cabin_id: int
    training: bool
    opened_at: datetime
    due_sub_units: int   # the answered calls' prices (see `calls_due`)
    calls: int
    live_calls: int


_FIGURES = (select(CabinSession.id, CabinSession.callshop_id, CabinSession.cabin_id,
                   CabinSession.training, CabinSession.opened_at,
                   # Sub-units as stored (BIGINT): the sum is exact on both databases.
                   func.coalesce(func.sum(case((Call.answered_at.is_not(None),
                                                type_coerce(Call.price, BigInteger)),
                                               else_=0)), 0).label("due"),
                   func.count(Call.id).label("calls"),
                   # One comparison per state, not IN (…): an IN list is rendered
                   # again at every execution.
                   func.coalesce(func.sum(case(*((Call.state == state, 1)
                                                 for state in sorted(LIVE_STATES)),
                                               else_=0)), 0).label("live"))
            .outerjoin(Call, Call.session_id == CabinSession.id)
            .where(CabinSession.id == bindparam("session"))
            .group_by(CabinSession.id, CabinSession.callshop_id, CabinSession.cabin_id,
                      CabinSession.training, CabinSession.opened_at))


def session_figures(session: Session, session_ids: Iterable[int]) -> list[SessionFigures]:
    """Each session's total due and call counts (one statement each), by id."""
    db = session.connection()
    figures = []
    for session_id in sorted(set(session_ids)):
        row = db.execute(_FIGURES, {"session": session_id}).first()
        if row is not None:
            figures.append(SessionFigures(row.id, row.callshop_id, row.cabin_id, row.training,
                                          row.opened_at, int(row.due), int(row.calls),
                                          int(row.live)))
    return figures


def session_calls(session: Session, cabin_session: CabinSession) -> list[Call]:
    """The session's calls as stored now, oldest first."""
    return list(session.scalars(select(Call).where(Call.session_id == cabin_session.id)
                                .order_by(Call.started_at, Call.id)
                                .execution_options(populate_existing=True)))


def calls_due(calls: Iterable[Call], currency: str) -> Money:
    """Sum of the prices of `calls`. A call never answered costs the customer nothing,
    whatever its price column says."""
    total = Money.zero(currency)
    for call in calls:
        if call.answered_at is not None:
            total = total + Money(call.price, currency)
    return total


def session_due(session: Session, cabin_session: CabinSession) -> Money:
    """What the customer owes for the session: the sum of its answered calls' prices."""
    currency = session.scalar(select(Callshop.currency)
                              .where(Callshop.id == cabin_session.callshop_id))
    if currency is None:
        raise LedgerError(f"session {cabin_session.id} belongs to no known callshop")
    return calls_due(session_calls(session, cabin_session), currency)


def _locked_open_session(session: Session, cabin_id: int) -> CabinSession | None:
    return session.scalar(select(CabinSession)
                          .where(CabinSession.cabin_id == cabin_id,
                                 CabinSession.closed_at.is_(None))
                          .with_for_update()
                          .execution_options(populate_existing=True))

"""The call tracker: PBX events in, CDRs, charges, cabin sessions and cuts out.

Each call moves `dialing → ringing → answered → ended | failed | cut` along
`call_state.TRANSITIONS`. PBX events arrive duplicated and out of order, so the tracker
is idempotent on `(pbx_call_id, kind)`: a move the table does not allow is ignored
(a second `ended` changes nothing, a late `ringing` after `answered` is dropped), an
event for a call not started yet waits a little for its `started` (then is replayed,
or logged and dropped), and an event for a call already over is dropped — except
one saying the call is up, which is answered with a cut: fail closed.

At the end of an answered call the CDR gets its billed seconds and price (sell), cost
(buy) and provider cost, each from the one pricing function `charge()` over the same
millisecond duration the prepaid guard reserved for; then the ledger charges the
prepaid levels and the call stays in its cabin's session (joined at answer). Every
change is committed before anything is announced (`on_change`) or sent to the PBX
(`on_command`) — except the guard's cuts at an exhaustion instant, which go to the PBX
first: they must act now, and a cut costs nothing; and, with `announce_live`, a live
call's move (dialing, ringing, answered) as soon as its event is applied: that is the
PBX's news, not money, and the desk shows it as it happens rather than after the rest
of the batch and the commit; with `show_from_memory`, even before its event is applied
(a start from its authorisation, without its row's id). What a call cost, a session
owes and a balance holds is announced once stored.

Memory runs ahead of the database inside a transaction; if the transaction fails as a
whole (its commit: a disk error, the database gone), memory is read again from the
database as at a start, keeping the authorisations the PBX was given, and its events
are kept (`missed`): the next transaction applies them first, before the guard decides
any cut on the memory read (which does not know them yet).

The tracker owns the prepaid guard and feeds it; neither is thread-safe. The server
runs every method in one writer thread, keeping database work short and synchronous;
`on_change` and `on_command` are called in that thread and must only hand over. The
exceptions are `authorise_from_memory` and `show_from_memory`, which another thread
may call while it holds the lock the writer holds for every other method — except
inside `at_rest`, entered around an event's statements and each commit, only where
the tracker's memory is whole: every call the guard holds credit for is authorised or
live (a call starting stays authorised until it is live), so only the database is
busy meanwhile.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Any, NamedTuple, Protocol

from sqlalchemy import Engine, bindparam, insert, select, update
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

from cashdesk.call_state import LIVE_STATES, CallState, can_move
from cashdesk.calls.authorisation import (
    BudgetSpec,
    Place,
    RatedCall,
    Refusal,
    account_budgets,
    find_place,
    find_places_of_shop,
    rate_call,
    rate_found,
    rate_place,
    rate_stored_call,
)
from cashdesk.calls.changes import BalanceUpdated, CallSnapshot, CallUpdated, Change, SessionUpdated
from cashdesk.calls.places import PlaceBook
from cashdesk.clock import Clock
from cashdesk.ledger.accounts import debit_call
from cashdesk.ledger.errors import InsufficientCredit
from cashdesk.ledger.sessions import attach_call, join_open_session, session_figures
from cashdesk.money import Money, from_sub_units, minor_unit_sub_units
from cashdesk.pbx.bridge import (
    Authorisation,
    AuthorisationRequest,
    BridgeCommand,
    Cut,
    CutReason,
    LiveCall,
    RefusalReason,
    SetBackstop,
    backstop_seconds,
)
from cashdesk.pbx.events import (
    CallAnswered,
    CallEnded,
    CallFailed,
    CallRinging,
    CallStarted,
    EventKind,
    PbxEvent,
)
from cashdesk.prepaid.guard import BudgetKind, GuardCut, PrepaidGuard
from cashdesk.prepaid.timeline import epoch_ms, from_epoch_ms
from cashdesk.rating.pricing import charge
from cashdesk.rating.rater import Rater
from cashdesk.store.models import Account, Call, Callshop
from cashdesk.store.prepared import PreparedStatements

log = logging.getLogger(__name__)

#: How long an event for a call not started yet waits for its `started`.
ORPHAN_TTL_MS = 30_000
#: How many finished calls are remembered, to drop their late duplicates cheaply.
FINISHED_MEMORY = 20_000
#: An authorisation whose call never started is forgotten after this long.
AUTHORISATION_TTL_MS = 180_000
#: Backstop updates go out at most this often (ms). Each needs the exact cut instant
#: of every budget that changed, and under load (hundreds of calls, dozens of new ones
#: a second) searching after every single event would cost more than all the rest;
#: a backstop only matters if the server dies, and 200 ms late is still a backstop.
BACKSTOP_INTERVAL_MS = 200

_ORDER = {EventKind.STARTED: 0, EventKind.RINGING: 1, EventKind.ANSWERED: 2,
          EventKind.FAILED: 3, EventKind.ENDED: 4}


@dataclass
class _Live:
    """What the tracker keeps in memory about a call that is not over."""

    call_id: int
    rated: RatedCall
    #: The call as last committed and announced: every move is written with one
    #: UPDATE of the columns it changes and announced without reading the call back.
    snapshot: CallSnapshot
    answered_ms: int | None = None
    #: The call as the desks were last shown it, when that is ahead of `snapshot`
    #: (`show_from_memory`); None: as `snapshot`.
    shown: CallSnapshot | None = None

    @property
    def state(self) -> CallState:
        return self.snapshot.state


class _Authorised(NamedTuple):
    """A call allowed and not started yet: the rates its authorisation used and when.
    One decided from memory keeps what was asked: its place is read again when it
    starts."""

    rated: RatedCall
    at_ms: int
    asked: AuthorisationRequest | None = None     # decided from memory


class AuthorisationQueue(Protocol):
    """Authorisations waiting for a decision (see `CallTracker.handle_many`)."""

    def take(self) -> list[AuthorisationRequest]:
        """Every request waiting now, oldest first (none: an empty list)."""
        ...

    def answer(self, decisions: list[Authorisation | BaseException]) -> None:
        """The decisions on the requests the last `take` returned, in their order (an
        exception: that request could not be decided)."""
        ...


@dataclass(frozen=True)
class ReconcileReport:
    """What `reconcile` did, by PBX call id."""

    recovered: tuple[str, ...] = ()   # known here and up at the PBX: billing continues
    adopted: tuple[str, ...] = ()     # up at the PBX, unknown here, but billable: taken over
    closed: tuple[str, ...] = ()      # thought live here, gone from the PBX: closed
    cut: tuple[str, ...] = ()         # up at the PBX and nobody can bill them: cut


@dataclass
class _Outbox:
    """What one operation announces once its transaction has committed."""

    changes: list[Change] = field(default_factory=list)
    commands: list[BridgeCommand] = field(default_factory=list)
    sessions: dict[int, str] = field(default_factory=dict)   # session id → its currency
    accounts: set[int] = field(default_factory=set)
    charged: set[int] = field(default_factory=set)    # accounts a call was charged to

    def mark(self) -> tuple[int, int, dict[int, str], set[int], set[int]]:
        return (len(self.changes), len(self.commands), dict(self.sessions),
                set(self.accounts), set(self.charged))

    def back_to(self, mark: tuple[int, int, dict[int, str], set[int], set[int]]) -> None:
        """Forget what was added since `mark` (an operation undone)."""
        changes, commands, self.sessions, self.accounts, self.charged = mark
        del self.changes[changes:], self.commands[commands:]


class CallTracker:
    """See the module doc."""

    def __init__(self, sessions: sessionmaker[Session], clock: Clock, rater: Rater, *,
                 guard: PrepaidGuard | None = None,
                 on_change: Callable[[Change], None] | None = None,
                 on_command: Callable[[BridgeCommand], None] | None = None) -> None:
        self._sessions = sessions
        self._clock = clock
        self.clock = clock
        self._rater = rater
        self.guard = guard if guard is not None else PrepaidGuard(clock)
        #: Called (in the writer thread) with each change once it is committed.
        self.on_change: Callable[[Change], None] = on_change or (lambda change: None)
        #: Called (in the writer thread) with each command for the PBX, after commit.
        self.on_command: Callable[[BridgeCommand], None] = on_command or (lambda command: None)
        #: Called (in the writer thread) with the guard's cuts due now, before their
        #: database work: they must reach the PBX at once (default: to `on_command`).
        self.on_cuts: Callable[[list[Cut]], None] = self._cut_one_by_one
        #: Entered around database work with memory whole — an event's statements,
        #: each commit (see the module doc): the server lets `authorise_from_memory`
        #: run meanwhile.
        self.at_rest: Callable[[], AbstractContextManager[object]] = nullcontext
        #: If set, called (in the writer thread) with each live call's move as soon as
        #: its event is applied, before the commit (see the module doc).
        self.announce_live: Callable[[list[Change]], None] | None = None
        # Where cabins call from, kept by the writer for `authorise_from_memory`.
        self.places = PlaceBook()
        bind = sessions.kw.get("bind")
        if isinstance(bind, Engine):
            self.places.watch(bind)
        self._live: dict[str, _Live] = {}
        self._authorised: dict[str, _Authorised] = {}
        # Calls whose start the desks were shown before it was stored, as shown
        # (`show_from_memory`); their `_started` takes them over.
        self._shown_early: dict[str, CallSnapshot] = {}
        # Finished calls → their final state, oldest first; bounded.
        self._finished: OrderedDict[str, CallState] = OrderedDict()
        self._refusals: OrderedDict[str, Authorisation] = OrderedDict()
        self._orphans: dict[str, list[tuple[int, PbxEvent]]] = {}
        # `ended` seen before `answered`: waits for it (reordered), or ORPHAN_TTL_MS.
        self._early_ends: dict[str, tuple[int, CallEnded]] = {}
        # When backstop updates may next go out (see BACKSTOP_INTERVAL_MS).
        self._backstops_due = 0
        # Cuts decided ahead of their instant (`take_due`), their database work left to
        # the next transaction.
        self._taken: list[GuardCut] = []
        # A transaction failed and memory could not be read again from the database
        # yet: the next one does that first (see `_failed_transaction`).
        self._memory_ahead = False
        # The events of transactions that failed, in order: the next transaction
        # applies them first (`missed`).
        self._missed: list[PbxEvent] = []

    # ------------------------------------------------------------------ start-up --
    def load(self) -> int:
        """Take over the calls the database says are live (after a start or restart):
        their rates and budgets, billing continuing from their answer time. Then call
        `reconcile` with the PBX's live calls. Returns how many calls were loaded."""
        with self._sessions.begin() as db:
            calls = db.scalars(select(Call).where(Call.state.in_(list(LIVE_STATES)))).all()
            for call in calls:
                self._recover(db, call)
            self._warm_up(db)
        return len(calls)

    def _warm_up(self, db: Session) -> None:
        """Do now what the first call after a start would otherwise wait for (tens of
        milliseconds, while its INVITE is held): Babel's currency data loaded, and the
        hot path's statements compiled, by running them where they find nothing."""
        for currency in db.scalars(select(Callshop.currency).distinct()):
            minor_unit_sub_units(currency)
        rate_call(db, self._rater, "", "")            # no cabin has an empty SIP name
        connection = db.connection()
        connection.execute(_BALANCE, {"account": 0}).first()
        session_figures(db, [0])
        now = self._clock.now()
        for moved in ({"state": CallState.RINGING, "ringing_at": now},
                      {"state": CallState.ANSWERED, "answered_at": now, "session_id": 0}):
            _UPDATE_CALL.run(connection, {"call": 0, **moved}, moved)  # ids start at 1
        # Every cabin's place and every shop's balance: even the first call after a
        # start is decided from memory.
        generation = self.places.generation
        self._keep_shops(find_places_of_shop(db), generation)

    # ---------------------------------------------------------------- the bridge --
    def authorise(self, request: AuthorisationRequest) -> Authorisation:
        """Answer a PBX asking whether to route a call (see `calls.authorisation` and
        `PrepaidGuard.authorise`). A refused call whose cabin is known is recorded as
        a failed call with the refusal's SIP code, so the desk sees why. Asking again
        for the same call gets the same answer."""
        return self.authorise_many((request,))[0]

    def authorise_many(self, requests: Iterable[AuthorisationRequest]) -> list[Authorisation]:
        """`authorise` each request in turn, in one transaction: calls set up at the
        same moment (a burst of INVITEs) are answered together, each after the ones
        before it have taken their share of the credit."""
        outbox = _Outbox()
        with self._transaction(outbox) as db:
            self._prune(db, outbox)
            return [self._authorise(db, outbox, request) for request in requests]

    def _authorise(self, db: Session, outbox: _Outbox,
                   request: AuthorisationRequest) -> Authorisation:
        key = request.pbx_call_id
        if key in self._live or key in self._authorised:
            return Authorisation.allow(self._max_duration_s(key))
        if key in self._refusals:
            return self._refusals[key]
        if key in self._finished:
            # Only an initial INVITE is authorised; a call id that is over here
            # asking again is a PBX confusion, and confusion fails closed.
            return Authorisation.refuse(RefusalReason.SERVER_UNAVAILABLE,
                                        "this call is already over")
        # What memory can allow needs no statement here either (see `calls.places`).
        remembered = self.authorise_from_memory(request)
        if remembered is not None:
            return remembered
        at = request.at or self._clock.now()
        admitted, longest = self._admit(db, key, request.sip_username, request.dialed_number)
        if isinstance(admitted, Refusal):
            self._record_refusal(db, outbox, key, admitted, request.dialed_number, at)
            decision = Authorisation.refuse(admitted.reason, admitted.detail)
            self._remember(self._refusals, key, decision)
            return decision
        self._authorised[key] = _Authorised(admitted, epoch_ms(at))
        return Authorisation.allow(None if longest is None else backstop_seconds(longest))

    def authorise_from_memory(self, request: AuthorisationRequest) -> Authorisation | None:
        """Allow a call from memory alone — the cabin's place as the writer last read
        it (`places`), the balances as the guard keeps them — or None: `authorise`
        must decide it. None for anything that needs the database: a cabin not read
        yet, a capped session (what it spent is stored), a budget the guard does not
        hold yet, a refusal (recorded for the desk), a call id seen before, memory not
        read again since a transaction failed (`_memory_ahead`). The guard's next
        deadline may have moved (the call holds its first increment)."""
        key = request.pbx_call_id
        if self._memory_ahead or key in self._live or key in self._authorised \
                or key in self._refusals or key in self._finished \
                or self.guard.is_tracking(key):
            return None
        place = self.places.get(request.sip_username)
        if place is None:
            return None
        rated = rate_place(place, self._rater, request.dialed_number)
        if not isinstance(rated, RatedCall) \
                or not all(self.guard.has_budget(spec.key) for spec in rated.budgets):
            return None
        admission = self.guard.authorise(key, rated.draws, max_call_ms=rated.max_call_ms)
        if not admission.allowed:
            return None
        at = request.at or self._clock.now()
        self._authorised[key] = _Authorised(rated, epoch_ms(at), asked=request)
        longest = admission.max_duration_ms
        return Authorisation.allow(None if longest is None else backstop_seconds(longest))

    def show_from_memory(self, event: PbxEvent,
                         after: CallState | None) -> CallUpdated | None:
        """A live call's move (dialing, ringing, answered) as the desks should see it,
        from memory, before the event is applied: the PBX's news reaches them without
        waiting for the writer, which may be busy with a burst's other events for
        milliseconds. A start is shown from the call's authorisation, without the
        id its row will have (`CallSnapshot.id` None until then). Memory is only
        read, apart from remembering what was shown: when the event is applied, its
        move is announced again only if it differs from what was shown (the id of a
        start; an answered call's session, joined then; a refused answer, cut) and is
        not behind it. `after`: the state the desks were last given (None: nothing
        yet); a move is shown only after the one announced before it (else that one
        is still on its way, and the desks would drop it as older news). None:
        nothing to show before it is applied (a call not authorised here, a move the
        call cannot make, an end waiting for its answer). Like
        `authorise_from_memory`, callable from another thread under the lock the
        writer holds."""
        key = event.pbx_call_id
        if key in self._early_ends:
            return None
        live = self._live.get(key)
        if isinstance(event, CallStarted):
            authorised = self._authorised.get(key)
            if after is not None or live is not None or key in self._shown_early \
                    or authorised is None:
                return None
            values = _new_call_values(authorised.rated, key, CallState.DIALING,
                                      event.at or self._clock.now())
            started = _new_snapshot(None, values, authorised.rated.currency)
            self._shown_early[key] = started
            return CallUpdated(started.callshop_id, started)
        shown = (live.shown or live.snapshot) if live is not None else self._shown_early.get(key)
        if shown is None or shown.state is not after:
            return None
        at = event.at or self._clock.now()
        if isinstance(event, CallRinging) and can_move(shown.state, CallState.RINGING):
            moved = replace(shown, state=CallState.RINGING, ringing_at=at)
        elif isinstance(event, CallAnswered) and can_move(shown.state, CallState.ANSWERED):
            # Whole milliseconds, as `_answered` stores it.
            moved = replace(shown, state=CallState.ANSWERED,
                            answered_at=from_epoch_ms(epoch_ms(at)))
        else:
            return None
        if live is not None:
            live.shown = moved
        else:
            self._shown_early[key] = moved
        return CallUpdated(moved.callshop_id, moved)

    def withdraw(self, pbx_call_ids: Iterable[str]) -> None:
        """Authorisations nobody waited for in the end (the PBX's timer ran out and it
        refused the calls): what they hold goes back at once, not after
        `AUTHORISATION_TTL_MS`. A call that starts anyway is authorised at its start."""
        for key in pbx_call_ids:
            if self._authorised.pop(key, None) is not None:
                self.guard.release(key)

    def handle(self, event: PbxEvent) -> None:
        """Apply one PBX event (see the module doc for duplicates and ordering)."""
        self.handle_many((event,))

    def handle_many(self, events: Iterable[PbxEvent],
                    asking: AuthorisationQueue | None = None) -> None:
        """Apply events in order in one transaction: under load the server hands over
        whatever queued up meanwhile, so one commit (one fsync on SQLite) and one
        round of backstop updates serve them all.

        With `asking`, the authorisations it holds are decided first and again after
        each event, and each decision handed over at once, before the commit: a call's
        setup is held until its answer, an allowed call writes nothing (its hold is the
        guard's, in memory), and a refusal's record is only for the desk to see. So a
        new call waits for the one event being applied, not for the whole batch."""
        outbox = _Outbox()
        pending = iter(events)
        taken: list[PbxEvent] = []
        try:
            with self._transaction(outbox) as db:
                self._prune(db, outbox)
                self._decide_waiting(db, outbox, asking)
                for event in pending:
                    taken.append(event)
                    self._apply_alone(db, outbox, event)
                    self._announce_live(outbox)
                    self._decide_waiting(db, outbox, asking)
        except Exception:
            # Rolled back, or never reached: the next transaction applies them.
            self._missed += taken
            self._missed.extend(pending)
            raise

    def _apply_alone(self, db: Session, outbox: _Outbox, event: PbxEvent) -> None:
        """`_apply` in a savepoint of the batch's transaction: an event that fails is
        dropped (logged) with its rows and its announcements, and the batch goes on.
        The events before it stay applied in memory and in the database alike (undoing
        the whole batch would leave the tracker's memory ahead of the database); the
        call of the failed one is given up (`_give_up`)."""
        self._alone(db, outbox, event.pbx_call_id, partial(self._apply, db, outbox, event),
                    "PBX event", event)

    def _cut_alone(self, db: Session, outbox: _Outbox, cut: GuardCut) -> None:
        """`_apply_cut` as `_apply_alone` applies an event: a cut that cannot be
        recorded does not fail the transaction (which would keep it for the next one,
        and fail that too)."""
        self._alone(db, outbox, cut.call, partial(self._apply_cut, db, outbox, cut),
                    "cut", cut)

    def _alone(self, db: Session, outbox: _Outbox, key: str, work: Callable[[], None],
               what: str, subject: object) -> None:
        mark = outbox.mark()
        # A plain SAVEPOINT, on the driver's own connection: the session's nested
        # transaction costs several times more, on every event, and this path writes
        # plain statements (nothing to flush).
        driver = db.connection().connection
        driver.cursor().execute("SAVEPOINT pbx_event")
        try:
            work()
            db.flush()       # an ORM row of this event (a refusal's) inside the savepoint
        except Exception:
            log.exception("%s dropped: %s; its call is hung up", what, subject)
            driver.cursor().execute("ROLLBACK TO SAVEPOINT pbx_event")
            db.expunge_all()     # its ORM rows, if any, were rolled back
            outbox.back_to(mark)
            self._give_up(outbox, key)
        driver.cursor().execute("RELEASE SAVEPOINT pbx_event")

    def _unshow(self, outbox: _Outbox, key: str) -> None:
        """A start shown from memory that was not stored after all (no call came of
        it): the desks are told it failed, so no tile keeps a call that never was."""
        shown = self._shown_early.pop(key, None)
        if shown is not None:
            gone = replace(shown, state=CallState.FAILED, ended_at=self._clock.now(),
                           hangup_reason="not recorded")
            outbox.changes.append(CallUpdated(gone.callshop_id, gone))

    def _give_up(self, outbox: _Outbox, key: str) -> None:
        """A call whose event could not be stored: what memory holds of it may be ahead
        of the database (a row rolled back, whose id the next INSERT reuses). Forget
        it, hold nothing for it, and hang it up — fail closed, as for any call nobody
        can account for. Its row, if any, is closed by the next start's reconciliation."""
        for memory in (self._live, self._authorised, self._orphans, self._early_ends):
            memory.pop(key, None)
        self._unshow(outbox, key)
        self.guard.release(key)
        self._remember(self._finished, key, CallState.FAILED)
        outbox.commands.append(Cut(key, CutReason.UNKNOWN_CALL))

    def _announce_live(self, outbox: _Outbox) -> None:
        if self.announce_live is None:
            return
        live: list[Change] = []
        stored: list[Change] = []
        for change in outbox.changes:
            is_live = isinstance(change, CallUpdated) and change.call.state.is_live
            (live if is_live else stored).append(change)
        if live:
            outbox.changes = stored
            self.announce_live(live)

    def _decide_waiting(self, db: Session, outbox: _Outbox,
                        asking: AuthorisationQueue | None) -> None:
        if asking is None:
            return
        requests = asking.take()
        if not requests:
            return
        decisions: list[Authorisation | BaseException] = []
        for request in requests:
            try:
                decisions.append(self._authorise(db, outbox, request))
            except Exception as exc:
                # Answered with the exception: its PBX refuses the call (fail closed).
                log.exception("authorisation of %s failed", request.pbx_call_id)
                decisions.append(exc)
        asking.answer(decisions)

    def _apply(self, db: Session, outbox: _Outbox, event: PbxEvent) -> None:
        key = event.pbx_call_id
        if key in self._finished:
            if isinstance(event, (CallStarted, CallAnswered)):
                # The PBX says a call is up that is over for us (cut, refused, closed):
                # hang it up again; a duplicate of an old event makes this a no-op there.
                outbox.commands.append(Cut(key, CutReason.REFUSED))
            return
        if isinstance(event, CallStarted):
            self._started(db, outbox, event)
            self._unshow(outbox, key)
            return
        live = self._live.get(key)
        if live is None:
            log.debug("event %s for call %s before its start: kept for a while",
                      event.kind.value, key)
            self._orphans.setdefault(key, []).append((self._now_ms(), event))
            return
        if isinstance(event, CallRinging):
            self._ringing(db, outbox, live, key, event)
        elif isinstance(event, CallAnswered):
            self._answered(db, outbox, live, key, event)
        elif isinstance(event, CallEnded):
            self._ended(db, outbox, live, key, event)
        elif isinstance(event, CallFailed):
            self._failed(db, outbox, live, key, event)

    # -------------------------------------------------------------------- time ----
    def next_deadline(self) -> int | None:
        """The next instant (epoch ms) `on_time` has work: a cut, a hold expiring,
        backstop updates held back (see `BACKSTOP_INTERVAL_MS`)."""
        deadline = self.guard.next_deadline()
        if self.guard.has_stale_backstops():
            due = self._backstops_due
            deadline = due if deadline is None else min(deadline, due)
        return deadline

    def next_deadline_at(self) -> datetime | None:
        deadline = self.next_deadline()
        return None if deadline is None else from_epoch_ms(deadline)

    def take_due(self, up_to_ms: int) -> list[Cut]:
        """The guard's cuts due by `up_to_ms` (at most a few milliseconds ahead), decided
        now from memory, for the caller to send to the PBX at their instant. Their
        database work is left to the next transaction (`on_time`, or whatever comes
        first), which records them at their instant. Memory only: a fraction of a
        millisecond, so it can be done before the instant rather than at it."""
        due = self.guard.due(max(up_to_ms, self._now_ms()))
        self._taken += due
        return [Cut(cut.call, cut.reason) for cut in due]

    def on_time(self) -> None:
        """Carry out what is due now: cut the calls of exhausted budgets at their
        exhaustion instant, calls at their maximum duration."""
        outbox = _Outbox()
        with self._transaction(outbox) as db:
            self._prune(db, outbox)

    # ---------------------------------------------------------- other commands ----
    def cut(self, pbx_call_id: str, reason: CutReason = CutReason.OPERATOR) -> bool:
        """End a call now on the server's initiative (a cashier's hang-up button).
        Billed up to now. False when the call is not live."""
        outbox = _Outbox()
        with self._transaction(outbox) as db:
            live = self._live.get(pbx_call_id)
            if live is None:
                return False
            self._close(db, outbox, pbx_call_id, live, self._now_ms(), CallState.CUT,
                        reason.value)
            outbox.commands.append(Cut(pbx_call_id, reason))
            return True

    def refresh_balances(self, account_ids: Iterable[int]) -> None:
        """A top-up (or correction) was committed elsewhere: take the stored balances
        of these accounts, so the cut of running calls moves, and announce them."""
        outbox = _Outbox()
        with self._transaction(outbox):
            # Announcing the accounts also hands their stored balances to the guard.
            outbox.accounts.update(account_ids)

    def reconcile(self, live_calls: Iterable[LiveCall], *, lost_at: datetime | None = None,
                  scope: Callable[[str], bool] | None = None) -> ReconcileReport:
        """Rebuild state from the PBX's own list of live calls, after a restart
        (`load` first) or a bridge reconnect:

        - live here and at the PBX: recovered, billing continues from the answer time
          (an answer the PBX reports and we missed is applied);
        - live here, gone from the PBX: closed — ended (billed) if answered, failed if
          not — at the best known time: `lost_at` (when the bridge lost the PBX: the
          call was up then, and its end is unknown) or else now, and never after the
          call's own deadline (its backstop would have ended it then);
        - at the PBX, unknown here: adopted when it can be billed (known cabin, rates,
          no fraud rule against it; the guard may then cut it at once, billing only
          what the budgets could pay), cut otherwise; a call that is over here but
          still up there is cut again.

        `scope` limits the closing to the calls it accepts (by PBX call id): the calls
        of the one PBX whose list this is, when the server has several.
        """
        outbox = _Outbox()
        recovered, adopted, closed, cut = [], [], [], []
        pbx = {call.pbx_call_id: call for call in live_calls}
        now = self._now_ms()
        with self._transaction(outbox, cuts_first=False) as db:
            for key, live in list(self._live.items()):
                if scope is not None and not scope(key):
                    continue
                seen = pbx.get(key)
                if seen is None:
                    end = now if lost_at is None else min(now, epoch_ms(lost_at))
                    deadline = self.guard.deadline_of(key)
                    if deadline is not None:
                        end = min(end, deadline)
                    if live.answered_ms is not None:
                        end = max(end, live.answered_ms)
                        self._close(db, outbox, key, live, end, CallState.ENDED,
                                    "lost: not live at the PBX")
                    else:
                        self._close(db, outbox, key, live, end, CallState.FAILED,
                                    "lost: not live at the PBX")
                    closed.append(key)
                    continue
                if live.answered_ms is None and seen.answered_at is not None:
                    self._answered(db, outbox, live, key,
                                   CallAnswered(key, at=seen.answered_at))
                recovered.append(key)
            unknown = [key for key in pbx if key not in self._live]
            stored = {key for (key,) in db.execute(
                select(Call.pbx_call_id).where(Call.pbx_call_id.in_(unknown)))} \
                if unknown else set()
            for key in unknown:
                seen = pbx[key]
                if key in stored or key in self._finished:
                    log.warning("call %s is over here but still up at the PBX: cut again", key)
                    outbox.commands.append(Cut(key, CutReason.UNKNOWN_CALL))
                    cut.append(key)
                    continue
                if self._adopt(db, outbox, seen):
                    adopted.append(key)
                else:
                    outbox.commands.append(Cut(key, CutReason.UNKNOWN_CALL))
                    self._authorised.pop(key, None)
                    self.guard.release(key)
                    cut.append(key)
            self._fire_due(db, outbox)
        return ReconcileReport(tuple(recovered), tuple(adopted), tuple(closed), tuple(cut))

    # ------------------------------------------------------------- what is live ---
    def live_calls(self) -> list[str]:
        return list(self._live)

    def is_live(self, pbx_call_id: str) -> bool:
        return pbx_call_id in self._live

    def call_id(self, pbx_call_id: str) -> int | None:
        live = self._live.get(pbx_call_id)
        return live.call_id if live is not None else None

    # ---------------------------------------------------------------- events -----
    def _started(self, db: Session, outbox: _Outbox, event: CallStarted) -> None:
        key = event.pbx_call_id
        if key in self._live:
            return
        at = event.at or self._clock.now()
        # The call stays authorised until it is live: in memory it is always one or
        # the other, for `authorise_from_memory` during the statements (`at_rest`).
        pending = self._authorised.get(key)
        if pending is not None:
            rated: RatedCall | Refusal = pending.rated
            if pending.asked is not None:
                # Decided from memory: its place may have changed where this process
                # could not see it (see `calls.places`). Refused now, it is cut.
                asked = pending.asked
                with self.at_rest():
                    now = rate_call(db, self._rater, asked.sip_username,
                                    asked.dialed_number)
                if isinstance(now, Refusal):
                    del self._authorised[key]
                    self._shown_early.pop(key, None)     # its refusal's record ends it
                    self.guard.release(key)
                    self._remember(self._refusals, key,
                                   Authorisation.refuse(now.reason, now.detail))
                    self._record_refusal(db, outbox, key, now, asked.dialed_number, at)
                    outbox.commands.append(Cut(key, CutReason.REFUSED))
                    return
        elif key in self._refusals:
            # Refused when asked, routed anyway: the PBX must not connect it.
            outbox.commands.append(Cut(key, CutReason.REFUSED))
            return
        else:
            # Routed without asking us first (no authorisation step in this PBX's
            # dialplan): authorise now, and cut if refused.
            rated, _ = self._admit(db, key, event.sip_username, event.dialed_number)
            if isinstance(rated, Refusal):
                self._record_refusal(db, outbox, key, rated, event.dialed_number, at)
                self._remember(self._refusals, key,
                               Authorisation.refuse(rated.reason, rated.detail))
                outbox.commands.append(Cut(key, CutReason.REFUSED))
                return
        assert isinstance(rated, RatedCall)
        values = _new_call_values(rated, key, CallState.DIALING, at)
        with self.at_rest():
            call_id = _INSERT_CALL.run(db.connection(), values).fetchone()[0]
        snapshot = _new_snapshot(call_id, values, rated.currency)
        live = self._live[key] = _Live(call_id, rated, snapshot)
        self._authorised.pop(key, None)
        shown = self._shown_early.pop(key, None)
        if shown is None or not can_move(snapshot.state, shown.state):
            outbox.changes.append(CallUpdated(snapshot.callshop_id, snapshot))
        else:
            live.shown = shown      # a later move shown already: announced when applied
        # Events that overtook this one, in the order the call lives them.
        for _, early in sorted(self._orphans.pop(key, []), key=lambda item: _ORDER[item[1].kind]):
            self._apply(db, outbox, early)

    def _ringing(self, db: Session, outbox: _Outbox, live: _Live, key: str,
                 event: CallRinging) -> None:
        if not can_move(live.state, CallState.RINGING):
            return
        self._update(db, outbox, live, state=CallState.RINGING,
                     ringing_at=event.at or self._clock.now())

    def _answered(self, db: Session, outbox: _Outbox, live: _Live, key: str,
                  event: CallAnswered) -> None:
        if not can_move(live.state, CallState.ANSWERED):
            return
        at_ms = epoch_ms(event.at or self._clock.now())
        if not self.guard.is_tracking(key):
            self.guard.track(key, live.rated.draws, max_call_ms=live.rated.max_call_ms)
        refused = self.guard.answer(key, at_ms)
        if refused is not None:
            # Never connected as far as billing goes: cut at its answer, free.
            log.warning("call %s answered but its first increment can no longer be paid "
                        "(its authorisation expired or it never had one): cut", key)
            self._close(db, outbox, key, live, at_ms, CallState.CUT, refused.reason.value,
                        settled=True)
            outbox.commands.append(Cut(key, refused.reason))
            return
        # The call joins its cabin's open session as it is answered.
        session_id = live.snapshot.session_id
        if session_id is None:
            with self.at_rest():
                session_id = join_open_session(db, self._clock, live.snapshot.cabin_id,
                                               callshop_id=live.snapshot.callshop_id,
                                               training=live.snapshot.training)
        live.answered_ms = at_ms
        # Whole milliseconds, as the guard counts: durations recomputed from the CDR's
        # timestamps are then exactly the ones billed.
        self._update(db, outbox, live, state=CallState.ANSWERED,
                     answered_at=from_epoch_ms(at_ms), session_id=session_id)
        outbox.sessions[session_id] = live.rated.currency
        early = self._early_ends.pop(key, None)
        if early is not None:
            self._ended(db, outbox, live, key, early[1])

    def _ended(self, db: Session, outbox: _Outbox, live: _Live, key: str,
               event: CallEnded) -> None:
        end_ms = epoch_ms(event.at or self._clock.now())
        reason = event.reason or f"hung up by {event.hangup_by.value}"
        if live.state is CallState.ANSWERED:
            self._close(db, outbox, key, live, end_ms, CallState.ENDED, reason)
        else:
            # Bridges report a hang-up before any answer as `failed`, so the answer
            # was overtaken: wait for it (see `_prune` for when it never comes).
            self._early_ends.setdefault(key, (self._now_ms(), event))

    def _failed(self, db: Session, outbox: _Outbox, live: _Live, key: str,
                event: CallFailed) -> None:
        end_ms = epoch_ms(event.at or self._clock.now())
        reason = event.reason or f"SIP {event.sip_code}"
        if live.state is CallState.ANSWERED:
            log.warning("call %s failed (%s) after it was answered: billed as ended", key,
                        event.sip_code)
            self._close(db, outbox, key, live, end_ms, CallState.ENDED, reason)
        else:
            self._close(db, outbox, key, live, end_ms, CallState.FAILED, reason,
                        sip_code=event.sip_code)

    # ---------------------------------------------------------------- closing ----
    def _close(self, db: Session, outbox: _Outbox, key: str, live: _Live, end_ms: int,
               state: CallState, reason: str, *, sip_code: int | None = None,
               settled: bool = False) -> None:
        """Finish a call: bill it if it was answered (up to `end_ms`, or its deadline
        if that came first), charge the ledger, and forget it."""
        rated = live.rated
        values: dict[str, object] = {}
        cost = provider_cost = Decimal(0)
        if live.answered_ms is not None and state is not CallState.FAILED:
            if not settled:
                end_ms = self.guard.finish(key, end_ms)
            end_ms = max(end_ms, live.answered_ms)
            duration = end_ms - live.answered_ms
            sell = charge(rated.sell, duration, rated.currency)
            cost = charge(rated.buy, duration, rated.currency).amount.amount
            values.update(billed_seconds=sell.billed_seconds, price=sell.amount.amount, cost=cost)
            if rated.provider is not None:
                provider_cost = charge(rated.provider, duration, rated.currency).amount.amount
                values["provider_cost"] = provider_cost
        else:
            self.guard.release(key)
        if sip_code is not None:
            values["sip_code"] = sip_code
        answered = live.snapshot.answered_at is not None
        if answered and live.snapshot.session_id is None:
            with self.at_rest():
                values["session_id"] = join_open_session(
                    db, self._clock, live.snapshot.cabin_id,
                    callshop_id=live.snapshot.callshop_id, training=live.snapshot.training)
        snapshot = self._update(db, outbox, live, state=state, ended_at=from_epoch_ms(end_ms),
                                hangup_reason=reason[:120], **values)
        if answered:
            assert snapshot.session_id is not None
            outbox.sessions[snapshot.session_id] = rated.currency
            if not snapshot.training:
                with self.at_rest():
                    self._charge(db, outbox, snapshot, cost, provider_cost)
        del self._live[key]
        self._early_ends.pop(key, None)
        self._remember(self._finished, key, state)

    def _update(self, db: Session, outbox: _Outbox, live: _Live, **values: Any) -> CallSnapshot:
        """Write a move of a live call (one UPDATE of the columns given, no read: the
        rest of the call is in memory) and announce the call as it now stands."""
        with self.at_rest():
            _UPDATE_CALL.run(db.connection(), {"call": live.call_id, **values}, values)
        kept = {name: value for name, value in values.items() if name in _SNAPSHOT_FIELDS}
        if "price" in kept:
            kept["price"] = Money(kept["price"], live.rated.currency)
        snapshot = live.snapshot = replace(live.snapshot, **kept)
        shown = live.shown
        if shown is None or not can_move(snapshot.state, shown.state):
            # Not behind what `show_from_memory` showed, and announced unless equal.
            live.shown = None
            if snapshot != shown:
                outbox.changes.append(CallUpdated(snapshot.callshop_id, snapshot))
        return snapshot

    def _charge(self, db: Session, outbox: _Outbox, call: CallSnapshot, cost: Decimal,
                provider_cost: Decimal) -> None:
        assert call.id is not None          # closed calls are stored
        try:
            # Checked before anything is written: a refusal leaves the CDR in place.
            accounts = debit_call(db, self._clock, call_id=call.id,
                                  callshop_id=call.callshop_id, cost=cost,
                                  provider_cost=provider_cost)
        except InsufficientCredit as exc:
            # The guard cuts before any level runs dry, so this means the guard and the
            # stored balance disagree; the call stays recorded (uncharged) and visible.
            log.error("call %s could not be charged: %s", call.pbx_call_id, exc)
            return
        outbox.accounts.update(accounts)
        outbox.charged.update(accounts)

    def _take_due(self) -> list[GuardCut]:
        """The guard's cuts due now, handed to the PBX at once (`on_cuts`), before any
        database work, not after the commit like everything else: the instant is now,
        and closing many calls takes the database tens of milliseconds. A cut sent for
        a call whose record then fails costs nothing."""
        due = self.guard.due(self._now_ms())
        if due:
            self.on_cuts([Cut(cut.call, cut.reason) for cut in due])
        return due

    def _fire_due(self, db: Session, outbox: _Outbox) -> None:
        for cut in self._take_due():
            self._cut_alone(db, outbox, cut)

    def _apply_cut(self, db: Session, outbox: _Outbox, cut: GuardCut) -> None:
        live = self._live.get(cut.call)
        if live is None:
            # Authorised but not started yet: nothing recorded, just never connect it.
            self._authorised.pop(cut.call, None)
            self._remember(self._refusals, cut.call,
                           Authorisation.refuse(RefusalReason.NO_CREDIT, cut.reason.value))
            return
        # The guard let go of the call as it took the cut — unless memory was read again
        # since (`_failed_transaction`): then this guard still meters it.
        self._close(db, outbox, cut.call, live, cut.at_ms, CallState.CUT, cut.reason.value,
                    settled=not self.guard.is_tracking(cut.call))

    # ------------------------------------------------------------- admission -----
    def _admit(self, db: Session, key: str, sip_username: str,
               dialed_number: str) -> tuple[RatedCall | Refusal, int | None]:
        """The call rated and admitted by the guard (and the talk time it would get if
        answered now, in ms), or why not."""
        generation = self.places.generation
        place = find_place(db, sip_username)
        if place is not None:
            self._keep_places(db, place, generation)
        rated = rate_found(db, self._rater, place, sip_username, dialed_number)
        if isinstance(rated, Refusal):
            return rated, None
        self._set_budgets(rated.budgets)
        admission = self.guard.authorise(key, rated.draws, max_call_ms=rated.max_call_ms)
        if not admission.allowed:
            assert admission.refusal is not None
            return Refusal(admission.refusal, _refusal_detail(admission.refusal,
                                                               admission.budget),
                           rated.cabin_id, rated.callshop_id, rated.number), None
        return rated, admission.max_duration_ms

    def warm(self, callshop_id: int) -> None:
        """Read a shop's places and its accounts' balances into memory now (its cabins
        just changed, which forgot every place): its next call is decided from memory
        rather than waiting for the database while its INVITE is held."""
        outbox = _Outbox()
        with self._transaction(outbox) as db:
            generation = self.places.generation
            self._keep_shops(find_places_of_shop(db, callshop_id), generation)

    def _keep_shops(self, places: dict[str, Place], generation: int) -> None:
        """Keep places read in `generation`, a whole shop at a time, and each shop's
        accounts with their balances as read in the guard."""
        shops: dict[int, dict[str, Place]] = {}
        for sip_username, place in places.items():
            shops.setdefault(place.cabin.callshop_id, {})[sip_username] = place
        for callshop_id, of_shop in shops.items():
            self.places.keep(of_shop, generation, callshop_id=callshop_id)
            # Every cabin of a shop draws on the same accounts: any place names them.
            place = next(iter(of_shop.values()))
            self._set_budgets(spec for spec in account_budgets(place) if spec is not None)

    def _keep_places(self, db: Session, place: Place, generation: int) -> None:
        """Keep the places of the shop a cabin calls from, all read at once: the next
        call from any of its cabins can be decided from memory."""
        shop = place.cabin.callshop_id
        if not self.places.has_shop(shop):
            self._keep_shops(find_places_of_shop(db, shop), generation)

    def _set_budgets(self, budgets: Iterable[BudgetSpec]) -> None:
        for spec in budgets:
            self.guard.set_budget(spec.key, spec.limit, spec.currency,
                                  cut_reason=spec.cut_reason, refusal=spec.refusal)

    def _recover(self, db: Session, call: Call) -> None:
        rated = rate_stored_call(db, self._rater, call)
        self._set_budgets(rated.budgets)
        answered_ms = epoch_ms(call.answered_at) if call.answered_at is not None else None
        self.guard.recover(call.pbx_call_id, rated.draws, answered_ms=answered_ms,
                           max_call_ms=rated.max_call_ms)
        self._live[call.pbx_call_id] = _Live(call.id, rated,
                                             CallSnapshot.of(call, rated.currency), answered_ms)

    def _adopt(self, db: Session, outbox: _Outbox, seen: LiveCall) -> bool:
        rated = rate_call(db, self._rater, seen.sip_username, seen.dialed_number)
        if isinstance(rated, Refusal):
            log.warning("call %s at the PBX cannot be billed (%s): cut", seen.pbx_call_id,
                        rated.detail)
            return False
        state = CallState.ANSWERED if seen.answered_at is not None else CallState.DIALING
        call = Call(**_new_call_values(rated, seen.pbx_call_id, state,
                                       seen.started_at or seen.answered_at or self._clock.now()))
        answered_ms = epoch_ms(seen.answered_at) if seen.answered_at is not None else None
        if answered_ms is not None:
            call.answered_at = from_epoch_ms(answered_ms)
        db.add(call)
        db.flush()
        if answered_ms is not None:
            outbox.sessions[attach_call(db, self._clock, call).id] = rated.currency
        self._set_budgets(rated.budgets)
        self.guard.recover(seen.pbx_call_id, rated.draws, answered_ms=answered_ms,
                           max_call_ms=rated.max_call_ms)
        snapshot = CallSnapshot.of(call, rated.currency)
        self._live[seen.pbx_call_id] = _Live(call.id, rated, snapshot, answered_ms)
        outbox.changes.append(CallUpdated(call.callshop_id, snapshot))
        return True

    def _record_refusal(self, db: Session, outbox: _Outbox, key: str, refusal: Refusal,
                        dialed_number: str, at: datetime) -> None:
        log.info("call %s refused: %s (%s)", key, refusal.reason.value, refusal.detail)
        if refusal.cabin_id is None or refusal.callshop_id is None:
            return
        shop = db.get_one(Callshop, refusal.callshop_id)
        if db.scalar(select(Call.id).where(Call.callshop_id == shop.id,
                                           Call.pbx_call_id == key)) is not None:
            return
        call = Call(callshop_id=shop.id, cabin_id=refusal.cabin_id, pbx_call_id=key,
                    dialed_number=dialed_number[:64], number=refusal.number[:32],
                    state=CallState.FAILED, started_at=at, ended_at=at,
                    hangup_reason=refusal.reason.value, sip_code=refusal.reason.sip_code,
                    training=shop.training)
        db.add(call)
        db.flush()
        self._remember(self._finished, key, CallState.FAILED)
        outbox.changes.append(CallUpdated(shop.id, CallSnapshot.of(call, shop.currency)))

    # ------------------------------------------------------------ bookkeeping ----
    @contextmanager
    def _transaction(self, outbox: _Outbox, *, cuts_first: bool = True) -> Iterator[Session]:
        """One transaction per operation; announcements only after it committed. It
        begins with the cuts taken ahead (`take_due`) and the guard's cuts due now (see
        `_take_due`), unless the operation takes the latter itself."""
        if self._memory_ahead:
            self._read_memory_again()
        authorised = dict(self._authorised)
        missed, self._missed = self._missed, []
        due, self._taken = self._taken, []
        if cuts_first and not missed:
            due += self._take_due()
        try:
            with self._sessions() as db, db.begin() as transaction:
                if missed:
                    # Before the guard decides: its memory, read from the database,
                    # does not know them yet (a call that ended meanwhile would be cut).
                    for event in missed:
                        self._apply_alone(db, outbox, event)
                    if cuts_first:
                        due += self._take_due()
                for cut in due:
                    self._cut_alone(db, outbox, cut)
                yield db
                self._describe(db, outbox)
                self._commit(transaction)
        except Exception:
            self._missed = missed + self._missed
            self._taken = due + self._taken      # sent to the PBX: they happened
            self._failed_transaction(authorised)
            raise
        if missed:
            log.warning("%d PBX event(s) the database had missed are stored", len(missed))
        for change in outbox.changes:
            self.on_change(change)
        now = self._now_ms()
        if self.guard.has_stale_backstops() and now >= self._backstops_due:
            self._backstops_due = now + BACKSTOP_INTERVAL_MS
            for call, seconds in self.guard.backstops():
                outbox.commands.append(SetBackstop(call, seconds))
        for command in outbox.commands:
            self.on_command(command)

    @property
    def missed(self) -> int:
        """How many PBX events wait to be stored because their transaction failed (the
        database away, say). Any operation applies them first; `handle_many(())` does
        nothing else."""
        return len(self._missed)

    def _failed_transaction(self, authorised: dict[str, _Authorised]) -> None:
        """A transaction failed as a whole (its commit, say: a disk error, the database
        gone) and the database rolled back what memory had applied — a call ended, a
        balance charged — so the same events again would be no-ops here and never
        stored. Memory is read again from the database before anything else is done.
        The authorisations as they stood before it, and those decided since (the loop
        decides during a commit), are kept: the PBX was told. So are the cuts taken
        ahead (`_taken`): the PBX was told those too, and the call ended then."""
        self._authorised = {**authorised, **self._authorised}
        self._memory_ahead = True
        try:
            self._read_memory_again()
        except Exception:
            log.exception("memory could not be read again from the database; "
                          "the next operation tries again first")

    def _read_memory_again(self) -> None:
        """Live calls, their budgets and every shop's balances read again as at a start
        (`load`); nothing changes here if that fails. The authorisations not started
        hold their first increments again, or are forgotten if the credit read now
        cannot take them (their start is then decided from the database)."""
        guard, live = self.guard, self._live
        self.guard, self._live = guard.fresh(), {}
        try:
            loaded = self.load()
        except Exception:
            self.guard, self._live = guard, live
            raise
        self._memory_ahead = False
        for key in self._live:
            self._finished.pop(key, None)
        for key, authorised in list(self._authorised.items()):
            rated = authorised.rated
            if key in self._live \
                    or not all(self.guard.has_budget(spec.key) for spec in rated.budgets) \
                    or not self.guard.authorise(key, rated.draws,
                                                max_call_ms=rated.max_call_ms).allowed:
                del self._authorised[key]
        log.warning("memory read again from the database after a failed transaction: "
                    "%d live call(s), %d authorised", loaded, len(self._authorised))

    def _commit(self, transaction: SessionTransaction) -> None:
        with self.at_rest():
            transaction.commit()

    def _describe(self, db: Session, outbox: _Outbox) -> None:
        # Sessions and balances as they stand at the end of the transaction.
        if outbox.sessions:
            with self.at_rest():
                sessions = session_figures(db, outbox.sessions)
            for figures in sessions:
                outbox.changes.append(SessionUpdated(
                    callshop_id=figures.callshop_id, session_id=figures.id,
                    cabin_id=figures.cabin_id, training=figures.training,
                    opened_at=figures.opened_at,
                    total_due=Money.from_sub_units(figures.due_sub_units,
                                                   outbox.sessions[figures.id]),
                    calls=figures.calls, live_calls=figures.live_calls))
        if not outbox.accounts:
            return
        connection = db.connection()
        for account_id in sorted(outbox.accounts):
            # Its balance and owning shop (None: a reseller's account).
            with self.at_rest():
                account = connection.execute(_BALANCE, {"account": account_id}).one()
            balance = Money(account.balance, account.currency)
            key = (BudgetKind.ACCOUNT, account_id)
            available = None
            if self.guard.has_budget(key):
                expected = self.guard.limit(key)
                if account_id in outbox.charged and expected != balance.sub_units:
                    log.warning("account %s: the guard expected %s, the ledger stores %s",
                                account_id, from_sub_units(expected), balance)
                self.guard.set_budget(key, balance.sub_units, balance.currency)
                available = Money.from_sub_units(self.guard.available(key), balance.currency)
            outbox.changes.append(BalanceUpdated(account_id, account.shop, balance,
                                                 available))

    def _max_duration_s(self, key: str) -> int | None:
        longest = self.guard.max_talk_ms(key)
        return None if longest is None else backstop_seconds(longest)

    def _prune(self, db: Session, outbox: _Outbox) -> None:
        now = self._now_ms()
        for key, authorised in list(self._authorised.items()):
            if now - authorised.at_ms > AUTHORISATION_TTL_MS:
                log.info("call %s was authorised but never started: forgotten", key)
                del self._authorised[key]
                self.guard.release(key)
        for key, events in list(self._orphans.items()):
            if now - events[0][0] > ORPHAN_TTL_MS:
                log.warning("dropped %d event(s) (%s) for call %s, which never started",
                            len(events), ", ".join(e.kind.value for _, e in events), key)
                del self._orphans[key]
        for key, (received, ended) in list(self._early_ends.items()):
            live = self._live.get(key)
            if live is None:
                del self._early_ends[key]
            elif now - received > ORPHAN_TTL_MS:
                # Its answer never came: nobody can say how long it talked, so it is
                # closed as never answered (free) rather than billed on a guess.
                log.warning("call %s ended but its answer never arrived: closed unbilled", key)
                self._close(db, outbox, key, live, epoch_ms(ended.at or self._clock.now()),
                            CallState.FAILED, ended.reason or "ended without an answer")

    def _cut_one_by_one(self, cuts: list[Cut]) -> None:
        for cut in cuts:
            self.on_command(cut)

    @staticmethod
    def _remember(memory: OrderedDict, key: str, value: object) -> None:
        memory[key] = value
        memory.move_to_end(key)
        while len(memory) > FINISHED_MEMORY:
            memory.popitem(last=False)

    def _now_ms(self) -> int:
        return epoch_ms(self._clock.now())


# A call's row, written without ORM objects: the tracker keeps each live call's state in
# memory (`_Live.snapshot`), so a move is one INSERT or UPDATE and nothing is read back;
# one of them for every event, so they go straight to the driver (`store.prepared`).
_INSERT_CALL = PreparedStatements(insert(Call).returning(Call.id))
_UPDATE_CALL = PreparedStatements(update(Call).where(Call.id == bindparam("call")))
_SNAPSHOT_FIELDS = frozenset(CallSnapshot.__dataclass_fields__)
_BALANCE = (select(Account.balance, Account.currency, Callshop.id.label("shop"))
            .outerjoin(Callshop, Callshop.account_id == Account.id)
            .where(Account.id == bindparam("account")))


def _new_call_values(rated: RatedCall, pbx_call_id: str, state: CallState,
                     at: datetime) -> dict[str, Any]:
    sell, buy = rated.sell, rated.buy
    return {"callshop_id": rated.callshop_id, "cabin_id": rated.cabin_id,
            "pbx_call_id": pbx_call_id, "dialed_number": rated.dialed_number[:64],
            "number": rated.number, "destination": sell.destination[:120], "state": state,
            "sell_prefix": sell.prefix, "price_per_minute": sell.price_per_minute,
            "connection_fee": sell.connection_fee,
            "initial_increment": sell.initial_increment,
            "subsequent_increment": sell.subsequent_increment,
            "grace_seconds": sell.grace_seconds, "buy_prefix": buy.prefix,
            "buy_price_per_minute": buy.price_per_minute,
            "buy_connection_fee": buy.connection_fee,
            "buy_initial_increment": buy.initial_increment,
            "buy_subsequent_increment": buy.subsequent_increment,
            "buy_grace_seconds": buy.grace_seconds, "started_at": at,
            "training": rated.training}


def _new_snapshot(call_id: int | None, values: dict[str, Any], currency: str) -> CallSnapshot:
    """The snapshot of a call just inserted with `values` (the rest: column defaults);
    `call_id` None: not inserted yet (`CallTracker.show_from_memory`)."""
    return CallSnapshot(
        id=call_id, callshop_id=values["callshop_id"], cabin_id=values["cabin_id"],
        session_id=None, pbx_call_id=values["pbx_call_id"],
        dialed_number=values["dialed_number"], number=values["number"],
        destination=values["destination"], sell_prefix=values["sell_prefix"],
        state=values["state"], started_at=values["started_at"], ringing_at=None,
        answered_at=None, ended_at=None, billed_seconds=0, price=Money.zero(currency),
        price_per_minute=Money(values["price_per_minute"], currency),
        connection_fee=Money(values["connection_fee"], currency),
        initial_increment=values["initial_increment"],
        subsequent_increment=values["subsequent_increment"],
        grace_seconds=values["grace_seconds"], hangup_reason="", sip_code=None,
        training=values["training"])


def _refusal_detail(refusal: RefusalReason, budget: tuple[BudgetKind, int] | None) -> str:
    if refusal is RefusalReason.NO_CREDIT and budget is not None:
        return f"account {budget[1]} cannot pay the first increment of this call"
    if refusal is RefusalReason.MAX_SESSION_AMOUNT:
        return "the cabin's session has reached its maximum amount"
    if refusal is RefusalReason.DEPOSIT_EXHAUSTED:
        return "the customer's deposit cannot pay the first increment of this call"
    return refusal.value.replace("_", " ")

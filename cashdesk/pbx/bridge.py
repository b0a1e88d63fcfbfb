"""The contract between the server and a PBX bridge (Kamailio evapi, Asterisk AMI…).

A bridge is a translator. Inward it turns the PBX's messages into `PbxEvent`s and
passes them to the `BridgeListener` the server attached, and before the PBX routes an
INVITE it asks that listener for an `Authorisation`, whose refusal carries the SIP code
the PBX answers the cabin with. Outward it carries out two commands — `cut` a call,
`set_backstop` (the PBX's own timer that ends a call even if the server is dead) — and
lists the PBX's live calls so the server can reconcile after a restart or reconnect.

Fail closed: a bridge that cannot reach the server refuses the call (503); it never
routes a call nobody authorised.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from cashdesk.pbx.events import PbxEvent


class RefusalReason(StrEnum):
    """Why a call may not be routed. `sip_code` is what the PBX answers the cabin."""

    NO_CREDIT = "no_credit"                      # a prepaid level cannot pay the first increment
    NO_RATE = "no_rate"                          # no sell, buy or provider rate for the number
    INVALID_NUMBER = "invalid_number"            # not a callable number (letters, * codes…)
    BLOCKED_DESTINATION = "blocked_destination"  # the shop blocked that prefix
    CABIN_DISABLED = "cabin_disabled"
    CABIN_UNKNOWN = "cabin_unknown"              # no cabin has that SIP username
    SHOP_INACTIVE = "shop_inactive"              # the reseller suspended the shop
    MAX_CALL_DURATION = "max_call_duration"      # the call may last 0 seconds
    MAX_SESSION_AMOUNT = "max_session_amount"    # the cabin's session reached its cap
    DEPOSIT_EXHAUSTED = "deposit_exhausted"      # the customer's deposit is spent
    SERVER_UNAVAILABLE = "server_unavailable"    # bridges answer this when the server is away

    @property
    def sip_code(self) -> int:
        return _SIP_CODES[self]


_SIP_CODES: dict[RefusalReason, int] = {
    RefusalReason.NO_CREDIT: 402,
    RefusalReason.NO_RATE: 404,
    RefusalReason.INVALID_NUMBER: 484,
    RefusalReason.BLOCKED_DESTINATION: 403,
    RefusalReason.CABIN_DISABLED: 403,
    RefusalReason.CABIN_UNKNOWN: 404,
    RefusalReason.SHOP_INACTIVE: 403,
    RefusalReason.MAX_CALL_DURATION: 403,
    RefusalReason.MAX_SESSION_AMOUNT: 403,
    # Payment required: the customer can add to the deposit at the desk and call again.
    RefusalReason.DEPOSIT_EXHAUSTED: 402,
    RefusalReason.SERVER_UNAVAILABLE: 503,
}


class CutReason(StrEnum):
    """Why the server ended a call; written to the CDR as its hangup reason."""

    CREDIT_EXHAUSTED = "credit_exhausted"        # a prepaid level cannot pay the next increment
    MAX_CALL_DURATION = "max_call_duration"
    MAX_SESSION_AMOUNT = "max_session_amount"
    DEPOSIT_EXHAUSTED = "deposit_exhausted"
    REFUSED = "refused"                          # a call the server did not (or no longer) allow
    UNKNOWN_CALL = "unknown_call"                # reconciliation found a call nobody can bill
    OPERATOR = "operator"                        # the cashier or admin hung it up


@dataclass(frozen=True, slots=True)
class AuthorisationRequest:
    """A cabin wants to call `dialed_number`; the PBX holds the INVITE until answered."""

    pbx_call_id: str
    sip_username: str
    dialed_number: str
    at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Authorisation:
    """The server's answer. Allowed: `max_duration_s` is the longest the call may talk
    if answered now (None: no limit), to arm the PBX's backstop timer. Refused: the
    reason, whose `sip_code` the PBX replies, and a sentence for logs and the desk."""

    allowed: bool
    max_duration_s: int | None = None
    reason: RefusalReason | None = None
    detail: str = ""

    @classmethod
    def allow(cls, max_duration_s: int | None) -> Authorisation:
        return cls(True, max_duration_s=max_duration_s)

    @classmethod
    def refuse(cls, reason: RefusalReason, detail: str = "") -> Authorisation:
        return cls(False, reason=reason, detail=detail or reason.value.replace("_", " "))

    @property
    def sip_code(self) -> int:
        """200 when allowed, the refusal's SIP code otherwise."""
        return 200 if self.reason is None else self.reason.sip_code


@dataclass(frozen=True, slots=True)
class LiveCall:
    """A call the PBX has up right now, as its live-call listing reports it
    (Kamailio `dlg.list`, Asterisk `CoreShowChannels`)."""

    pbx_call_id: str
    sip_username: str
    dialed_number: str
    started_at: datetime | None = None
    answered_at: datetime | None = None   # None: still dialing or ringing


@dataclass(frozen=True, slots=True)
class Cut:
    """Command: hang up both legs of the call now."""

    pbx_call_id: str
    reason: CutReason


@dataclass(frozen=True, slots=True)
class SetBackstop:
    """Command: the call must end at most `max_duration_s` after it was answered.

    Whole seconds, rounded up: Kamailio's dialog timer has 1 s granularity, and the
    server's own cut (exact to the millisecond) always comes first while it is alive.
    """

    pbx_call_id: str
    max_duration_s: int


BridgeCommand = Cut | SetBackstop


def backstop_seconds(duration_ms: int) -> int:
    """A maximum talk time in milliseconds as the PBX's whole-second backstop: rounded
    up, and at least 1 s (0 means "no timeout" to Kamailio's dialog module)."""
    return max(1, math.ceil(duration_ms / 1000))


class BridgeListener(Protocol):
    """The server side a bridge talks to. `on_event` must not block (it queues);
    `async_authorise` is awaited while the PBX holds the INVITE, and a bridge that
    gets no answer in time refuses the call itself (fail closed). `authorise_now` is
    the answer when it can be given without waiting, else None (then await
    `async_authorise`): a bridge that asks it first answers in the same step of the
    loop that read the request."""

    def on_event(self, event: PbxEvent) -> None: ...

    def authorise_now(self, request: AuthorisationRequest) -> Authorisation | None: ...

    def async_authorise(self, request: AuthorisationRequest) -> Awaitable[Authorisation]: ...


class PbxBridge(ABC):
    """A connection to one PBX. Implementations: Kamailio (evapi + JSON-RPC), Asterisk
    (AMI), and `cashdesk.pbx.training.TrainingBridge` for demo mode."""

    name: str = "pbx"

    def __init__(self) -> None:
        self._listener: BridgeListener | None = None

    def attach(self, listener: BridgeListener) -> None:
        """Where events and authorisation requests go. Set once, before `async_start`."""
        self._listener = listener

    @property
    def listener(self) -> BridgeListener:
        if self._listener is None:
            raise RuntimeError(f"bridge {self.name!r} has no listener attached")
        return self._listener

    @abstractmethod
    async def async_start(self) -> None:
        """Connect and start delivering events. Returns once connected (or raises)."""

    @abstractmethod
    async def async_stop(self) -> None:
        """Disconnect and stop every task this bridge started."""

    @abstractmethod
    async def cut(self, pbx_call_id: str, reason: CutReason) -> None:
        """Hang up both legs of the call. Unknown or already ended calls are no error."""

    def rehearse_cuts(self, pbx_call_ids: Sequence[str]) -> None:
        """These calls are about to be cut (`cut_many`, tens of milliseconds from now):
        a bridge may have its PBX do now what the cuts will do, short of hanging up,
        so the memory they need is in use when they come (see
        `CallService._at_instant`). Never blocks."""

    async def cut_many(self, cuts: Sequence[tuple[str, CutReason]]) -> None:
        """Hang up calls due at the same instant (the guard cuts every call of an
        exhausted budget at once). Here one after the other, each tried even if one
        before failed (the first failure is raised after); a bridge whose PBX can
        release every call's carrier leg before the rest of any call does so."""
        failure: Exception | None = None
        for pbx_call_id, reason in cuts:
            try:
                await self.cut(pbx_call_id, reason)
            except Exception as exc:  # noqa: BLE001 - raised after the others were tried
                failure = failure or exc
        if failure is not None:
            raise failure

    @abstractmethod
    async def set_backstop(self, pbx_call_id: str, max_duration_s: int) -> None:
        """Arm or move the PBX's own timer: the call ends `max_duration_s` after its
        answer even if the server never cuts it."""

    @abstractmethod
    async def list_live_calls(self) -> list[LiveCall]:
        """The calls the PBX has up now, for `reconcile` after a (re)connect."""

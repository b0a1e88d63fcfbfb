"""A scripted Asterisk for the server's tests: an AMI server on 127.0.0.1 that keeps
channels and calls the way Asterisk does, and the cabins' dialplan (FastAGI before
`Dial()`), played by the test.

`ScriptedAsterisk` speaks AMI on a real socket: banner, `Login` (a wrong secret is
refused and the socket closed), `Ping`, `Logoff`, and the actions the bridge uses —
`Hangup` (the channel goes down with the events Asterisk sends for it; an unknown
channel is `No such channel`), `AbsoluteTimeout` (replaces the channel's hangup time)
and `CoreShowChannels` (its live channels). Every packet it sends is one of the
recorded packets of `templates.py` with the call's values put in; event orders follow
the recordings (named at each ending below). Events sent while no client is logged in
are lost, as AMI's are. `drop()` closes the connection and refuses new ones until
`restore()`.

`Dialplan` plays `extensions.conf`'s cabins context: a cabin's channel appears, the
FastAGI server is asked (`AGI(agi://…/authorize,${CHANNEL(linkedid)})`, answered with
`200 result=1` to each `SET VARIABLE`), and with `CASHDESK_ALLOWED=1` it dials with
`L(${CASHDESK_LIMIT_MS})`, else hangs up with the refusal's cause. A bare `L(ms)` is
the answered carrier channel's hangup time (app_dial.c: `S()`-style), which is what
this Asterisk arms at the answer — and what an `AbsoluteTimeout` on that channel
replaces.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from cashdesk.pbx.asterisk.lifecycle import DEFAULT_CABIN_CONTEXT
from cashdesk.pbx.asterisk.packets import Packet, PacketParser
from tests.asterisk_billing.templates import Template, templates
from tests.pbx_asterisk.test_fastagi import parse_args

BANNER = b"Asterisk Call Manager/11.0.0\r\n"
STATE_DESC = {0: "Down", 4: "Ring", 5: "Ringing", 6: "Up"}
CAUSE_TEXT = {1: "Unallocated (unassigned) number", 16: "Normal Clearing", 17: "User busy",
              21: "Call Rejected", 34: "Circuit/channel congestion"}
#: Asterisk's uniqueids are "<start time>.<counter>".
STARTED = 1795700000

Ending = Literal["cabin", "callee", "hangup-caller", "hangup-dest", "timeout-dest",
                 "timeout-caller"]


def encode(packet: Packet) -> bytes:
    return "".join(f"{k}: {v}\r\n" for k, v in packet.fields).encode() + b"\r\n"


@dataclass(eq=False)
class Channel:
    name: str
    uniqueid: str
    linkedid: str
    exten: str
    caller_num: str
    state: int
    created: float = field(default_factory=time.time)
    context: str = DEFAULT_CABIN_CONTEXT
    priority: int = 1
    application: str = ""
    app_data: str = ""
    bridge_id: str = ""
    hangup_at: float | None = None         # time.time() its timer fires
    timer_by: str = ""                     # "L()" or "AbsoluteTimeout"
    timer: asyncio.TimerHandle | None = None

    def fields(self, prefix: str = "") -> dict[str, str]:
        values = {"Channel": self.name, "ChannelState": str(self.state),
                  "ChannelStateDesc": STATE_DESC[self.state], "CallerIDNum": self.caller_num,
                  "CallerIDName": self.caller_num, "ConnectedLineNum": self.caller_num,
                  "ConnectedLineName": self.caller_num, "AccountCode": "",
                  "Context": self.context, "Exten": self.exten, "Priority": str(self.priority),
                  "Uniqueid": self.uniqueid, "Linkedid": self.linkedid}
        return {prefix + key: value for key, value in values.items()}


@dataclass(eq=False)
class PeerCall:
    """One cabin's call as this Asterisk has it."""

    cabin: str
    number: str
    caller: Channel
    dest: Channel | None = None
    limit_ms: int | None = None
    variables: dict[str, str] = field(default_factory=dict)
    agi_failed: bool = False
    answered_at: float | None = None       # time.time()
    ended_at: float | None = None
    ended_by: str = ""                     # "cabin", "callee", "Hangup action", "L()"…
    ending: list[Packet] = field(default_factory=list)
    over: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def pbx_call_id(self) -> str:
        return self.caller.linkedid

    @property
    def allowed(self) -> bool:
        return self.variables.get("CASHDESK_ALLOWED") == "1"

    @property
    def live(self) -> bool:
        return self.ended_at is None


@dataclass(frozen=True)
class Action:
    at: float               # time.time() when it arrived
    packet: Packet

    @property
    def name(self) -> str:
        return self.packet.get("Action") or ""

    def __getitem__(self, key: str) -> str:
        return self.packet[key]


class ScriptedAsterisk:
    """See the module doc."""

    def __init__(self, *, username: str = "cashdesk", secret: str = "s3cret-s3cret",
                 seed: int = 0) -> None:
        self.username = username
        self.secret = secret
        self.templates = templates()
        self.port = 0
        self.calls: list[PeerCall] = []
        self.actions: list[Action] = []
        #: Every packet sent (or lost) and the template it was made from.
        self.sent: list[tuple[Template, Packet]] = []
        self.lost = 0
        self.connections = 0
        self.logins = 0
        self._channels: dict[str, Channel] = {}
        self._sessions: set[asyncio.StreamWriter] = set()
        self._down = False
        self._rng = random.Random(seed)
        self._names = itertools.count(0x2a)
        self._uids = itertools.count(1)
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._arrived = asyncio.Event()

    # -- running ------------------------------------------------------------------------
    async def start(self, port: int = 0) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._sessions):
            writer.close()
        for channel in self._channels.values():
            if channel.timer is not None:
                channel.timer.cancel()
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def drop(self) -> None:
        """The AMI link breaks: the connection is closed, new ones are refused (closed
        before the banner) until `restore()`. Calls go on; their events are lost."""
        self._down = True
        for writer in list(self._sessions):
            writer.transport.abort()
        self._sessions.clear()

    def restore(self) -> None:
        self._down = False

    @property
    def logged_in(self) -> bool:
        return bool(self._sessions)

    def actions_named(self, name: str) -> list[Action]:
        return [action for action in self.actions if action.name == name]

    async def wait_action(self, name: str, count: int = 1, timeout: float = 5.0) -> Action:
        async def seen() -> Action:
            while len(self.actions_named(name)) < count:
                self._arrived.clear()
                await self._arrived.wait()
            return self.actions_named(name)[count - 1]
        return await asyncio.wait_for(seen(), timeout)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        try:
            if self._down:
                return
            writer.write(BANNER)
            parser = PacketParser()
            while data := await reader.read(65536):
                for packet in parser.feed(data):
                    self.actions.append(Action(time.time(), packet))
                    self._arrived.set()
                    if not self._answer(packet, writer):
                        return
        except (ConnectionError, OSError, asyncio.CancelledError):
            pass
        finally:
            self._sessions.discard(writer)
            writer.close()
            self._tasks.discard(task)

    # -- actions ------------------------------------------------------------------------
    def _reply(self, name: str, action: Packet, **values: str) -> Packet:
        return self._render(name, ActionID=action.get("ActionID") or "", **values)

    def _answer(self, action: Packet, writer: asyncio.StreamWriter) -> bool:
        """Answer one action; False when the connection is to be closed."""
        name = action.get("Action") or ""
        if name == "Login":
            if action.get("Username") != self.username or action.get("Secret") != self.secret:
                writer.write(encode(self._reply("login-failed", action)))
                return False
            writer.write(encode(self._reply("login-ok", action)))
            writer.write(encode(self._render("fully-booted")))
            self._sessions.add(writer)
            self.logins += 1
            return True
        if writer not in self._sessions:
            writer.write(encode(self._render("unknown-action", ActionID=action.get("ActionID")
                                             or "", Message="Permission denied")))
            return True
        if name == "Logoff":
            writer.write(encode(self._reply("goodbye", action)))
            return False
        if name == "Ping":
            writer.write(encode(self._reply("pong", action, Timestamp=f"{time.time():.6f}")))
        elif name == "Hangup":
            self._hangup_action(action, writer)
        elif name == "AbsoluteTimeout":
            writer.write(encode(self._absolute_timeout(action)))
        elif name == "CoreShowChannels":
            writer.write(b"".join(encode(p) for p in self._listing(action)))
        else:
            writer.write(encode(self._reply("unknown-action", action)))
        return True

    def _hangup_action(self, action: Packet, writer: asyncio.StreamWriter) -> None:
        channel = self._channels.get(action.get("Channel") or "")
        if channel is None:
            writer.write(encode(self._reply("no-such-channel", action)))
            return
        call = self._call_of(channel)
        cause = int(action.get("Cause") or 16)
        ending = self._end(call, "hangup-caller" if channel is call.caller else "hangup-dest",
                           "Hangup action", cause=cause)
        # The recordings have the response first, but the README warns it may come
        # after the first Hangup events: either, at random.
        at = self._rng.choice((0, 0, 1, 3))
        response = self._reply("hangup-ok", action)
        self._send([*ending[:at], response, *ending[at:]])

    def _absolute_timeout(self, action: Packet) -> Packet:
        # manager.c's order: the timeout (atof: "12.5" is 12.5 s) before the channel.
        try:
            seconds = float(action.get("Timeout") or 0)
        except ValueError:
            seconds = 0
        if seconds <= 0:
            return self._reply("no-timeout", action)
        channel = self._channels.get(action.get("Channel") or "")
        if channel is None:
            return self._reply("no-such-channel", action)
        self._arm(channel, seconds, "AbsoluteTimeout")
        return self._reply("timeout-set", action)

    def _listing(self, action: Packet) -> list[Packet]:
        aid = action.get("ActionID") or ""
        out = [self._render("list-start", ActionID=aid)]
        now = time.time()
        for channel in self._channels.values():
            call = self._call_of(channel)
            age = int(now - channel.created)
            out.append(self._render(
                "caller-listed" if channel is call.caller else "dest-listed", channel,
                ActionID=aid, Application=channel.application,
                ApplicationData=channel.app_data, BridgeId=channel.bridge_id,
                Duration=f"{age // 3600:02d}:{age // 60 % 60:02d}:{age % 60:02d}"))
        out.append(self._render("list-complete", ActionID=aid,
                                ListItems=str(len(self._channels))))
        return out

    # -- the dialplan's doings ------------------------------------------------------------
    def new_call(self, cabin: str, number: str) -> PeerCall:
        """A cabin's INVITE: its channel appears, in the cabins' context."""
        uid = self._uid()
        caller = Channel(f"PJSIP/{cabin}-{next(self._names):08x}", uid, uid, number, cabin,
                         state=4)
        call = PeerCall(cabin, number, caller)
        self._channels[caller.name] = caller
        self.calls.append(call)
        self._send([self._render("caller-newchannel", caller)])
        return call

    def refuse(self, call: PeerCall, cause: int) -> None:
        """`PJSIPHangup(code)` / `Hangup(cause)` after a refusal: no `Dial()` at all."""
        caller = call.caller
        self._send(self._finish(call, "refused", [
            self._render("hangup-request", caller, Cause=str(cause)),
            self._cdr(call, "FAILED"),
            self._render("caller-hangup", caller, Cause=str(cause),
                         **{"Cause-txt": CAUSE_TEXT.get(cause, "Unknown")})]))

    def dial(self, call: PeerCall, limit_ms: int | None, carrier: str = "carrier") -> None:
        """`Dial(PJSIP/${EXTEN}@carrier,60,L(limit))`: the carrier leg is created."""
        caller = call.caller
        caller.priority = 10
        caller.application = "Dial"
        caller.app_data = f"PJSIP/{call.number}@{carrier},60" + \
            (f",L({limit_ms})" if limit_ms is not None else "")
        dest = Channel(f"PJSIP/{carrier}-{next(self._names):08x}", self._uid(),
                       caller.linkedid, call.number, call.cabin, state=0,
                       application="AppDial", app_data="(Outgoing Line)")
        call.dest, call.limit_ms = dest, limit_ms
        self._channels[dest.name] = dest
        self._send([self._render("dest-newchannel", dest),
                    self._render("dial-begin", caller, dest, DialString=f"{call.number}@"
                                 f"{carrier}")])

    def ring(self, call: PeerCall) -> None:
        dest = self._dest(call)
        dest.state = 5
        self._send([self._render("dest-ringing", dest),
                    self._render("dial-state", call.caller, dest, DialStatus="RINGING")])

    def answer(self, call: PeerCall) -> None:
        """The carrier answers: the channels go Up and are bridged; a bare `L()`
        becomes the carrier channel's hangup time (app_dial.c)."""
        caller, dest = call.caller, self._dest(call)
        dest.state = 6
        bridge = str(uuid.uuid4())
        packets = [self._render("dest-up", dest),
                   self._render("dial-end", caller, dest, DialStatus="ANSWER")]
        caller.state = 6
        packets += [self._render("caller-up", caller),
                    self._render("bridge-create", BridgeUniqueid=bridge,
                                 BridgeNumChannels="0")]
        dest.bridge_id = caller.bridge_id = bridge
        packets += [self._render("dest-bridge-enter", dest, BridgeUniqueid=bridge,
                                 BridgeNumChannels="1"),
                    self._render("caller-bridge-enter", caller, BridgeUniqueid=bridge,
                                 BridgeNumChannels="2"),
                    self._render("device-state", Device=f"PJSIP/{call.cabin}",
                                 State="INUSE")]
        call.answered_at = time.time()
        self._send(packets)
        if call.limit_ms is not None:
            self._arm(dest, call.limit_ms / 1000, "L()")

    def hang_up(self, call: PeerCall, by: Literal["cabin", "callee"] = "cabin") -> None:
        self._send(self._end(call, by, by))

    def resend_ending(self, call: PeerCall) -> None:
        """The same ending again (a duplicate, as after a reconnect)."""
        self._send(call.ending)

    # -- endings ------------------------------------------------------------------------
    def _end(self, call: PeerCall, how: Ending, by: str, cause: int = 16) -> list[Packet]:
        """The events of a call's end, in the recorded order for `how`."""
        c, d = call.caller, call.dest
        text = {"Cause": str(cause), "Cause-txt": CAUSE_TEXT.get(cause, "Unknown")}
        if d is None or call.answered_at is None:
            # Before the answer (no recording of a cut while ringing: Dial()'s order).
            packets = [self._render("soft-hangup-request" if how.startswith("hangup")
                                    else "hangup-request", c, Cause=str(cause))]
            if d is not None:
                packets += [self._render("dest-hangup", d, **text),
                            self._render("dial-end", c, d, DialStatus="CANCEL")]
            packets += [self._cdr(call, "NO ANSWER"), self._render("caller-hangup", c, **text)]
            return self._finish(call, by, packets)
        bridge = {"BridgeUniqueid": c.bridge_id}

        def leave(channel: Channel, left: int) -> Packet:
            which = "caller" if channel is c else "dest"
            return self._render(f"{which}-bridge-leave", channel, BridgeNumChannels=str(left),
                                **bridge)

        destroy = self._render("bridge-destroy", BridgeNumChannels="0", **bridge)
        cdr = self._cdr(call, "ANSWERED")
        dest_gone = self._render("dest-hangup", d, **text)
        caller_gone = self._render("caller-hangup", c, **text)
        soft = self._render("soft-hangup-request", c, Cause=str(cause))
        if how == "hangup-caller":      # dial_bridge_hangup_caller: Hangup on the caller
            packets = [leave(c, 1), leave(d, 0), soft, destroy, dest_gone, cdr, caller_gone]
        elif how == "cabin":            # the phone's BYE: the same, asked by the channel
            packets = [self._render("hangup-request", c, Cause=str(cause)), leave(c, 1),
                       leave(d, 0), destroy, dest_gone, cdr, caller_gone]
        elif how in ("callee", "hangup-dest"):   # dial_bridge_hangup_callee
            request = "hangup-request" if how == "callee" else "soft-hangup-request"
            packets = [self._render(request, d, Cause=str(cause)), cdr, leave(d, 1),
                       leave(c, 0), soft, caller_gone, destroy, dest_gone]
        elif how == "timeout-dest":     # dial_limit_304_L_x: the carrier leg's timer
            packets = [cdr, leave(d, 1), dest_gone, leave(c, 0), destroy, soft, caller_gone]
        else:                           # the cabin channel's own timer (dial_limit order)
            packets = [leave(c, 1), leave(d, 0), dest_gone, destroy, cdr, caller_gone]
        packets.append(self._render("device-state", Device=f"PJSIP/{call.cabin}",
                                    State="NOT_INUSE"))
        return self._finish(call, by, packets)

    def _finish(self, call: PeerCall, by: str, packets: list[Packet]) -> list[Packet]:
        call.ended_at, call.ended_by, call.ending = time.time(), by, packets
        for channel in (call.caller, call.dest):
            if channel is not None:
                if channel.timer is not None:
                    channel.timer.cancel()
                self._channels.pop(channel.name, None)
        call.over.set()
        return packets

    def _arm(self, channel: Channel, seconds: float, by: str) -> None:
        """The channel's hangup time: now + `seconds`, replacing any earlier one."""
        if channel.timer is not None:
            channel.timer.cancel()
        channel.hangup_at, channel.timer_by = time.time() + seconds, by
        channel.timer = asyncio.get_running_loop().call_later(seconds, self._timed_out,
                                                              channel)

    def _timed_out(self, channel: Channel) -> None:
        if self._channels.get(channel.name) is not channel:
            return
        call = self._call_of(channel)
        how: Ending = "timeout-caller" if channel is call.caller else "timeout-dest"
        self._send(self._end(call, how, channel.timer_by))

    # -- packets ------------------------------------------------------------------------
    def _uid(self) -> str:
        return f"{STARTED}.{next(self._uids)}"

    def _call_of(self, channel: Channel) -> PeerCall:
        return next(c for c in self.calls if channel in (c.caller, c.dest))

    @staticmethod
    def _dest(call: PeerCall) -> Channel:
        assert call.dest is not None, "the call has not dialed"
        return call.dest

    def _render(self, name: str, channel: Channel | None = None, dest: Channel | None = None,
                /, **values: str) -> Packet:
        fields: dict[str, str] = {}
        if channel is not None:
            fields.update(channel.fields())
        if dest is not None:
            fields.update(dest.fields("Dest"))
        fields.update(values)
        template = self.templates[name]
        packet = template.render(fields)
        self.sent.append((template, packet))
        return packet

    def _cdr(self, call: PeerCall, disposition: str) -> Packet:
        def stamp(at: float | None) -> str:
            return "" if at is None else \
                datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S")
        now = time.time()
        talked = int(now - call.answered_at) if call.answered_at else 0
        return self._render("cdr", AccountCode="", Source=call.cabin, Destination=call.number,
                            DestinationContext=call.caller.context,
                            CallerID=f'"{call.cabin}" <{call.cabin}>',
                            Channel=call.caller.name,
                            DestinationChannel=call.dest.name if call.dest else "",
                            LastApplication=call.caller.application or "AGI",
                            LastData=call.caller.app_data, StartTime=stamp(call.caller.created),
                            AnswerTime=stamp(call.answered_at), EndTime=stamp(now),
                            Duration=str(int(now - call.caller.created)),
                            BillableSeconds=str(talked), Disposition=disposition,
                            UniqueID=call.caller.uniqueid)

    def _send(self, packets: Iterable[Packet]) -> None:
        """To every logged-in session (the tests have one); lost if there is none."""
        data = b"".join(encode(p) for p in packets)
        if not self._sessions:
            self.lost += 1
        for writer in list(self._sessions):
            if not writer.is_closing():
                writer.write(data)


# --- the cabins' dialplan ----------------------------------------------------------------

#: extensions.conf.tmpl's defaults before AGI(): a refusal, 503.
DEFAULTS = {"CASHDESK_ALLOWED": "0", "CASHDESK_LIMIT_MS": "",
            "CASHDESK_REASON": "cash desk unreachable",
            "CASHDESK_REASON_CODE": "server_unavailable", "CASHDESK_SIPCODE": "503",
            "CASHDESK_CAUSE": "34"}


class Dialplan:
    """`[cashdesk-cabins]` of `resources/asterisk/extensions.conf.tmpl`, step by step."""

    def __init__(self, asterisk: ScriptedAsterisk, agi_port: int,
                 agi_host: str = "127.0.0.1") -> None:
        self.asterisk = asterisk
        self.agi_port = agi_port
        self.agi_host = agi_host

    async def agi(self, call: PeerCall) -> dict[str, str]:
        """`AGI(agi://HOST:PORT/authorize,${CHANNEL(linkedid)})`: the environment, then
        `200 result=1` to every command, until the server closes. The variables as
        the dialplan then reads them (defaults where nothing was set)."""
        variables = dict(DEFAULTS)
        try:
            reader, writer = await asyncio.open_connection(self.agi_host, self.agi_port)
        except OSError:
            call.agi_failed = True          # AGISTATUS=FAILURE: the defaults stand
            return variables
        env = {
            "agi_network": "yes", "agi_network_script": "authorize",
            "agi_request": f"agi://{self.agi_host}:{self.agi_port}/authorize",
            "agi_channel": call.caller.name, "agi_language": "en", "agi_type": "PJSIP",
            "agi_uniqueid": call.caller.uniqueid, "agi_version": "22.10.1",
            "agi_callerid": call.cabin, "agi_calleridname": call.cabin,
            "agi_callingpres": "0", "agi_callingani2": "0", "agi_callington": "0",
            "agi_callingtns": "0", "agi_dnid": call.number, "agi_rdnis": "unknown",
            "agi_context": call.caller.context, "agi_extension": call.number,
            "agi_priority": "8", "agi_enhanced": "0.0", "agi_accountcode": call.cabin,
            "agi_threadid": "140245", "agi_arg_1": call.caller.linkedid}
        writer.write(("".join(f"{k}: {v}\n" for k, v in env.items()) + "\n").encode())
        try:
            while line := await asyncio.wait_for(reader.readline(), 5):
                args = parse_args(line.decode().rstrip("\n"))
                if args[:2] == ["SET", "VARIABLE"] and len(args) == 4:
                    variables[args[2]] = args[3]
                writer.write(b"200 result=1\n")
                await writer.drain()
        except (ConnectionError, TimeoutError):
            call.agi_failed = True
        finally:
            writer.close()
        return variables

    async def call(self, cabin: str, number: str, *, ring_after: float = 0.02,
                   answer_after: float | None = 0.03) -> PeerCall:
        """A cabin dials `number`: authorised, then dialed, ringing and answered
        (`answer_after` None: left ringing); or hung up with the refusal's cause."""
        call = self.asterisk.new_call(cabin, number)
        call.variables = await self.agi(call)
        if not call.allowed:
            self.asterisk.refuse(call, int(call.variables["CASHDESK_CAUSE"]))
            return call
        limit = call.variables["CASHDESK_LIMIT_MS"]
        self.asterisk.dial(call, int(limit) if limit else None)
        await asyncio.sleep(ring_after)
        self.asterisk.ring(call)
        if answer_after is not None:
            await asyncio.sleep(answer_after)
            self.asterisk.answer(call)
        return call

"""How the tiles are painted: a tick repaints only the running figures, what the screen
shows after any number of ticks and events is exactly what painting everything afresh
shows (left to right and right to left, large and compact tiles), the model a tick
makes is the model made from scratch, and the fast money text is Babel's."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

from cashdesk.money import Money
from server_client.client import ServerClient
from server_client.live import Diff, Event, LiveState, Snapshot
from tests.client import protocol as p
from tests.gui.protocol import RATES, Shop, live_state, mixed_shop
from tests.gui.test_desk import cashier, feed, make_window
from ui.i18n import _money_text
from ui.screens import cabin_tile
from ui.screens.cabin_tile import ModelCache, tile_model

pytestmark = pytest.mark.gui


def settle(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    """Until nothing is painted any more (showing a window takes a few passes)."""
    def counts() -> list[int]:
        return [tile.paint_count for tile in window.grid.tiles.values()]
    before = None
    for _ in range(20):
        QApplication.processEvents()
        now = counts()
        if now == before:
            return
        before = now
        qtbot.wait(5)
    raise AssertionError("the window kept repainting")


def on_screen(window) -> QImage:  # type: ignore[no-untyped-def]
    """What the window's backing store holds: what partial repaints left there (a
    widget's grab() would paint it all afresh instead)."""
    return QApplication.primaryScreen().grabWindow(window.winId()).toImage()


def busy_shop(cabins: int, running: int) -> tuple[Shop, LiveState]:
    shop = Shop()
    shop.add_cabins(cabins)
    state = LiveState()
    state.load(shop.snapshot(), shop.now)
    destinations = list(RATES)
    for index in range(running):
        call_id, events = shop.dial(index % cabins + 1, destinations[index % len(destinations)])
        for event in events + shop.answer(call_id):
            state.apply(event)
        shop.advance(3)
    return shop, state


def test_a_tick_repaints_only_the_running_figures(qtbot, desk_app):
    shop, first, events = mixed_shop(12)
    state = live_state(first, events)
    window, bridge, _ = make_window(qtbot, ServerClient("http://127.0.0.1:9"), desk_app,
                                    lambda: shop.now)
    window.ticker.stop()
    window.show()
    feed(qtbot, bridge, state)
    settle(qtbot, window)
    areas: dict[int, list[tuple[int, int]]] = {}
    running = {tile.cabin.id for tile in window.grid.tiles.values() if tile.model.ticking}
    assert running, "the mixed shop has a connected call"
    for _ in range(3):
        shop.advance(1)
        before = {tile.cabin.id: tile.paint_count for tile in window.grid.tiles.values()}
        window.tick()
        QApplication.processEvents()
        for tile in window.grid.tiles.values():
            if tile.paint_count != before[tile.cabin.id]:
                assert tile.paint_count == before[tile.cabin.id] + 1
                areas.setdefault(tile.cabin.id, []).append(
                    (tile.painted.width(), tile.painted.height()))
    assert set(areas) == running
    for cabin_id, boxes in areas.items():
        tile = window.grid.tiles[cabin_id]
        assert len(boxes) == 3
        for width, height in boxes:
            # the duration and the total, not the tile
            assert width * height < tile.width() * tile.height() / 4, (boxes, tile.size())


CASES = [pytest.param("en", 12, id="large-tiles"), pytest.param("ar", 12, id="large-arabic"),
         pytest.param("fr", 64, id="compact-tiles"), pytest.param("ar", 64, id="compact-arabic")]


@pytest.mark.parametrize("language, cabins", CASES)
def test_what_ticks_leave_on_screen_is_what_a_fresh_paint_shows(qtbot, desk_app, language,
                                                                 cabins):
    desk_app.switch(language)
    shop, state = busy_shop(cabins, running=cabins // 2 + 3)
    window, bridge, _ = make_window(qtbot, ServerClient("http://127.0.0.1:9"), desk_app,
                                    lambda: shop.now, training=True)
    window.start_session(cashier(shop.now), connect=False)
    window.ticker.stop()
    window.show()
    feed(qtbot, bridge, state)
    settle(qtbot, window)
    # Seconds tick, costs step, durations pass 09:59 → 10:00 (a new shape), a call
    # ends, another starts, selection moves.
    steps = [1, 1, 4, 25, 1, 530, 37, 1, 1, 1]
    live = [call["id"] for cabin in shop.cabins.values() if cabin["session"]
            for call in cabin["session"]["calls"] if call["state"] == "answered"]
    for number, seconds in enumerate(steps):
        shop.advance(seconds)
        if number == 4:
            events = shop.hang_up(live[0])
            call_id, more = shop.dial(2, "Mali")
            events += more + shop.answer(call_id)
            changed: set[int] = set()
            for event in events:
                changed |= state.apply(event).cabins
            feed(qtbot, bridge, state, Diff(cabins=frozenset(changed)))
        if number == 7:
            window.grid.select_number(3)
        window.tick()
        QApplication.processEvents()
    settle(qtbot, window)
    ticked = on_screen(window)
    for tile in window.grid.tiles.values():
        tile._repaint_all()
    settle(qtbot, window)
    fresh = on_screen(window)
    if fresh != ticked:
        ticked.save(f"/tmp/ticked-{language}-{cabins}.png")
        fresh.save(f"/tmp/fresh-{language}-{cabins}.png")
    assert fresh == ticked


def test_the_model_a_tick_makes_is_the_model_made_afresh(desk_app):
    """`tile_model` with its cache (a tick recomputes only the connected calls) answers
    what it answers without one, at every instant and after every event."""
    rng = random.Random(11)
    shop, state = busy_shop(6, running=9)
    fmt = desk_app.formatter("Europe/Paris")
    caches = {cabin_id: ModelCache() for cabin_id in shop.cabins}
    live = [call["id"] for cabin in shop.cabins.values() if cabin["session"]
            for call in cabin["session"]["calls"] if call["state"] == "answered"]
    for step in range(120):
        shop.advance(rng.choice([0.25, 1, 1, 1, 5.5, 29, 61]))
        if step % 9 == 4 and live:
            for event in shop.hang_up(live.pop(rng.randrange(len(live)))):
                state.apply(event)
        if step % 11 == 6:
            call_id, events = shop.dial(rng.randrange(6) + 1, rng.choice(list(RATES)))
            events += shop.ring(call_id)
            if step % 2:
                events += shop.answer(call_id)
                live.append(call_id)
            for event in events:
                state.apply(event)
        view = state.view()
        for cabin in view.cabins:
            cached = tile_model(cabin, view, shop.now, fmt, caches[cabin.id])
            assert cached == tile_model(cabin, view, shop.now, fmt), (step, cabin.id)
    # the running figures did move, and every one equals the server's bill function
    assert any(row.running for cabin in state.view().cabins
               for row in tile_model(cabin, state.view(), shop.now, fmt).rows)


def test_the_model_with_pending_calls_is_the_model_made_afresh(desk_app):
    """The server's own shape: a call dialing or ringing is pending (no session yet),
    it joins the session when answered; the cached model follows every step."""
    state = LiveState()
    state.load(Snapshot.from_json(p.snapshot([p.cabin(1)], seq=1)), p.T0)
    fmt = desk_app.formatter("Europe/Paris")
    cache = ModelCache()
    seq = iter(range(2, 100))
    ended = p.call(7, state="ended", answered_at=p.later(1), ended_at=p.later(40),
                   price="0.1500", billed_seconds=42)
    dialing = p.call(8, session_id=None, state="dialing", started_at=p.later(50),
                     answered_at=None)
    steps = [
        p.cabin(1, state="in_use", pending=[dialing]),
        p.cabin(1, state="in_use", session_=p.session(10, [ended], total="0.1500"),
                pending=[dialing]),
        p.cabin(1, state="in_use", session_=p.session(10, [ended], total="0.1500"),
                pending=[dict(dialing, state="ringing")]),
        p.cabin(1, state="in_use", session_=p.session(10, [ended, dict(
            dialing, session_id=10, state="answered", answered_at=p.iso(p.later(55)))],
            total="0.1500")),
    ]
    for cabin in steps:
        state.apply(Event("cabin", next(seq), p.INSTANCE, cabin))
        for seconds in (55, 56, 61, 90):
            view = state.view()
            [live] = view.cabins
            now = p.later(seconds)
            assert tile_model(live, view, now, fmt, cache) == tile_model(live, view, now, fmt)
    assert tile_model(live, view, now, fmt, cache).ticking


def test_a_call_shown_before_it_was_stored_is_one_row(desk_app):
    """The server may publish a call's move before storing it (`"id": null`), then the
    same call (same `pbx_call_id`) with its id, and an answer before its session: the
    tile lists one row for it at every step, cached or not."""
    state = LiveState()
    state.load(Snapshot.from_json(p.snapshot([p.cabin(1)], seq=1)), p.T0)
    fmt = desk_app.formatter("Europe/Paris")
    cache = ModelCache()
    seq = iter(range(2, 100))
    call = dict(p.call(None, pbx_call_id="pbx-8", session_id=None, state="dialing",
                       started_at=p.later(50), answered_at=None))
    steps = [
        ("dialing", call),
        ("ringing", dict(call, id=8, state="ringing")),
        ("answered", dict(call, state="answered", answered_at=p.iso(p.later(55)))),
        ("answered", dict(call, id=8, session_id=10, state="answered",
                          answered_at=p.iso(p.later(55)))),
    ]
    for expected, data in steps:
        state.apply(Event("call", next(seq), p.INSTANCE, data))
        view = state.view()
        [cabin] = view.cabins
        for seconds in (55, 56, 61, 90):
            now = p.later(seconds)
            model = tile_model(cabin, view, now, fmt, cache)
            assert [row.state for row in model.rows] == [expected], (data, seconds)
            assert model == tile_model(cabin, view, now, fmt)
    assert cabin.pending == () and cabin.session is not None
    assert [c.id for c in cabin.session.calls] == [8]
    assert model.ticking and model.due is not None and model.due.amount > 0


def test_money_text_is_what_babel_writes():
    rng = random.Random(5)
    for currency in ("EUR", "USD", "JPY", "KWD", "MAD", "XOF", "GBP"):
        for locale in ("en", "fr_FR", "es_ES", "ar"):
            for _ in range(150):
                units = rng.choice([rng.randrange(100), rng.randrange(10 ** 6),
                                    rng.randrange(10 ** 12)])
                if rng.random() < 0.5:
                    units -= units % 100
                if rng.random() < 0.2:
                    units = -units
                money = Money(Decimal(units).scaleb(-4), currency)
                assert _money_text(money, locale) == money.format(locale), (money, locale)


def test_the_figures_digits_all_have_one_width(desk_app):
    """A running figure is repainted over the room its text took: a digit wider than
    another would leave a sliver of the old one."""
    from PySide6.QtGui import QFontMetrics

    look = cabin_tile._look(QApplication.font().key(), True)
    big = cabin_tile._look(QApplication.font().key(), False)
    for font in (look.small, look.total, big.small, big.cost, big.total):
        metrics = QFontMetrics(font)
        assert len({metrics.horizontalAdvance(digit) for digit in "0123456789"}) == 1, \
            font.toString()

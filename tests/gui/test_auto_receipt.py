"""A receipt after Pay, as the receipt printer settings ask: the receipt's data fetched
from the real server off the GUI thread and printed through python-escpos (its Dummy
printer standing in for the thermal one); a printer that is not there is said plainly,
and the payment stands."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from escpos.printer import Dummy
from PySide6.QtCore import Qt
from sqlalchemy import func, select

from cashdesk.receipts import PrinterConfig
from cashdesk.store.database import session_factory
from cashdesk.store.models import Transaction
from server_client.client import ServerClient
from server_client.live import EVERYTHING, LiveState
from server_client.models import Login, PaymentResult
from ui.live_bridge import LiveBridge
from ui.receipts import ReceiptPrinterSettings
from ui.receipts import form as receipt_form
from ui.screens.main_window import MainWindow
from ui.screens.receipt_printer_dialog import ReceiptPrinterDialog
from ui.workers import Operations

pytestmark = pytest.mark.gui

PRINTER = ReceiptPrinterSettings(connection=receipt_form.Connection.DEVICE,
                                 device_path="/dev/usb/lp0", paper_mm=80, auto_print=True)


@pytest.fixture
def operations() -> Iterator[Operations]:
    runner = Operations()      # kept for the whole test (see test_invoice_settings)
    yield runner
    runner.wait()


def transactions(engine) -> int:  # type: ignore[no-untyped-def]
    with session_factory(engine)() as session:
        return session.scalar(select(func.count()).select_from(Transaction)) or 0


def till(qtbot, client: ServerClient, languages, operations, paid_cabin) -> MainWindow:  # type: ignore[no-untyped-def]
    """The main window of a logged-in cashier, showing the cabin to pay."""
    bridge = LiveBridge()
    window = MainWindow(client, operations, bridge, languages,
                        formatter=languages.formatter("Europe/Paris"),
                        clock=lambda: paid_cabin.now)
    qtbot.addWidget(window)
    window.resize(1366, 768)
    login = Login(token=client.token or "", expires_at=paid_cabin.now + timedelta(hours=8),
                  user=client.me().user, shift_id=None)  # type: ignore[arg-type]
    window.start_session(login, connect=False)
    state = LiveState()
    state.load(paid_cabin.snapshot(), paid_cabin.now)
    window.show()
    with qtbot.waitSignal(bridge.sig_state, timeout=2000):
        bridge.publish(state.view(), EVERYTHING)
    return window


def pay(qtbot, window: MainWindow, cabin_id: int, cash: str = "5") -> PaymentResult:  # type: ignore[no-untyped-def]
    dialog = window.open_pay(cabin_id)
    assert dialog is not None
    qtbot.keyClicks(dialog.received, cash)
    with qtbot.waitSignal(window.sig_paid, timeout=10_000) as paid:
        qtbot.keyClick(dialog.received, Qt.Key.Key_Return)
    return paid.args[0]


def test_a_receipt_prints_after_pay_with_the_paid_total(qtbot, desk_app, operator_client,
                                                       paid_cabin, operations, monkeypatch):
    window = till(qtbot, operator_client, desk_app, operations, paid_cabin)
    dummy = Dummy()
    opened: list[PrinterConfig] = []
    monkeypatch.setattr(window.auto_receipt.printer, "_opener",
                        lambda config: opened.append(config) or dummy)
    window.auto_receipt.reload(PRINTER)
    fetched = []
    receipt = operator_client.receipt

    def watched(transaction_id: int):  # type: ignore[no-untyped-def]
        fetched.append((transaction_id, threading.current_thread()))
        return receipt(transaction_id)

    monkeypatch.setattr(operator_client, "receipt", watched)
    loads = []
    monkeypatch.setattr(ReceiptPrinterSettings, "load",
                        classmethod(lambda cls, *args: loads.append(1) or PRINTER))

    with qtbot.waitSignal(window.auto_receipt.sig_printed, timeout=10_000) as printed:
        result = pay(qtbot, window, paid_cabin.id)
    data = printed.args[0]
    assert [tid for tid, _ in fetched] == [result.transaction_id]
    assert fetched[0][1] is not threading.main_thread()
    assert data.totals.gross == result.amount_due
    assert opened[0].device_path == "/dev/usb/lp0"
    output = dummy.output
    # the paid total, the cash and the change (the euro sign is one byte of a code page)
    assert re.search(rb"Total +[^ \n]{1,3}2\.00\n", output), output
    assert re.search(rb"Cash received +[^ \n]{1,3}5\.00\n", output)
    assert re.search(rb"Change +[^ \n]{1,3}3\.00\n", output)
    assert b"Cabin 1" in output and b"Morocco" in output
    assert b"\x1dV" in output                                     # and the paper is cut
    assert loads == []                    # the settings are not read again on each Pay
    assert not window.receipt_banner.isVisible()


def test_no_receipt_is_fetched_when_auto_print_is_off(qtbot, desk_app, operator_client,
                                                      paid_cabin, operations, monkeypatch,
                                                      sqlite_engine):
    window = till(qtbot, operator_client, desk_app, operations, paid_cabin)
    window.auto_receipt.reload(ReceiptPrinterSettings(auto_print=False))
    fetched = []
    monkeypatch.setattr(operator_client, "receipt", lambda tid: fetched.append(tid))
    pay(qtbot, window, paid_cabin.id)
    operations.wait()
    qtbot.wait(20)
    assert fetched == [] and transactions(sqlite_engine) == 1


def test_a_missing_printer_is_said_plainly_and_the_payment_stands(
        qtbot, desk_app, operator_client, paid_cabin, operations, sqlite_engine):
    window = till(qtbot, operator_client, desk_app, operations, paid_cabin)
    # the real opener, on a device file that is not there
    window.auto_receipt.reload(ReceiptPrinterSettings(
        connection=receipt_form.Connection.DEVICE, device_path="/dev/usb/no-such-lp9",
        auto_print=True))
    with qtbot.waitSignal(window.auto_receipt.sig_failed, timeout=10_000) as failed:
        pay(qtbot, window, paid_cabin.id)
    message = failed.args[0]
    assert "/dev/usb/no-such-lp9" in message and "payment is recorded" in message, message
    assert window.receipt_banner.isVisible() and window.receipt_banner.message == message
    assert transactions(sqlite_engine) == 1                         # the money is taken
    assert "paid" in window.toast.text()
    qtbot.mouseClick(window.receipt_banner.dismiss_button, Qt.MouseButton.LeftButton)
    assert not window.receipt_banner.isVisible()


def test_saving_the_receipt_printer_form_turns_auto_print_on(qtbot, desk_app, connect,
                                                             paid_cabin, operations,
                                                             monkeypatch):
    """The Settings menu's form: what it saves is what the next Pay prints with."""
    saved = []
    monkeypatch.setattr(ReceiptPrinterSettings, "save",
                        lambda self, store=None: saved.append(self))   # not the user's file
    admin = connect("admin_a")
    window = till(qtbot, admin, desk_app, operations, paid_cabin)
    window.auto_receipt.reload(ReceiptPrinterSettings(auto_print=False))
    window.printer_settings_action.trigger()
    dialog = window.settings_dialog
    assert isinstance(dialog, ReceiptPrinterDialog)
    form = dialog.form
    form.connection.setCurrentIndex(form.connection.findData("device"))
    form.device_path.setText("/dev/usb/lp0")
    form.auto_print.setChecked(True)
    form.device_path.setFocus()
    with qtbot.waitSignal(dialog.finished, timeout=5000):
        qtbot.keyClick(form.device_path, Qt.Key.Key_Return)         # Enter saves
    assert saved and saved[0].auto_print
    assert window.auto_receipt.settings == saved[0]
    assert window.toast.text() == "Receipt printer settings saved."

    dummy = Dummy()
    monkeypatch.setattr(window.auto_receipt.printer, "_opener", lambda config: dummy)
    with qtbot.waitSignal(window.auto_receipt.sig_printed, timeout=10_000):
        pay(qtbot, window, paid_cabin.id)
    assert b"Cabin 1" in dummy.output

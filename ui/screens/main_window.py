"""The till: header (shop, who is logged in, connection), the cabin grid, and the
keyboard shortcuts that let the cashier work without a mouse.

Everything live comes from the `LiveBridge` (signals on the GUI thread); every server
call goes through `Operations` (a worker thread). This window only arranges the
screens and routes their signals.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from PySide6.QtCore import QEvent, QRect, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QColor,
    QFont,
    QKeyEvent,
    QKeySequence,
    QPainter,
    QPaintEvent,
    QPixmap,
)
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from cashdesk.auth.roles import Permission, allowed
from server_client.client import ServerClient
from server_client.events import ConnectionStatus
from server_client.live import Diff, LiveView
from server_client.models import Login, PaymentResult
from ui import theme
from ui.i18n import Formatter, Languages, fill
from ui.invoices import InvoiceMiniature
from ui.invoices.viewer import open_invoice
from ui.live_bridge import LiveBridge
from ui.receipts.after_pay import AutoReceipt, ReceiptBanner
from ui.screens.cabin_grid import CabinGrid
from ui.screens.history_dialog import HistoryDialog
from ui.screens.invoice_settings import InvoiceSettingsDialog
from ui.screens.pay_dialog import PayDialog
from ui.screens.receipt_printer_dialog import ReceiptPrinterDialog
from ui.workers import Operations

Clock = Callable[[], datetime]
F_KEYS = {getattr(Qt.Key, f"Key_F{n}"): n for n in range(1, 13)}


class Watermark(QWidget):
    """A large diagonal TRAINING over the grid, so nobody mistakes it for the shop.

    It lies over the tiles, so every tile repainted repaints the part of it above: it
    is painted once into a picture (per size and text), and that part copied."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.text = ""
        self._picture: QPixmap | None = None
        self._inked = QRect()       # where the picture is not transparent
        self._key: tuple[object, ...] = ()

    def paintEvent(self, event: QPaintEvent) -> None:
        if not self.text:
            return
        ratio = self.devicePixelRatioF()
        key = (self.text, self.size(), ratio, QApplication.font().key())
        if self._picture is None or key != self._key:
            self._picture, self._key = self._paint_picture(ratio), key
        p = QPainter(self)
        # Each repainted tile's rectangle, not their bounding box (most of the grid).
        areas: list[QRect] = list(event.region())  # type: ignore[call-overload]
        for area in areas:
            area = area.intersected(self._inked)
            if not area.isEmpty():
                p.drawPixmap(QRectF(area), self._picture,
                             QRectF(area.x() * ratio, area.y() * ratio, area.width() * ratio,
                                    area.height() * ratio))
        p.end()

    def _paint_picture(self, ratio: float) -> QPixmap:
        picture = QPixmap(max(1, round(self.width() * ratio)),
                          max(1, round(self.height() * ratio)))
        picture.setDevicePixelRatio(ratio)
        picture.fill(Qt.GlobalColor.transparent)
        p = QPainter(picture)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        font = QFont(theme.font(72, bold=True))
        p.setFont(font)
        p.setPen(QColor(123, 31, 162, 28))
        p.translate(self.width() / 2, self.height() / 2)
        p.rotate(-24)
        box = QRect(-self.width(), -80, 2 * self.width(), 160)
        drawn = p.boundingRect(box, Qt.AlignmentFlag.AlignCenter, self.text)
        p.drawText(box, Qt.AlignmentFlag.AlignCenter, self.text)
        self._inked = p.transform().mapRect(drawn).adjusted(-2, -2, 2, 2)
        p.end()
        return picture


class MainWindow(QMainWindow):
    sig_logged_off = Signal(str)        # a message for the login screen ("" normally)
    sig_open_invoice = Signal(int)      # transaction id (the invoice screens open it)
    sig_paid = Signal(object)           # PaymentResult

    def __init__(self, client: ServerClient, operations: Operations, bridge: LiveBridge,
                 languages: Languages | None = None, *, formatter: Formatter | None = None,
                 training: bool = False, clock: Clock | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("MainWindow")
        self.client = client
        self.operations = operations
        self.bridge = bridge
        self.languages = languages
        self.clock = clock or (lambda: datetime.now(UTC))
        self.formatter = formatter or Formatter()
        self.training = training
        self.login: Login | None = None
        self.view: LiveView | None = None
        self.connection = ConnectionStatus.OFFLINE
        self.connection_reason = ""
        self.pay_dialog: PayDialog | None = None
        self.history_dialog: HistoryDialog | None = None
        self.settings_dialog: InvoiceSettingsDialog | ReceiptPrinterDialog | None = None
        self.logging_off = False
        self._digits = ""
        self.setWindowIcon(theme.app_icon())
        self.resize(1366, 768)

        central = QWidget(self)
        column = QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        self.setCentralWidget(central)
        # After a Pay with the invoice box ticked: page 1 at the bottom right, a click
        # opens it full screen (hidden until then).
        self.invoice_card = InvoiceMiniature(central)

        # header
        self.header = QFrame(central)
        self.header.setObjectName("Header")
        row = QHBoxLayout(self.header)
        row.setContentsMargins(18, 8, 18, 8)
        row.setSpacing(12)
        names = QVBoxLayout()
        names.setSpacing(0)
        self.shop_label = QLabel(self.header)
        self.shop_label.setObjectName("ShopName")
        self.detail_label = QLabel(self.header)
        self.detail_label.setObjectName("HeaderDetail")
        names.addWidget(self.shop_label)
        names.addWidget(self.detail_label)
        row.addLayout(names)
        row.addStretch(1)
        self.server_indicator = QLabel(self.header)
        self.server_indicator.setObjectName("Indicator")
        self.switch_indicator = QLabel(self.header)
        self.switch_indicator.setObjectName("Indicator")
        self.balance_label = QLabel(self.header)
        self.balance_label.setObjectName("Indicator")
        self.operator_label = QLabel(self.header)
        self.operator_label.setObjectName("OperatorBadge")
        for widget in (self.server_indicator, self.switch_indicator, self.balance_label,
                       self.operator_label):
            row.addWidget(widget)
        column.addWidget(self.header)

        self.training_banner = QLabel(central)
        self.training_banner.setObjectName("TrainingBanner")
        self.training_banner.setAlignment(Qt.AlignmentFlag.AlignCenter)
        column.addWidget(self.training_banner)
        self.offline_banner = QLabel(central)
        self.offline_banner.setObjectName("OfflineBanner")
        self.offline_banner.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.offline_banner.setWordWrap(True)
        self.offline_banner.hide()
        column.addWidget(self.offline_banner)
        # A receipt after each Pay when the receipt printer settings say so; one that
        # does not print is said in a banner (the payment is recorded all the same).
        self.auto_receipt = AutoReceipt(client, operations, self)
        self.receipt_banner = ReceiptBanner(central)
        column.addWidget(self.receipt_banner)
        self.auto_receipt.sig_failed.connect(self.receipt_banner.show_message)
        self.auto_receipt.sig_printed.connect(lambda _: self.receipt_banner.hide())

        self.grid = CabinGrid(self.formatter, self.clock, central)
        self.grid.sig_pay.connect(self.open_pay)
        self.grid.sig_history.connect(self.open_history)
        column.addWidget(self.grid, 1)
        self.watermark = Watermark(self.grid.viewport())
        self.grid.viewport().installEventFilter(self)

        self.toast = QLabel(central)
        self.toast.setObjectName("Toast")
        self.toast.hide()
        self._toast_timer = QTimer(self)
        self._toast_timer.setSingleShot(True)
        self._toast_timer.timeout.connect(self.toast.hide)

        # status bar: the keys, and progress of what runs in the background
        self.keys_label = QLabel(self)
        self.statusBar().addWidget(self.keys_label, 1)
        self.busy_bar = QProgressBar(self)
        self.busy_bar.setRange(0, 0)
        self.busy_bar.setFixedWidth(120)
        self.busy_bar.hide()
        self.statusBar().addPermanentWidget(self.busy_bar)
        operations.sig_busy.connect(lambda n: self.busy_bar.setVisible(n > 0))
        operations.sig_error.connect(self._operation_failed)

        self._build_actions()
        self._digit_timer = QTimer(self)
        self._digit_timer.setSingleShot(True)
        self._digit_timer.setInterval(900)
        self._digit_timer.timeout.connect(lambda: setattr(self, "_digits", ""))
        self.ticker = QTimer(self)
        self.ticker.setInterval(1000)
        self.ticker.timeout.connect(self.tick)

        bridge.sig_state.connect(self.show_state)
        bridge.sig_connection.connect(self.show_connection)
        bridge.sig_auth_lost.connect(self._auth_lost)
        self.retranslate()
        self._update_header()

    # --- actions and keys ------------------------------------------------------------
    def _build_actions(self) -> None:
        menu = self.menuBar()
        self.cabin_menu = menu.addMenu("")
        self.shift_menu = menu.addMenu("")
        self.settings_menu = menu.addMenu("")
        self.settings_menu.menuAction().setVisible(False)   # admins only (start_session)
        self.pay_action = QAction(self)
        self.pay_action.setShortcuts([QKeySequence(Qt.Key.Key_Return),
                                      QKeySequence(Qt.Key.Key_Enter)])
        self.pay_action.triggered.connect(self.pay_selected)
        self.invoice_action = QAction(self)
        self.invoice_action.setShortcut(QKeySequence(Qt.Key.Key_I))
        self.invoice_action.triggered.connect(self.toggle_invoice)
        self.history_action = QAction(self)
        self.history_action.setShortcut(QKeySequence(Qt.Key.Key_H))
        self.history_action.triggered.connect(self.history_selected)
        self.logoff_action = QAction(self)
        self.logoff_action.setShortcut(QKeySequence("Ctrl+L"))
        self.logoff_action.triggered.connect(self.log_off)
        for action in (self.pay_action, self.invoice_action, self.history_action):
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            self.cabin_menu.addAction(action)
        self.shift_menu.addAction(self.logoff_action)
        self.invoice_settings_action = QAction(self)
        self.invoice_settings_action.triggered.connect(self.open_invoice_settings)
        self.printer_settings_action = QAction(self)
        self.printer_settings_action.triggered.connect(self.open_receipt_printer)
        self.settings_menu.addAction(self.invoice_settings_action)
        self.settings_menu.addAction(self.printer_settings_action)

    def retranslate(self) -> None:
        self.setWindowTitle(self.tr("Cash desk"))
        self.cabin_menu.setTitle(self.tr("&Cabin"))
        self.shift_menu.setTitle(self.tr("&Shift"))
        self.settings_menu.setTitle(self.tr("Se&ttings"))
        self.invoice_settings_action.setText(self.tr("&Invoice settings…"))
        self.printer_settings_action.setText(self.tr("&Receipt printer…"))
        self.pay_action.setText(self.tr("Pay the selected cabin"))
        self.invoice_action.setText(self.tr("Invoice for the selected cabin"))
        self.history_action.setText(self.tr("History of the selected cabin"))
        self.logoff_action.setText(self.tr("Log off (end my shift)"))
        for action in (self.pay_action, self.invoice_action, self.history_action,
                       self.logoff_action):
            keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            action.setToolTip(f"{action.text()} ({keys})")
        self.keys_label.setText(self.tr(
            "Keys: 1–64 or F1–F12 select a cabin · arrows move · Enter pay · I invoice · "
            "H history · Ctrl+L log off"))
        self.training_banner.setText(self.tr(
            "TRAINING MODE — simulated customers, no real money is taken"))
        self.watermark.text = self.tr("TRAINING") if self.training else ""
        self.training_banner.setVisible(self.training)
        self._update_header()
        self._update_connection()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
            if self.languages is not None:
                self.set_formatter(self.languages.formatter(
                    self.view.shop.timezone if self.view and self.view.shop else None))
        super().changeEvent(event)

    def set_formatter(self, formatter: Formatter) -> None:
        self.formatter = formatter
        self.grid.set_formatter(formatter)
        self._update_header()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key in F_KEYS and not event.modifiers():
            self.grid.select_number(F_KEYS[key])
            return
        text = event.text()
        if text and text.isdigit() and not event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
            digit = str(int(text))  # Arabic-Indic digits too
            candidate = self._digits + digit
            if self._digits and self.grid.select_number(int(candidate)):
                self._digits = candidate
            else:
                self._digits = digit
                self.grid.select_number(int(digit) if digit != "0" else 10)
            self._digit_timer.start()
            return
        moves = {Qt.Key.Key_Left: (-1, 0), Qt.Key.Key_Right: (1, 0),
                 Qt.Key.Key_Up: (0, -1), Qt.Key.Key_Down: (0, 1)}
        if key in moves:
            self.grid.move_selection(*moves[key])
            return
        super().keyPressEvent(event)

    def resizeEvent(self, event: object) -> None:
        super().resizeEvent(event)  # type: ignore[arg-type]
        self._place_toast()

    def eventFilter(self, watched: object, event: QEvent) -> bool:
        if watched is self.grid.viewport() and event.type() == QEvent.Type.Resize:
            self.watermark.setGeometry(self.grid.viewport().rect())
            self.watermark.raise_()
        return super().eventFilter(watched, event)  # type: ignore[arg-type]

    # --- the session -------------------------------------------------------------------
    def start_session(self, login: Login, *, connect: bool = True) -> None:
        """After a login: show who is at the till and follow the shop live."""
        self.login = login
        self.logging_off = False
        # A courtesy: the server refuses the settings to anyone else anyway.
        self.settings_menu.menuAction().setVisible(
            allowed(login.user.role, Permission.MANAGE_INVOICE_SETTINGS))
        self._update_header()
        if connect:
            self.bridge.start(self.client)
        self.ticker.start()
        self.grid.setFocus()

    def log_off(self) -> None:
        """End the shift: the server closes it, the next cashier logs in."""
        if self.logging_off or self.login is None:
            return
        if self.pay_dialog is not None and self.pay_dialog.in_flight:
            return
        self.logging_off = True
        self.bridge.stop()
        self.ticker.stop()
        client = self.client
        self.operations.run(client.logout, on_done=lambda _: self._logged_off(""),
                            on_failed=lambda exc: self._logged_off(""), label="logout")

    def _logged_off(self, message: str) -> None:
        self.login = None
        self.logging_off = False
        for dialog in (self.pay_dialog, self.history_dialog, self.settings_dialog):
            if dialog is not None:
                dialog.close()
        self.settings_menu.menuAction().setVisible(False)
        self._update_header()
        self.sig_logged_off.emit(message)

    def _auth_lost(self, reason: str) -> None:
        self.bridge.stop()
        self.ticker.stop()
        self.client.token = None
        self._logged_off(self.tr("Your login has ended: please log in again."))

    # --- live ----------------------------------------------------------------------------
    def show_state(self, view: LiveView, diff: Diff) -> None:
        first = self.view is None or self.view.shop != view.shop
        self.view = view
        if first and view.shop is not None:
            self.training = self.training or view.shop.training
            if self.languages is not None:
                self.formatter = self.languages.formatter(view.shop.timezone)
                self.grid.formatter = self.formatter
            self.retranslate()
        self.grid.apply(view, diff)
        if diff.everything or diff.balance or diff.switch or first:
            self._update_header()
            self._update_connection()
        elif diff.cabins:
            self._update_counts()

    def show_connection(self, status: str, reason: str) -> None:
        self.connection = ConnectionStatus(status)
        self.connection_reason = reason
        self._update_connection()

    def tick(self) -> None:
        self.grid.tick()

    def _update_header(self) -> None:
        view = self.view
        shop = view.shop if view is not None else None
        self.shop_label.setText(shop.name if shop else self.tr("Cash desk"))
        login = self.login
        if login is not None:
            name = login.user.display_name or login.user.username
            self.operator_label.setText(fill(self.tr("● %1 on shift"), name))
            self.operator_label.setToolTip(fill(self.tr("Logged in since %1 — Ctrl+L to log off"),
                                                self.formatter.time(self.clock())))
        else:
            self.operator_label.setText(self.tr("Nobody logged in"))
        self.operator_label.setVisible(True)
        if view is not None and view.balance is not None:
            self.balance_label.setText(fill(self.tr("Credit %1"),
                                            self.formatter.money(view.balance.available)))
            self.balance_label.setToolTip(self.tr("Prepaid credit available for calls"))
            self.balance_label.show()
        else:
            self.balance_label.hide()
        self._update_counts()

    def _update_counts(self) -> None:
        """How many cabins, in use, to pay: after every change of a cabin (they were
        counted only at a snapshot, and read "0 in use" on a busy afternoon)."""
        view = self.view
        cabins = view.cabins if view is not None else ()
        busy = sum(1 for c in cabins if c.state == "in_use")
        waiting = sum(1 for c in cabins if c.state == "awaiting_payment")
        text = (self.tr("%n cabin(s)", "", len(cabins)) + " · " +
                self.tr("%n in use", "", busy) + " · " + self.tr("%n to pay", "", waiting))
        if text != self.detail_label.text():
            self.detail_label.setText(text)

    def _set_indicator(self, label: QLabel, level: str, text: str, tip: str) -> None:
        label.setText(text)
        label.setToolTip(tip)
        if label.property("level") != level:
            label.setProperty("level", level)
            label.style().unpolish(label)
            label.style().polish(label)

    def _update_connection(self) -> None:
        status = self.connection
        view = self.view
        live = status == ConnectionStatus.LIVE and view is not None and not view.stale
        if live:
            self._set_indicator(self.server_indicator, "ok", self.tr("● Server: live"),
                                self.tr("Connected to the server; the tiles are live."))
            self.offline_banner.hide()
        elif status == ConnectionStatus.CONNECTING:
            self._set_indicator(self.server_indicator, "warn", self.tr("● Server: connecting…"),
                                self.connection_reason)
            self._show_offline(view)
        else:
            self._set_indicator(self.server_indicator, "bad", self.tr("● Server: unreachable"),
                                self.connection_reason)
            self._show_offline(view)
        switch = view.switch if view is not None else None
        if switch is None or not live:
            # Only the server knows the switch: without it, a green "Phones: OK" would
            # be a guess.
            self.switch_indicator.hide()
        else:
            self.switch_indicator.show()
            if switch.connected:
                self._set_indicator(self.switch_indicator, "ok", self.tr("● Phones: OK"),
                                    fill(self.tr("The telephone switch (%1) is connected."),
                                         switch.kind))
            else:
                self._set_indicator(self.switch_indicator, "bad",
                                    self.tr("● Phones: unreachable"),
                                    fill(self.tr("The telephone switch (%1) does not answer: "
                                                 "no call can be made."), switch.kind))

    def _show_offline(self, view: LiveView | None) -> None:
        if self.login is None:
            self.offline_banner.hide()
            return
        if view is not None and view.loaded:
            text = self.tr("Connection to the server lost — the tiles show the last known "
                           "state and are not live. Reconnecting…")
        else:
            text = self.tr("Connecting to the server…")
        self.offline_banner.setText(text)
        self.offline_banner.setVisible(view is None or view.stale or
                                       self.connection != ConnectionStatus.LIVE)

    # --- cabin actions ------------------------------------------------------------------
    def pay_selected(self) -> None:
        if self.grid.selected is not None:
            self.open_pay(self.grid.selected)

    def toggle_invoice(self) -> None:
        tile = self.grid.selected_tile()
        if tile is not None and tile.model is not None and tile.model.has_session:
            tile.toggle_invoice()

    def history_selected(self) -> None:
        if self.grid.selected is not None:
            self.open_history(self.grid.selected)

    def open_pay(self, cabin_id: int) -> PayDialog | None:
        view = self.view
        cabin = view.cabin(cabin_id) if view is not None else None
        if cabin is None or cabin.session is None or self.login is None:
            return None
        if self.pay_dialog is not None and self.pay_dialog.isVisible():
            return self.pay_dialog
        self.grid.select(cabin_id)
        tile = self.grid.tiles.get(cabin_id)
        dialog = PayDialog(cabin, view, client=self.client,  # type: ignore[arg-type]
                           operations=self.operations, bridge=self.bridge,
                           formatter=self.formatter, invoice=tile.invoice if tile else False,
                           training=self.training, clock=self.clock, parent=self)
        dialog.sig_paid.connect(self._paid)
        dialog.finished.connect(lambda _: self._dialog_closed(dialog))
        self.pay_dialog = dialog
        dialog.open()
        return dialog

    def _dialog_closed(self, dialog: PayDialog) -> None:
        if self.pay_dialog is dialog:
            self.pay_dialog = None
        dialog.deleteLater()
        self.grid.setFocus()

    def _paid(self, result: PaymentResult) -> None:
        tile = self.grid.tiles.get(result.cabin_id)
        if tile is not None:
            tile.set_invoice(False)
        name = tile.cabin.name if tile is not None else str(result.cabin_id)
        self.show_toast(fill(self.tr("%1 paid — change %2"), name,
                             self.formatter.money(result.change)))
        if result.invoice is not None:
            transaction_id = result.transaction_id
            self.invoice_card.show_invoice_from(
                lambda: self.client.invoice_pdf(transaction_id),
                fill(self.tr("Invoice %1"), result.invoice.number))
        self.auto_receipt.after_payment(result)
        self.sig_paid.emit(result)

    def open_history(self, cabin_id: int) -> HistoryDialog | None:
        tile = self.grid.tiles.get(cabin_id)
        if tile is None or self.login is None:
            return None
        self.grid.select(cabin_id)
        dialog = HistoryDialog(cabin_id, tile.cabin.name, client=self.client,
                               operations=self.operations, formatter=self.formatter,
                               training=self.training, parent=self)
        dialog.sig_open_invoice.connect(self.sig_open_invoice)
        dialog.sig_open_invoice.connect(self.open_invoice)
        dialog.finished.connect(lambda _: setattr(self, "history_dialog", None))
        self.history_dialog = dialog
        dialog.open()
        dialog.load()
        return dialog

    def open_invoice(self, transaction_id: int) -> None:
        """Reopen an earlier invoice full screen (downloaded off the GUI thread)."""
        open_invoice(lambda: self.client.invoice_pdf(transaction_id),
                     fill(self.tr("Invoice of payment %1"), str(transaction_id)), parent=self)

    # --- settings (admins) ----------------------------------------------------------------
    def open_invoice_settings(self) -> InvoiceSettingsDialog | None:
        """The shop's invoice settings, loaded from the server (in a worker)."""
        if self.login is None or self.settings_dialog is not None:
            return None
        dialog = InvoiceSettingsDialog(self.client, self.operations, formatter=self.formatter,
                                       clock=self.clock, parent=self)
        dialog.sig_saved.connect(lambda _: self.show_toast(self.tr("Invoice settings saved.")))
        self._open_settings(dialog)
        dialog.load()
        return dialog

    def open_receipt_printer(self) -> ReceiptPrinterDialog | None:
        """This till's receipt printer; saving it changes what happens after Pay."""
        if self.login is None or self.settings_dialog is not None:
            return None
        dialog = ReceiptPrinterDialog(self)
        dialog.sig_saved.connect(self.auto_receipt.reload)
        dialog.sig_saved.connect(
            lambda _: self.show_toast(self.tr("Receipt printer settings saved.")))
        self._open_settings(dialog)
        return dialog

    def _open_settings(self, dialog: InvoiceSettingsDialog | ReceiptPrinterDialog) -> None:
        self.settings_dialog = dialog
        dialog.finished.connect(lambda _: self._settings_closed(dialog))
        dialog.open()

    def _settings_closed(self, dialog: InvoiceSettingsDialog | ReceiptPrinterDialog) -> None:
        if self.settings_dialog is dialog:
            self.settings_dialog = None
        dialog.deleteLater()
        self.grid.setFocus()

    # --- messages -------------------------------------------------------------------------
    def show_toast(self, text: str, msecs: int = 5000) -> None:
        self.toast.setText(text)
        self.toast.adjustSize()
        self._place_toast()
        self.toast.show()
        self.toast.raise_()
        self._toast_timer.start(msecs)

    def _place_toast(self) -> None:
        central = self.centralWidget()
        size = self.toast.sizeHint()
        self.toast.setGeometry((central.width() - size.width()) // 2,
                               central.height() - size.height() - 24, size.width(),
                               size.height())

    def _operation_failed(self, label: str, exc: BaseException) -> None:
        self.show_toast(fill(self.tr("Something failed: %1"), str(exc)))

    def closeEvent(self, event: object) -> None:
        self.bridge.stop()
        super().closeEvent(event)  # type: ignore[arg-type]


__all__ = ["MainWindow", "QMessageBox"]

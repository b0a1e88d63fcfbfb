"""A small picture of the invoice just issued, in a corner of the main window.

After a Pay with the invoice box ticked, the main window calls
`miniature.show_invoice(pdf, title)` (or `show_invoice_from(fetch, title)` to
download it first). The first page is rendered on the thread pool and shown in a
card floating at the bottom right of the parent widget; clicking it (or Enter/Space
when it has focus) opens the full `InvoiceViewer`; ✕ dismisses it.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QRect, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QEnterEvent,
    QImage,
    QKeyEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
)
from PySide6.QtWidgets import (
    QAbstractButton,
    QFrame,
    QGraphicsDropShadowEffect,
    QHBoxLayout,
    QLabel,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ui.invoices.background import run_in_background
from ui.invoices.pdf import render_page
from ui.invoices.viewer import InvoiceViewer

PAGE_WIDTH = 170         # logical pixels of the page picture
A4_RATIO = 297 / 210     # until the real page is known
ANCHOR_MARGIN = 16


class _PagePicture(QAbstractButton):
    """The rendered page, clickable and focusable, with a placeholder while rendering."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.image = QImage()
        self.placeholder = ""
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setFixedSize(QSize(PAGE_WIDTH + 2, round(PAGE_WIDTH * A4_RATIO) + 2))

    def set_image(self, image: QImage) -> None:
        self.image = image
        ratio = image.devicePixelRatio() or 1.0
        height = round(image.height() / ratio)
        self.setFixedSize(QSize(PAGE_WIDTH + 2, min(height, round(PAGE_WIDTH * 1.6)) + 2))
        self.update()

    def set_placeholder(self, text: str) -> None:
        self.image = QImage()
        self.placeholder = text
        self.setFixedSize(QSize(PAGE_WIDTH + 2, round(PAGE_WIDTH * A4_RATIO) + 2))
        self.update()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.click()
            return
        super().keyPressEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        page = self.rect().adjusted(1, 1, -1, -1)
        painter.fillRect(page, Qt.GlobalColor.white)
        if not self.image.isNull():
            # The picture may be taller than the card: show the top of the page.
            ratio = self.image.devicePixelRatio() or 1.0
            source = QRect(0, 0, self.image.width(),
                           min(self.image.height(), round(page.height() * ratio)))
            painter.drawImage(page.topLeft(), self.image, source)
        elif self.placeholder:
            painter.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(page.adjusted(8, 8, -8, -8),
                             Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                             self.placeholder)
        highlighted = self.hasFocus() or self.underMouse()
        color = (self.palette().color(QPalette.ColorRole.Highlight) if highlighted
                 else QColor(0, 0, 0, 60))
        painter.setPen(QPen(color, 2 if highlighted else 1))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(self.rect().adjusted(0, 0, -1, -1))

    def enterEvent(self, event: QEnterEvent) -> None:
        self.update()
        super().enterEvent(event)

    def leaveEvent(self, event: QEvent) -> None:
        self.update()
        super().leaveEvent(event)


class InvoiceMiniature(QFrame):
    """A card with the first page of an invoice; click to open it full screen.

    Give it the widget it floats over as parent (the main window's central widget):
    it keeps itself at that widget's bottom right corner (bottom left in a
    right-to-left layout), above that widget's other children, and stays hidden until
    `show_invoice`. With `anchored=False` it is an ordinary widget for a layout.
    """

    #: The page picture is on screen (tests and screenshots wait for it).
    sig_rendered = Signal()
    #: The invoice could not be downloaded or read; the text is for the cashier.
    sig_failed = Signal(str)
    #: The full viewer was opened (the dialog is passed along).
    sig_viewer_opened = Signal(object)
    #: The cashier dismissed the card.
    sig_closed = Signal()

    # What the card is doing, for the placeholder text (retranslated on a language change).
    _IDLE, _DOWNLOADING, _RENDERING, _SHOWN, _FAILED = range(5)

    def __init__(self, parent: QWidget | None = None, *, anchored: bool = True) -> None:
        super().__init__(parent)
        self.setObjectName("invoiceMiniature")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet(
            "#invoiceMiniature { background: palette(base); border: 1px solid "
            "rgba(0, 0, 0, 40); border-radius: 8px; }")
        shadow = QGraphicsDropShadowEffect(self)
        shadow.setBlurRadius(24)
        shadow.setOffset(0, 4)
        shadow.setColor(QColor(0, 0, 0, 90))
        self.setGraphicsEffect(shadow)

        self._pdf: bytes | None = None
        self._title = ""
        self._state = self._IDLE
        self._generation = 0         # a newer invoice makes older renders stale
        self._viewer: InvoiceViewer | None = None
        self._anchored = anchored and parent is not None

        # Word-wrapped, so "Invoice" and a long number both show, on two lines if need be.
        self.title_label = QLabel(self)
        self.title_label.setObjectName("invoiceMiniatureTitle")
        self.title_label.setWordWrap(True)
        font = self.title_label.font()
        font.setBold(True)
        self.title_label.setFont(font)
        self.close_button = QToolButton(self)
        self.close_button.setObjectName("invoiceMiniatureClose")
        self.close_button.setAutoRaise(True)
        self.close_button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.close_button.clicked.connect(self.dismiss)

        self.page = _PagePicture(self)
        self.page.clicked.connect(self.open_viewer)

        self.hint = QLabel(self)
        self.hint.setObjectName("invoiceMiniatureHint")
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        hint_font = self.hint.font()
        hint_font.setPointSizeF(hint_font.pointSizeF() * 0.85)
        self.hint.setFont(hint_font)
        self.hint.setForegroundRole(QPalette.ColorRole.PlaceholderText)

        header = QHBoxLayout()
        header.setContentsMargins(0, 0, 0, 0)
        header.setSpacing(4)
        header.addWidget(self.title_label, 1)
        header.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 8)
        layout.setSpacing(6)
        layout.addLayout(header)
        layout.addWidget(self.page, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(self.hint)
        self.setFixedWidth(PAGE_WIDTH + 2 + 20)
        self.retranslate()

        if self._anchored:
            assert parent is not None
            parent.installEventFilter(self)
        self.hide()

    def retranslate(self) -> None:
        """Every visible text, again (Qt sends LanguageChange when the language changes)."""
        self.close_button.setText(self.tr("✕"))
        self.close_button.setToolTip(self.tr("Close the invoice preview"))
        self.close_button.setAccessibleName(self.tr("Close the invoice preview"))
        self.page.setAccessibleName(self.tr("Open the invoice"))
        self.hint.setText(self.tr("Click to open, print or save"))
        placeholders = {self._IDLE: "",
                        self._DOWNLOADING: self.tr("Downloading the invoice…"),
                        self._RENDERING: self.tr("Preparing the invoice…"),
                        self._FAILED: self.tr("The invoice cannot be shown.")}
        if self._state in placeholders:
            self.page.set_placeholder(placeholders[self._state])
        if self._state != self._FAILED:
            self.page.setToolTip(self.tr("Open the invoice"))

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    # --- public -------------------------------------------------------------------
    def show_invoice(self, pdf: bytes, title: str) -> None:
        """Show the invoice `pdf` (its bytes) captioned `title`, e.g. "Invoice
        INV-2026-000042". Returns at once; the picture follows (`sig_rendered`)."""
        self._generation += 1
        generation = self._generation
        self._pdf = bytes(pdf)
        self._set_title(title)
        self._set_state(self._RENDERING)
        self._appear()
        ratio = self.devicePixelRatioF() or 1.0
        width = round(PAGE_WIDTH * ratio)
        data = self._pdf
        run_in_background(self, lambda: render_page(data, 0, width),
                          lambda image: self._rendered(generation, image, ratio),
                          lambda exc: self._render_failed(generation, exc))

    def show_invoice_from(self, fetch: Callable[[], bytes], title: str) -> None:
        """Download with `fetch()` off the GUI thread (for example
        `lambda: client.invoice_pdf(transaction_id)`), then `show_invoice`."""
        self._generation += 1
        generation = self._generation
        self._pdf = None
        self._set_title(title)
        self._set_state(self._DOWNLOADING)
        self._appear()

        def downloaded(pdf: bytes) -> None:
            if generation == self._generation:
                self.show_invoice(pdf, title)

        run_in_background(self, fetch, downloaded,
                          lambda exc: self._render_failed(generation, exc))

    def open_viewer(self) -> InvoiceViewer | None:
        """Open the invoice full screen (again, if it is open already)."""
        if self._pdf is None or self._state == self._FAILED:
            return None
        if self._viewer is not None:
            self._viewer.close()
        viewer = InvoiceViewer(self._pdf, self._title, self.window())
        viewer.destroyed.connect(self._viewer_gone)
        self._viewer = viewer
        viewer.present()
        self.sig_viewer_opened.emit(viewer)
        return viewer

    def dismiss(self) -> None:
        """Hide the card and forget the invoice."""
        self._generation += 1
        self._pdf = None
        self._set_state(self._IDLE)
        self.hide()
        self.sig_closed.emit()

    @property
    def pdf(self) -> bytes | None:
        return self._pdf

    @property
    def title(self) -> str:
        return self._title

    def image(self) -> QImage:
        """The page picture shown (null while rendering)."""
        return self.page.image

    # --- internals ----------------------------------------------------------------
    def _set_title(self, title: str) -> None:
        self._title = title
        self.title_label.setText(title)
        self.title_label.setToolTip(title)

    def _set_state(self, state: int) -> None:
        self._state = state
        self.page.setEnabled(state in (self._RENDERING, self._SHOWN))
        self.retranslate()

    def _appear(self) -> None:
        self.adjustSize()
        self.show()
        self.raise_()
        self._place()

    def _rendered(self, generation: int, image: QImage, ratio: float) -> None:
        if generation != self._generation:
            return
        image.setDevicePixelRatio(ratio)
        self._set_state(self._SHOWN)
        self.page.set_image(image)
        self.adjustSize()
        self._place()
        self.sig_rendered.emit()

    def _render_failed(self, generation: int, exc: BaseException) -> None:
        if generation != self._generation:
            return
        self._set_state(self._FAILED)
        self.page.setToolTip(str(exc))
        self.adjustSize()
        self._place()
        self.sig_failed.emit(self.tr("The invoice cannot be shown: %1").replace("%1", str(exc)))

    def _viewer_gone(self) -> None:
        self._viewer = None

    def _place(self) -> None:
        parent = self.parentWidget()
        if not self._anchored or parent is None:
            return
        self.resize(self.sizeHint().expandedTo(self.minimumSizeHint()))
        size = self.size()   # after the fixed width and the layout's limits
        rect = parent.rect()
        # The trailing corner: bottom left when the window is laid out right to left.
        left = (rect.left() + ANCHOR_MARGIN if parent.isRightToLeft()
                else rect.right() - size.width() - ANCHOR_MARGIN + 1)
        self.move(left, rect.bottom() - size.height() - ANCHOR_MARGIN + 1)
        self.raise_()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.parentWidget() and event.type() in (QEvent.Type.Resize,
                                                                QEvent.Type.LayoutRequest,
                                                                QEvent.Type.LayoutDirectionChange):
            self._place()
        return super().eventFilter(watched, event)

"""Pay with the invoice box ticked → the miniature appears, a click opens the invoice
full screen, and the cabin history's invoice icon reopens the same invoice — against
the real server, which issues and stores the PDF."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader
from PySide6.QtCore import Qt

from tests.gui.test_desk import activate, paying_window
from ui.invoices.viewer import InvoiceViewer

pytestmark = pytest.mark.gui


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_pay_with_invoice_shows_it_and_history_reopens_it(qtbot, desk_app, operator_client,
                                                          paid_cabin):
    window, _, _ = paying_window(qtbot, desk_app, operator_client, paid_cabin)
    activate(qtbot, window)
    window.grid.select(paid_cabin.id)
    window.toggle_invoice()  # the tile's invoice box, as the "I" key does
    dialog = window.open_pay(paid_cabin.id)
    assert dialog is not None and dialog.invoice_check.isChecked()
    qtbot.keyClicks(dialog.received, "5")
    with qtbot.waitSignal(window.invoice_card.sig_rendered, timeout=20_000):
        with qtbot.waitSignal(window.sig_paid, timeout=10_000) as paid:
            qtbot.keyClick(dialog.received, Qt.Key.Key_Return)
    result = paid.args[0]
    assert result.invoice is not None
    card = window.invoice_card
    assert card.isVisible() and result.invoice.number in card.title
    assert not card.image().isNull()
    invoice_text = _text(card.pdf)
    assert result.invoice.number in invoice_text and "2.00" in invoice_text

    # a click on the miniature opens it full screen
    with qtbot.waitSignal(card.sig_viewer_opened, timeout=5000) as opened:
        card.open_viewer()
    viewer: InvoiceViewer = opened.args[0]
    qtbot.addWidget(viewer)
    assert viewer.isVisible() and viewer.pdf == card.pdf
    viewer.close()

    # the cabin history lists the session with its invoice; its icon reopens the same PDF
    history = window.open_history(paid_cabin.id)
    qtbot.waitUntil(lambda: history.tree.topLevelItemCount() >= 1, timeout=10_000)
    seen: list[InvoiceViewer] = []
    original_present = InvoiceViewer.present

    def record(self: InvoiceViewer) -> None:
        seen.append(self)
        original_present(self)

    InvoiceViewer.present = record  # type: ignore[method-assign]
    try:
        item = history.tree.topLevelItem(0)
        history.tree.setCurrentItem(item)
        qtbot.keyClick(history, Qt.Key.Key_Return)  # Enter on the session with the icon
        qtbot.waitUntil(lambda: bool(seen), timeout=10_000)
    finally:
        InvoiceViewer.present = original_present  # type: ignore[method-assign]
    qtbot.addWidget(seen[0])
    assert seen[0].pdf == card.pdf

"""The invoice miniature: page 1 rendered off the GUI thread, anchored bottom right,
click or Enter opens the full viewer, ✕ dismisses; downloads and failures."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QPoint, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QGridLayout, QLabel, QMainWindow, QWidget

from tests.gui_invoices.conftest import INVOICE_NUMBER
from ui.invoices import InvoiceMiniature, InvoiceViewer
from ui.invoices import miniature as miniature_module

pytestmark = pytest.mark.gui
TITLE = f"Invoice {INVOICE_NUMBER}"


def ink_fraction(image: QImage) -> float:
    """Share of pixels that are not (near) white, sampled on a grid."""
    image = image.convertToFormat(QImage.Format.Format_RGB32)
    dark = total = 0
    for y in range(0, image.height(), 2):
        for x in range(0, image.width(), 2):
            total += 1
            if QColor(image.pixel(x, y)).lightness() < 200:
                dark += 1
    return dark / total


@pytest.fixture
def window(qtbot):
    """A stand-in for the main window: a grid of cabin tiles."""
    main = QMainWindow()
    main.setWindowTitle("Cash desk")
    central = QWidget()
    grid = QGridLayout(central)
    for index in range(8):
        tile = QLabel(f"Cabin {index + 1}\nfree")
        tile.setAlignment(Qt.AlignmentFlag.AlignCenter)
        tile.setStyleSheet("background: #dfe7ef; border-radius: 8px; font-size: 18px;")
        grid.addWidget(tile, index // 4, index % 4)
    main.setCentralWidget(central)
    main.resize(1280, 800)
    qtbot.addWidget(main)
    main.show()
    return main


def test_the_miniature_shows_page_one_bottom_right(qtbot, window, invoice_pdf, screenshots,
                                                   monkeypatch):
    threads = []
    real_render = miniature_module.render_page

    def render_page(*args):
        threads.append(threading.current_thread())
        return real_render(*args)

    monkeypatch.setattr(miniature_module, "render_page", render_page)
    central = window.centralWidget()
    card = InvoiceMiniature(central)
    assert not card.isVisible()
    with qtbot.waitSignal(card.sig_rendered, timeout=5000):
        card.show_invoice(invoice_pdf, TITLE)

    assert threads and threads[0] is not threading.main_thread()
    image = card.image()
    assert image.width() == round(miniature_module.PAGE_WIDTH * card.devicePixelRatioF())
    assert abs(image.height() / image.width() - 297 / 210) < 0.01  # A4, page 1
    assert 0.01 < ink_fraction(image) < 0.4                          # text, not a blank page
    assert card.isVisible() and card.title_label.text() == TITLE
    # Floating at the bottom right corner of the window's content, above the tiles.
    geometry = card.geometry()
    margin = miniature_module.ANCHOR_MARGIN
    assert geometry.right() == central.width() - 1 - margin
    assert geometry.bottom() == central.height() - 1 - margin
    window.resize(1024, 700)
    qtbot.waitUntil(lambda: card.geometry().right() == central.width() - 1 - margin)
    window.resize(1280, 800)
    qtbot.waitUntil(lambda: card.geometry().bottom() == central.height() - 1 - margin)
    window.grab().save(str(screenshots / "invoice_miniature.png"))


def test_a_click_opens_the_viewer_and_esc_closes_it(qtbot, window, invoice_pdf):
    card = InvoiceMiniature(window.centralWidget())
    with qtbot.waitSignal(card.sig_rendered, timeout=5000):
        card.show_invoice(invoice_pdf, TITLE)
    with qtbot.waitSignal(card.sig_viewer_opened) as opened:
        qtbot.mouseClick(card.page, Qt.MouseButton.LeftButton,
                         pos=QPoint(card.page.width() // 2, card.page.height() // 2))
    viewer = opened.args[0]
    assert isinstance(viewer, InvoiceViewer)
    assert viewer.isVisible() and viewer.isFullScreen()
    assert viewer.pdf == invoice_pdf and viewer.windowTitle() == TITLE
    assert viewer.document.pageCount() == 1
    with qtbot.waitSignal(viewer.destroyed):
        qtbot.keyClick(viewer, Qt.Key.Key_Escape)

    # The keyboard way: Tab to the page picture, Enter.
    card.page.setFocus()
    with qtbot.waitSignal(card.sig_viewer_opened) as opened:
        qtbot.keyClick(card.page, Qt.Key.Key_Return)
    with qtbot.waitSignal(opened.args[0].destroyed):
        opened.args[0].close()


def test_the_close_button_dismisses_it(qtbot, window, invoice_pdf):
    card = InvoiceMiniature(window.centralWidget())
    with qtbot.waitSignal(card.sig_rendered, timeout=5000):
        card.show_invoice(invoice_pdf, TITLE)
    with qtbot.waitSignal(card.sig_closed):
        qtbot.mouseClick(card.close_button, Qt.MouseButton.LeftButton)
    assert not card.isVisible()
    assert card.pdf is None
    assert card.open_viewer() is None


def test_a_newer_invoice_replaces_the_one_being_rendered(qtbot, window, invoice_pdf):
    from cashdesk.invoices import render_invoice_pdf
    from tests.gui_invoices.conftest import sample_invoice

    second = render_invoice_pdf(sample_invoice(number="INV-2026-000043", calls=1))
    card = InvoiceMiniature(window.centralWidget())
    card.show_invoice(invoice_pdf, TITLE)
    with qtbot.waitSignal(card.sig_rendered, timeout=5000):
        card.show_invoice(second, "Invoice INV-2026-000043")
    qtbot.wait(100)   # the first render, if it finished later, must not come back
    assert card.title == "Invoice INV-2026-000043"
    assert card.pdf == second


def test_downloading_happens_off_the_gui_thread(qtbot, window, invoice_pdf):
    threads = []

    def fetch() -> bytes:
        threads.append(threading.current_thread())
        return invoice_pdf

    card = InvoiceMiniature(window.centralWidget())
    with qtbot.waitSignal(card.sig_rendered, timeout=5000):
        card.show_invoice_from(fetch, TITLE)
    assert threads[0] is not threading.main_thread()
    assert card.pdf == invoice_pdf


def test_a_failed_download_or_a_damaged_pdf_is_said(qtbot, window):
    def fetch() -> bytes:
        raise ConnectionError("the server did not answer")

    card = InvoiceMiniature(window.centralWidget())
    with qtbot.waitSignal(card.sig_failed, timeout=5000) as failed:
        card.show_invoice_from(fetch, TITLE)
    assert "the server did not answer" in failed.args[0]
    assert card.isVisible() and not card.page.isEnabled()

    with qtbot.waitSignal(card.sig_failed, timeout=5000) as failed:
        card.show_invoice(b"%PDF-1.4 this is not really a PDF", TITLE)
    assert "cannot be shown" in failed.args[0]
    with qtbot.waitSignal(card.sig_closed):
        card.close_button.click()


def test_a_card_closed_while_rendering_is_left_alone(qtbot, window, invoice_pdf):
    card = InvoiceMiniature(window.centralWidget())
    card.show_invoice(invoice_pdf, TITLE)
    card.deleteLater()
    with qtbot.waitSignal(card.destroyed):
        pass
    qtbot.wait(300)   # the render's result arrives for a deleted widget: dropped, no crash


def test_a_language_change_relabels_the_card(qtbot, window, invoice_pdf):
    card = InvoiceMiniature(window.centralWidget())
    with qtbot.waitSignal(card.sig_rendered, timeout=5000):
        card.show_invoice(invoice_pdf, TITLE)
    card.hint.setText("")
    QCoreApplication.sendEvent(card, QEvent(QEvent.Type.LanguageChange))
    assert card.hint.text() and card.close_button.accessibleName()
    assert not card.image().isNull()   # the picture stays; only texts change


def test_in_a_right_to_left_window_it_sits_bottom_left(qtbot, window, invoice_pdf):
    central = window.centralWidget()
    card = InvoiceMiniature(central)
    with qtbot.waitSignal(card.sig_rendered, timeout=5000):
        card.show_invoice(invoice_pdf, TITLE)
    central.setLayoutDirection(Qt.LayoutDirection.RightToLeft)
    margin = miniature_module.ANCHOR_MARGIN
    qtbot.waitUntil(lambda: card.geometry().left() == margin)
    assert card.geometry().bottom() == central.height() - 1 - margin

"""Invoices on the desktop: a miniature of the invoice just issued, a full-screen
viewer with print and save, and the QtPdf helpers they share (`pdf.py`).
How to embed them: README.md.

- `InvoiceMiniature(parent).show_invoice(pdf_bytes, title)`: bottom-right card.
- `InvoiceViewer(pdf_bytes, title, parent).present()`: full screen, Print, Save As.
- `open_invoice(fetch, title, parent)`: download off the GUI thread, then the viewer.
"""

from ui.invoices.miniature import InvoiceMiniature
from ui.invoices.viewer import InvoiceViewer, open_invoice

__all__ = ["InvoiceMiniature", "InvoiceViewer", "open_invoice"]

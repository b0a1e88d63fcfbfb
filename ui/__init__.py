"""The PySide6 cash desk. Talks to the sync server only through `server_client`."""

from __future__ import annotations

import ctypes
import sys


def _keep_none_alive() -> None:
    """PySide6 6.12 on CPython 3.11 drops a reference to None on every call of a
    void method (QPainter.setPen, drawRect, QWidget.setGeometry, … measured in
    benchmarks/ui.py): a till painting 64 tiles a second would abort with
    "none_dealloc" within minutes. CPython 3.12 makes None immortal; here its count
    is raised far out of reach once, which is what 3.12 does. No effect on 3.12+."""
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return
    refcount = ctypes.c_ssize_t.from_address(id(None))
    refcount.value += 1 << 48


_keep_none_alive()

"""`cashdesk`: the desktop cash desk.

    cashdesk                 the bundled server on this PC's database (first run: a
                             short wizard creates the shop and its owner)
    cashdesk --server URL    a server elsewhere (a shop with several tills)
    cashdesk --demo          a training shop: sample cabins, rates and simulated
                             customers; labelled TRAINING everywhere

The login window shows at once; the server starts (or is reached) in the background
and Log in is enabled when it answers. Nothing here runs a network or disk call on
the GUI thread: the server's start, its health check, logins and payments all run in
`ui.workers.Operations`.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

START = time.perf_counter()

from PySide6.QtCore import QCoreApplication, QObject, QSettings, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication, QMessageBox  # noqa: E402

from cashdesk import paths  # noqa: E402
from server_client.client import ServerClient  # noqa: E402
from server_client.models import Login  # noqa: E402
from ui import theme  # noqa: E402
from ui.i18n import Languages, fill  # noqa: E402
from ui.live_bridge import LiveBridge  # noqa: E402
from ui.screens.login import LoginDialog  # noqa: E402
from ui.server_process import LocalServer, ServerFailed, init_shop  # noqa: E402
from ui.workers import Operations  # noqa: E402

log = logging.getLogger("ui.app")
#: Set by the cold-start benchmark: print when the login window is up, then quit.
PROBE_ENV = "CASHDESK_STARTUP_PROBE"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="cashdesk", description="The callshop cash desk.")
    parser.add_argument("--demo", action="store_true",
                        help="open a training shop (simulated customers, no real money)")
    parser.add_argument("--server", metavar="URL", default=None,
                        help="use the sync server at URL instead of the bundled one")
    parser.add_argument("--db", metavar="URL", default=None,
                        help="database of the bundled server (default: the user's data dir)")
    parser.add_argument("--lang", choices=("en", "fr", "es", "ar"), default=None)
    parser.add_argument("--insecure", action="store_true",
                        help="do not verify the server's TLS certificate")
    return parser.parse_args(argv)


def _sqlite_path(url: str) -> Path | None:
    prefix = "sqlite:///"
    return Path(url[len(prefix):]) if url.startswith(prefix) else None


class Desk(QObject):
    """The application: server, login, main window, and the loop between shifts."""

    def __init__(self, app: QApplication, args: argparse.Namespace) -> None:
        super().__init__(app)
        self.app = app
        self.args = args
        self.settings = QSettings("Cashdesk", "cashdesk")
        self.languages = Languages(app)
        self.languages.switch(args.lang or str(self.settings.value("language", "en")))
        self.operations = Operations(self)
        self.bridge = LiveBridge(self)
        self.server: LocalServer | None = None
        url = args.server
        if url is None:
            db_url = args.db or (self._demo_db() if args.demo else paths.default_database_url())
            self.server = LocalServer(db_url=db_url, demo=args.demo,
                                      log_file=paths.log_dir() / "server.log")
            url = "http://127.0.0.1:0"
        self.client = ServerClient(url, verify=not args.insecure)
        self.login = LoginDialog(self.client, self.operations, language=self.languages.code,
                                 training=args.demo)
        self.login.sig_language.connect(self.set_language)
        self.login.sig_logged_in.connect(self.logged_in)
        self.login.rejected.connect(self.quit)
        self.window = None  # built after the first login (keeps the cold start short)

    def _demo_db(self) -> str:
        directory = Path(tempfile.mkdtemp(prefix="cashdesk-training-"))
        return f"sqlite:///{directory / 'training.sqlite3'}"

    # --- start -----------------------------------------------------------------------
    def start(self) -> bool:
        if self.server is not None and not self.args.demo:
            path = _sqlite_path(self.server.db_url)
            if path is not None and not path.exists() and not self._first_run():
                return False
        self.login.show()
        if os.environ.get(PROBE_ENV):
            print(f"LOGIN_SHOWN {time.perf_counter() - START:.3f}", flush=True)
            QTimer.singleShot(0, self.app.quit)
            return True
        self.connect_server()
        return True

    def _first_run(self) -> bool:
        from ui.screens.first_run import FirstRunDialog

        assert self.server is not None
        db_url = self.server.db_url
        path = _sqlite_path(db_url)
        if path is not None:
            self.operations.run(lambda: path.parent.mkdir(parents=True, exist_ok=True))
            self.operations.wait()
        dialog = FirstRunDialog(self.operations,
                                lambda **values: init_shop(db_url, **values),
                                language=self.languages.code)
        return dialog.exec() == FirstRunDialog.DialogCode.Accepted

    def connect_server(self) -> None:
        server = self.server
        client = self.client

        def work() -> str:
            if server is not None:
                if not server.running:
                    server.start()
                server.wait_ready()
                return server.url
            client.health()
            return client.base_url

        self.login.set_server_state(False, (lambda: self.tr("Starting the server…")) if server
                                    else (lambda: self.tr("Connecting to the server…")))
        self.operations.run(work, on_done=self._server_ready, on_failed=self._server_failed,
                            label="server")

    def _server_ready(self, url: str) -> None:
        if self.server is not None:
            self.client.base_url = url
            self.client.api_url = url + "/api/v1"
        self.login.set_server_state(True)

    def _server_failed(self, exc: BaseException) -> None:
        started = isinstance(exc, ServerFailed)

        def message() -> str:  # in the language of the moment (it may change meanwhile)
            text = self.tr("The server could not be started: %1") if started else \
                self.tr("The server cannot be reached: %1")
            return fill(text, str(exc)) + " " + self.tr("Retrying…")

        self.login.set_server_state(False, message)
        QTimer.singleShot(3000, self.connect_server)

    # --- language ------------------------------------------------------------------------
    def set_language(self, code: str) -> None:
        self.languages.switch(code)
        self.settings.setValue("language", code)

    # --- shifts --------------------------------------------------------------------------
    def logged_in(self, login: Login) -> None:
        if self.window is None:
            from ui.screens.main_window import MainWindow

            self.window = MainWindow(self.client, self.operations, self.bridge,
                                     self.languages, formatter=self.languages.formatter(),
                                     training=self.args.demo)
            self.window.sig_logged_off.connect(self.logged_off)
            self.window.destroyed.connect(self.quit)
        self.window.start_session(login)
        self.window.showMaximized()
        self.login.hide()

    def logged_off(self, message: str) -> None:
        if self.window is not None:
            self.window.hide()
        self.login.reset(message)
        self.login.show()

    def quit(self) -> None:
        self.app.quit()

    def shutdown(self) -> None:
        self.bridge.stop()
        if self.window is not None and self.window.login is not None:
            # The shift ends with the desk (in a worker; the server may be gone already).
            self.operations.run(self.client.logout, on_failed=lambda exc: None)
        self.operations.wait(5000)
        self.bridge.wait_stopped(3000)
        if self.server is not None:
            self.server.stop()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("cashdesk")
    app.setOrganizationName("Cashdesk")
    app.setWindowIcon(theme.app_icon())
    theme.apply(app)
    desk = Desk(app, args)
    try:
        if not desk.start():
            return 1
        code = app.exec()
    except ServerFailed as exc:
        QMessageBox.critical(None, QCoreApplication.translate("Desk", "Cash desk"),
                             fill(QCoreApplication.translate("Desk", "The server stopped: %1"),
                                  str(exc)))
        code = 1
    finally:
        desk.shutdown()
    return code


if __name__ == "__main__":
    sys.exit(main())

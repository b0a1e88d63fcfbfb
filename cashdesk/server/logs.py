"""Logging for the server process: a rotating file in the user's log directory (or the
configured file) and stderr, plus an access log that never writes query strings (a
WebSocket may carry its token there)."""

from __future__ import annotations

import logging
import sys
from logging.handlers import RotatingFileHandler

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse

from cashdesk.server.config import ServerConfig

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
MAX_BYTES = 5 * 1024 * 1024
BACKUPS = 5


def configure_logging(config: ServerConfig) -> list[logging.Handler]:
    """Send the root logger to the log file and stderr; returns the handlers added."""
    config.log_file.parent.mkdir(parents=True, exist_ok=True)
    formatter = logging.Formatter(FORMAT)
    to_file = RotatingFileHandler(config.log_file, maxBytes=MAX_BYTES, backupCount=BACKUPS,
                                  encoding="utf-8")
    to_stderr = logging.StreamHandler(sys.stderr)
    root = logging.getLogger()
    for handler in (to_file, to_stderr):
        handler.setFormatter(formatter)
        root.addHandler(handler)
    root.setLevel(config.log_level.upper())
    return [to_file, to_stderr]


class AccessLogger(AbstractAccessLogger):
    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        self.logger.info("%s %s %s %d %.1f ms", request.remote, request.method,
                         request.path, response.status, time * 1000)

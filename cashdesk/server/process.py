"""Running the server as a process: logging, TLS, listening, and a clean stop.

SIGTERM and SIGINT stop it gracefully: the socket stops accepting, requests in flight
finish (up to `shutdown_timeout`), then the database is closed (`create_app`'s cleanup).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import sys

from aiohttp import web

from cashdesk.server.app import create_app
from cashdesk.server.config import ConfigError, ServerConfig
from cashdesk.server.logs import AccessLogger, configure_logging

log = logging.getLogger("cashdesk.server")

#: How long a thread may keep the interpreter lock while another waits for it (Python's
#: default: 5 ms). The event loop answers the PBX's INVITEs and sends the desks their
#: events while the billing writer thread runs Python between its statements; with the
#: default, the loop could wait up to 5 ms for the lock. benchmarks/cutoff.py, three
#: runs of each: PBX event -> desk p99 8.52 ms (all three runs) against 8.23-10.27.
SWITCH_INTERVAL_S = 0.001


def event_loop() -> asyncio.AbstractEventLoop:
    """uvloop where it is installed (a dependency everywhere but Windows), else asyncio's
    own loop. The loop reads the PBX's messages, answers its INVITEs and writes the
    desks' events; uvloop does the reading and writing in C, which leaves the
    interpreter lock to the billing writer for longer. benchmarks/cutoff.py, three runs
    of 24 rounds each way, alternating: what authorisation adds to a call's setup p90
    2.48 / p99 4.08 ms pooled against 2.87 / 4.90; event -> desk unchanged."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def tls_context(config: ServerConfig) -> ssl.SSLContext | None:
    if config.tls_cert is None or config.tls_key is None:
        return None
    for path in (config.tls_cert, config.tls_key):
        if not path.is_file():
            raise ConfigError(f"TLS file not found: {path}")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(config.tls_cert, config.tls_key)
    except (ssl.SSLError, OSError) as exc:
        raise ConfigError(f"cannot use the TLS certificate {config.tls_cert} with the key "
                          f"{config.tls_key}: {exc}") from None
    return context


def check_exposure(config: ServerConfig) -> None:
    """DESIGN.md: loopback unless told otherwise, TLS when listening on a network."""
    if config.loopback_only or config.tls:
        return
    if not config.allow_plain_http:
        raise ConfigError(f"listening on {config.host} would send passwords and tokens over "
                          "the network in clear text; configure tls_cert and tls_key, or "
                          "pass --allow-plain-http if this network is trusted")
    log.warning("listening on %s without TLS: passwords and tokens cross the network "
                "in clear text", config.host)


def serve(config: ServerConfig) -> None:
    """Run until SIGTERM or SIGINT. Raises ConfigError for settings that cannot work."""
    handlers = configure_logging(config)
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    try:
        context = tls_context(config)
        check_exposure(config)
        loop = event_loop()
        log.info("cashdesk server starting on %s (log file %s, event loop %s)",
                 config.base_url, config.log_file, type(loop).__module__.split(".")[0])
        web.run_app(create_app(config), host=config.host, port=config.port,
                    ssl_context=context, print=None, access_log_class=AccessLogger,
                    shutdown_timeout=config.shutdown_timeout, handle_signals=True,
                    loop=loop)
        log.info("cashdesk server stopped")
    finally:
        for handler in handlers:
            handler.close()
            logging.getLogger().removeHandler(handler)

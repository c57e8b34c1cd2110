"""One logging configuration for every Kontakt process: KONTAKT_LOG_FORMAT=text|json.

:func:`configure_logging` (or, for uvicorn and faust, which install a configuration of their
own, :func:`logging_config` handed to them) is the only place a process sets up logging. One
handler on the root logger writes one line per event to stderr; uvicorn's (error, access),
faust's, mode's and aiokafka's loggers have no handlers of their own and propagate to it, so
they come out in the same format as ours.

* ``text`` (the default): ``2026-12-07 00:40:00,123Z INFO    services.x: message tenant=t``
  (UTC, like the JSON timestamps).
* ``json``: one JSON object per line with ``timestamp`` (ISO 8601, UTC), ``level``,
  ``logger``, ``message``, the ids in play and any ``extra=`` fields; a traceback is the
  ``exc_info`` string of the same object (python-json-logger).

The ids in play come from context variables through :class:`ContextFilter`: the API's request
id (asgi-correlation-id sets it per request from X-Request-ID or a new uuid), what a request
learns on the way with :func:`bind_request` (its key's tenant), and whatever a block binds
with :func:`log_ids` (tenant, contact_id, alert_id). Context variables follow asyncio tasks
and the thread pool's ``copy_context``, so every line of one request carries its id.
"""

from __future__ import annotations

import logging
import logging.config
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from asgi_correlation_id import correlation_id
from pythonjsonlogger.core import RESERVED_ATTRS
from starlette.types import ASGIApp, Receive, Scope, Send

FORMATS = ("text", "json")
ID_FIELDS = ("request_id", "tenant", "contact_id", "alert_id")
LIBRARY_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "faust", "mode", "aiokafka")

_IDS: ContextVar[tuple[tuple[str, str], ...]] = ContextVar("kontakt_log_ids", default=())
# One dict per HTTP request (RequestIdsMiddleware): a sync dependency runs in a worker thread
# on a copy of the context, so it cannot set a variable for the request, but it can fill the
# dict that copy shares with the request's task.
_REQUEST: ContextVar[dict[str, str] | None] = ContextVar("kontakt_request_ids", default=None)
_TEXT = "%(asctime)sZ %(levelname)-7s %(name)s: %(message)s%(ids)s"


class UtcFormatter(logging.Formatter):
    """The text format's formatter: timestamps in UTC, whatever the host's zone."""

    def converter(self, timestamp: float | None) -> time.struct_time:
        return time.gmtime(timestamp)


class ContextFilter(logging.Filter):
    """Puts the ids in play on each record (an id given with ``extra=`` wins), and ``ids``,
    the same as `` key=value`` text for the text format."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = correlation_id.get()
        if request_id and not hasattr(record, "request_id"):
            record.request_id = request_id
        for key, value in (*_IDS.get(), *(_REQUEST.get() or {}).items()):
            if not hasattr(record, key):
                setattr(record, key, value)
        record.ids = "".join(
            f" {key}={getattr(record, key)}" for key in ID_FIELDS if hasattr(record, key)
        )
        return True


@contextmanager
def log_ids(**ids: str | None) -> Iterator[None]:
    """Every log line of the block (and of tasks it starts) carries these ids; None and ''
    are left out."""
    token = _IDS.set(_IDS.get() + tuple((k, v) for k, v in ids.items() if v))
    try:
        yield
    finally:
        _IDS.reset(token)


def bind_request(**ids: str | None) -> None:
    """The rest of the current HTTP request's log lines carry these ids (outside a request:
    nothing happens)."""
    bound = _REQUEST.get()
    if bound is not None:
        bound.update({k: v for k, v in ids.items() if v})


class RequestIdsMiddleware:
    """Pure ASGI: gives each HTTP request the dict :func:`bind_request` fills."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = _REQUEST.set({})
        try:
            await self.app(scope, receive, send)
        finally:
            _REQUEST.reset(token)


def logging_config(fmt: str = "text", level: str = "info") -> dict[str, Any]:
    """The ``logging.config.dictConfig`` dictionary of a process (uvicorn's ``log_config``,
    faust's ``logging_config``); ValueError for an unknown format."""
    if fmt not in FORMATS:
        raise ValueError(f"log format {fmt!r}: use text or json")
    formatter: dict[str, Any] = (
        {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(levelname)s %(name)s %(message)s",
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": True,
            "reserved_attrs": [*RESERVED_ATTRS, "ids", "color_message"],
        }
        if fmt == "json"
        else {"()": UtcFormatter, "format": _TEXT}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": ContextFilter}},
        "formatters": {"kontakt": formatter},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "kontakt",
                "filters": ["context"],
            }
        },
        "root": {"level": level.upper(), "handlers": ["stderr"]},
        # uvicorn's own config would give these handlers and propagate=False; ours does not.
        "loggers": {name: {"handlers": [], "propagate": True} for name in LIBRARY_LOGGERS},
    }


def configure_logging(fmt: str = "text", level: str = "info") -> None:
    """Set up this process's logging (call once, at the start of a long-running command)."""
    logging.config.dictConfig(logging_config(fmt, level))

"""The /metrics HTTP server of a process that has no API (worker, sink, notifier)."""

from __future__ import annotations

import logging

from prometheus_client import start_http_server

log = logging.getLogger(__name__)


def serve_metrics(port: int, host: str, what: str) -> bool:
    """Serve the process's metrics at ``http://host:port/metrics`` on a daemon thread. Port 0
    is off. A port already taken is a warning, not a crash: the process's work matters more
    than its metrics (another process of an earlier start, or a test's, may hold it)."""
    if port == 0:
        return False
    try:
        start_http_server(port, addr=host)
    except OSError as exc:
        log.warning("%s: cannot serve metrics on %s:%d (%s); running without them",
                    what, host, port, exc)
        return False
    log.info("%s: metrics on http://%s:%d/metrics", what, host, port)
    return True

"""Metrics of `kontakt notifier`: deliveries sent and failed, per channel (webhook, email)."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import Counter

DELIVERIES = Counter("kontakt_notifier_deliveries_total",
                     "Notifications delivered (alerts and corrections).", ["channel"])
FAILURES = Counter("kontakt_notifier_failures_total",
                   "Notifications that failed after their retries.", ["channel"])


def count(done: Iterable[tuple[str, str, str]]) -> None:
    """The (rule, channel, status) actions of Notifier.handle: sent and failed are counted,
    quiet hours are neither."""
    for _rule, channel, status in done:
        if status == "sent":
            DELIVERIES.labels(channel).inc()
        elif status == "failed":
            FAILURES.labels(channel).inc()

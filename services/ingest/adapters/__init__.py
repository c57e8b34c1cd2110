"""Channel adapters: pure functions mapping real-world payloads (Asterisk AMI queue events,
RFC 5322 headers, office e-queue ticket webhooks, web-form submissions) onto canonical event
JSON objects, which then go through the same validation and pseudonymization as any event."""

from __future__ import annotations


class AdapterError(ValueError):
    """A payload the adapter cannot map; names the offending item and field."""

    def __init__(self, index: int, field: str, reason: str) -> None:
        self.index = index
        self.field = field
        self.reason = reason
        super().__init__(f"item {index}: {field}: {reason}")

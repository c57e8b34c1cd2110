"""Scopes and instants as people type them (CLI options, job requests): one parser for both.

An RFC 3339 instant, or a plain date read as a Moscow day (an end includes its day), as the
reports' ``from``/``to`` are read. Mistakes are UserErrors: one line at the terminal, a 422
from the job API.
"""

from __future__ import annotations

from typing import Any

from services.analytics.scope import Scope
from services.errors import UserError


def instant_option(name: str, text: str | None) -> int | None:
    """``text`` as epoch ms; ``name`` (``--from``, ``--to``, ``--as-of``) says which bound."""
    from services.analytics.filters import FilterError, parse_instant

    if text is None:
        return None
    try:
        return parse_instant(name, text, end=name == "--to")
    except FilterError as exc:
        raise UserError(str(exc)) from None


def scope_options(tenant: str | None, start: str | None, end: str | None) -> Scope:
    scope = Scope(tenant, instant_option("--from", start), instant_option("--to", end))
    if scope.start_ms is not None and scope.end_ms is not None and scope.end_ms <= scope.start_ms:
        raise UserError("--to must be later than --from")
    return scope


def load_policy_option(name: str) -> Any:
    from streams.sla.policy import PolicyError, load_policy

    try:
        return load_policy(name)
    except PolicyError as exc:
        raise UserError(str(exc)) from None

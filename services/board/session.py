"""Who is looking at the board: a read-scoped API key from the same key store as the API.

A browser's EventSource cannot send headers, so the page logs in once with a small form: the key
is checked (services.auth.KeyStore) and kept in an HttpOnly, SameSite=Strict cookie. Every
board endpoint accepts that cookie, the usual ``Authorization: Bearer`` / ``X-API-Key`` headers,
or a ``key`` query parameter (for scripts and kiosks). No key, no data.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from services.auth import AuthError, KeyStore, Principal, Scope, get_key_store
from services.logs import bind_request

COOKIE = "kontakt_board_key"


def presented_key(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    return (request.headers.get("x-api-key") or request.cookies.get(COOKIE)
            or request.query_params.get("key") or None)


def check_key(store: KeyStore, key: str) -> Principal:
    """The principal of a key allowed to read the board; HTTPException(401/403) otherwise."""
    try:
        principal = store.authenticate(key)
    except AuthError as exc:
        raise HTTPException(exc.status_code, str(exc)) from None
    if not principal.allows(Scope.READ):
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            f"API key {principal.key_id} lacks scope 'read'")
    bind_request(tenant=principal.tenant)
    return principal


def board_principal(
    request: Request, store: Annotated[KeyStore, Depends(get_key_store)]
) -> Principal:
    key = presented_key(request)
    if not key:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED,
                            "log in at /board with a read-scoped API key",
                            headers={"WWW-Authenticate": "Bearer"})
    return check_key(store, key)


BoardUser = Annotated[Principal, Depends(board_principal)]

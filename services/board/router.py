"""Serves the live board page and its login: static files only, no build step, no CDN.

    GET  /board                 the page (Russian by default, English switch in the page)
    GET  /board/static/{file}   board.js (ES module), board.css, i18n.js
    POST /board/login           form field "key": checked, then kept in an HttpOnly cookie
    POST /board/logout          forgets the cookie
    GET  /api/board/me          who the page is logged in as (401 when nobody)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, RedirectResponse

from services.auth import get_key_store
from services.board.session import COOKIE, BoardUser, check_key

STATIC = Path(__file__).parent / "static"
_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
          ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
_NO_CACHE = {"Cache-Control": "no-cache"}

router = APIRouter(tags=["board"])


@router.get("/board", include_in_schema=False)
def page() -> FileResponse:
    return FileResponse(STATIC / "index.html", media_type=_TYPES[".html"], headers=_NO_CACHE)


@router.get("/board/static/{name}", include_in_schema=False)
def static(name: str) -> FileResponse:
    path = STATIC / name
    if "/" in name or name.startswith(".") or path.suffix not in _TYPES or not path.is_file():
        raise HTTPException(404, "no such file")
    return FileResponse(path, media_type=_TYPES[path.suffix], headers=_NO_CACHE)


@router.post("/board/login", include_in_schema=False)
async def login(request: Request) -> RedirectResponse:
    """Check the key (read scope) and keep it in a cookie the page's EventSource will send.
    The urlencoded form is parsed here (no python-multipart dependency for one field)."""
    body = (await request.body())[:4096].decode("utf-8", "replace")
    key = (parse_qs(body).get("key") or [""])[0]
    try:
        check_key(get_key_store(request), key.strip())
    except HTTPException:
        return RedirectResponse("/board?login=failed", status_code=303)
    response = RedirectResponse("/board", status_code=303)
    response.set_cookie(COOKIE, key.strip(), httponly=True, samesite="strict", path="/",
                        secure=request.url.scheme == "https", max_age=12 * 3600)
    return response


@router.post("/board/logout", include_in_schema=False)
def logout() -> RedirectResponse:
    response = RedirectResponse("/board", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/api/board/me")
def me(user: BoardUser) -> dict[str, Any]:
    """The tenant and key the page is logged in with."""
    return {"tenant": user.tenant, "key_id": user.key_id, "scopes": sorted(user.scopes)}

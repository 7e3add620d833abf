"""Every error answer is JSON saying what was wrong and where: the same fields as the
CLI's message (file, line, column, field, value, hint)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from forecast.errors import (
    CostcastError,
    LedgerError,
    NotFoundError,
    OverlapError,
    UnknownModelError,
    UnpricedModelError,
    printable,
)

log = logging.getLogger("costcast.api")


class BodyTooLarge(CostcastError):
    status = 413


class UnsupportedMediaType(CostcastError):
    status = 415


class BodyIncomplete(CostcastError):
    """The client went away before its body arrived: nothing to answer, nothing to log but
    a line."""

    status = 400


class NotReady(CostcastError):
    """Asked for a run that is still queued or running (or failed)."""

    status = 409


def status_for(exc: CostcastError) -> int:
    if isinstance(exc, NotFoundError | UnknownModelError):
        return 404
    if isinstance(exc, BodyTooLarge | UnsupportedMediaType | NotReady | BodyIncomplete):
        return exc.status
    if isinstance(exc, LedgerError | UnpricedModelError | OverlapError):
        return 409  # the request is fine; the ledger or price book cannot answer it yet
    return 422


# Starlette types every handler as taking Exception; each narrows to what it is registered for.


async def _costcast_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, CostcastError)
    return JSONResponse(exc.to_dict(), status_code=status_for(exc))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    body = (
        exc.detail
        if isinstance(exc.detail, dict)
        else {"error": "HTTPError", "message": exc.detail}
    )
    headers = dict(getattr(exc, "headers", None) or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(_allowed(request))
    return JSONResponse(body, status_code=exc.status_code, headers=headers or None)


def _allowed(request: Request) -> list[str]:
    """Every method some route serves on this path. Starlette's own 405 names the methods
    of the first route that matched the path only, though GET and POST on one path are
    often two routes (a list and an upload)."""
    methods: set[str] = set()
    for route in request.app.routes:
        if isinstance(route, APIRoute) and route.path_regex.match(request.url.path):
            methods |= route.methods or set()
    return sorted(methods)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    first = errors[0] if errors else {}
    field = ".".join(str(p) for p in first.get("loc", ()))
    return JSONResponse(
        {
            "error": "RequestValidationError",
            "message": printable(first.get("msg", "invalid request")),
            "field": printable(field) or None,
            "value": None
            if first.get("input") is None
            else printable(str(first.get("input"))[:200]),
            "errors": [
                {
                    "field": printable(".".join(str(p) for p in e.get("loc", ()))),
                    "message": printable(str(e.get("msg"))),
                }
                for e in errors
            ],
        },
        status_code=422,
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # A bug, not a client mistake: logged with its traceback, answered without it.
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return JSONResponse(
        {
            "error": "InternalError",
            "message": f"unexpected {type(exc).__name__}; see the server log",
        },
        status_code=500,
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(CostcastError, _costcast_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)

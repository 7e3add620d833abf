"""Dependencies the routes declare: the app state, a ledger session per request, the
config and price book, and the token scope each route needs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.state import AppState
from forecast.config import SCOPES, ApiToken, Config
from forecast.ledger import Ledger
from forecast.pricing import PriceBook
from forecast.tokens import find_token
from forecast.workspace import Workspace

_bearer = HTTPBearer(auto_error=False, description="A token from `costcast token create`.")


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.costcast
    return state


State = Annotated[AppState, Depends(get_state)]


def get_ledger(state: State) -> Iterator[Ledger]:
    session = state.ledger.session()
    try:
        yield session
    finally:
        session.close()


def get_config(state: State) -> Config:
    return state.current()[0]


def get_book(state: State) -> PriceBook:
    return state.current()[1]


def get_workspace(state: State, ledger: Annotated[Ledger, Depends(get_ledger)]) -> Workspace:
    """The service layer over this request's ledger session and the current config."""
    config, book = state.current()
    return Workspace(config, ledger, book)


ConfigDep = Annotated[Config, Depends(get_config)]
BookDep = Annotated[PriceBook, Depends(get_book)]
WorkspaceDep = Annotated[Workspace, Depends(get_workspace)]


class RequireScope:
    """The route needs a valid bearer token carrying ``scope``: 401 without one, 403 without
    the scope. Tests find every route's scope through this class."""

    def __init__(self, scope: str) -> None:
        if scope not in SCOPES:
            raise ValueError(f"unknown scope {scope!r}")
        self.scope = scope

    def __call__(
        self,
        state: State,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> ApiToken:
        challenge = {"WWW-Authenticate": "Bearer"}
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                {"error": "Unauthorized", "message": "a bearer token is required"},
                headers=challenge,
            )
        config = state.current()[0]
        if state.config_problem:
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE,
                {
                    "error": "ConfigInvalid",
                    "message": "the server's config is invalid; no token is accepted until "
                    "it is fixed (see the server log)",
                },
            )
        token = find_token(config.api.tokens, credentials.credentials)
        if token is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                {
                    "error": "Unauthorized",
                    "message": "the token is not valid (revoked or mistyped)",
                },
                headers=challenge,
            )
        if self.scope not in token.scopes:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                {
                    "error": "Forbidden",
                    "message": f"token {token.name!r} lacks the {self.scope!r} scope",
                    "hint": f"costcast token create --name NAME --scope {self.scope}",
                },
            )
        return token


Read = Annotated[ApiToken, Depends(RequireScope("read"))]
ScenariosWrite = Annotated[ApiToken, Depends(RequireScope("scenarios:write"))]
UsageWrite = Annotated[ApiToken, Depends(RequireScope("usage:write"))]
ForecastsWrite = Annotated[ApiToken, Depends(RequireScope("forecasts:write"))]
ExportsRead = Annotated[ApiToken, Depends(RequireScope("exports:read"))]
AlertsWrite = Annotated[ApiToken, Depends(RequireScope("alerts:write"))]

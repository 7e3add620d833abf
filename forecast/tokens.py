"""API tokens: made once, shown once, kept only as a SHA-256 in costcast.yaml.

A token is 32 random bytes, so a plain SHA-256 of it cannot be guessed back;
no slow password hash is needed. Checking a token hashes it and compares it
with every stored hash in constant time, without stopping at a match, so
timing says nothing about which tokens exist.

The config file is edited with ruamel.yaml, which keeps the user's comments
and layout, and written to a temporary file that replaces the old one, so a
crash never leaves half a config.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import re
import secrets
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from forecast.config import SCOPES, TOKEN_NAME, ApiToken, Config, load_config, present
from forecast.errors import ConfigError, CostcastError, NotFoundError

TOKEN_PREFIX = "cc_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def find_token(tokens: Sequence[ApiToken], presented: str) -> ApiToken | None:
    """The stored token ``presented`` matches, or None."""
    digest = hash_token(presented)
    found = None
    for token in tokens:
        if hmac.compare_digest(token.sha256, digest):
            found = token
    return found


def create_token(config_path: Path, name: str, scopes: Sequence[str]) -> str:
    """Store a new token's hash under api.tokens and return the token (shown once)."""
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown or not scopes:
        raise CostcastError(
            f"unknown scope {unknown[0]!r}" if unknown else "give at least one scope",
            param="scope",
            hint=f"the scopes are: {', '.join(SCOPES)}",
        )
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    entry = {
        "name": name,
        "sha256": hash_token(token),
        "scopes": sorted(set(scopes), key=SCOPES.index),
        "created": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    # the name rule, before anything is written
    if not re.fullmatch(TOKEN_NAME, name):
        raise CostcastError(
            "a token name is 1 to 64 letters, digits, '_', '.' or '-', starting with a letter "
            "or a digit", param="name", value=name,
        )  # fmt: skip

    def add(doc: dict[str, Any]) -> None:
        tokens = doc.setdefault("api", {}).setdefault("tokens", [])
        if any(t.get("name") == name for t in tokens):
            raise CostcastError(
                f"a token named {name!r} exists",
                param="name",
                hint=f"revoke it first (costcast token revoke {name}) or pick another name",
            )
        tokens.append(entry)

    _edit(config_path, add)
    return token


def revoke_token(config_path: Path, name: str) -> None:
    def remove(doc: dict[str, Any]) -> None:
        tokens = (doc.get("api") or {}).get("tokens") or []
        keep = [t for t in tokens if t.get("name") != name]
        if len(keep) == len(tokens):
            raise NotFoundError(f"no token named {name!r}", hint="costcast token list")
        doc["api"]["tokens"] = keep

    _edit(config_path, remove)


def list_tokens(config: Config) -> list[dict[str, Any]]:
    return [
        {"name": t.name, "scopes": " ".join(t.scopes), "created": t.created or ""}
        for t in config.api.tokens
    ]


def _edit(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    exists = present(path)
    if exists:
        load_config(path)  # one that does not load is said as every command says it
    yaml = YAML()
    yaml.preserve_quotes = True
    doc = yaml.load(path.read_text(encoding="utf-8")) if exists else None
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise ConfigError("the config must be a YAML mapping", file=str(path), line=1)
    change(doc)
    fd, tmp = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            yaml.dump(doc, handle)
        load_config(tmp)  # never replace a good config with one that does not load
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

"""Request bodies read with a size limit and a content-type check.

The limit is checked against Content-Length before reading and against the
bytes actually received while reading, so a client that lies about the
length (or sends chunks) still gets 413 and the server never holds more
than the limit.
"""

from __future__ import annotations

import gzip
import logging
import os
import re
import shutil
import tempfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from api.errors import BodyIncomplete, BodyTooLarge, UnsupportedMediaType
from api.state import AppState
from forecast.config import ApiConfig
from forecast.errors import CostcastError, DataFormatError
from forecast.workspace import Workspace

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def check_type(request: Request, allowed: tuple[str, ...]) -> str:
    kind = media_type(request)
    if kind not in allowed:
        raise UnsupportedMediaType(
            f"content type {kind or '(none)'!r} is not accepted here",
            field="Content-Type",
            hint=f"send one of: {', '.join(allowed)}",
        )
    return kind


def _declared_length(request: Request, limit: int) -> None:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(
            f"the body is {int(declared):,} bytes; the limit is {limit:,}",
            field="Content-Length",
            hint="raise api.max_upload_mb / api.max_scenario_kb in costcast.yaml",
        )


def _too_large(limit: int) -> BodyTooLarge:
    return BodyTooLarge(
        f"the body is over the limit of {limit:,} bytes",
        hint="raise api.max_upload_mb / api.max_scenario_kb in costcast.yaml",
    )


async def read_limited(request: Request, limit: int) -> bytes:
    _declared_length(request, limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


log = logging.getLogger("costcast.api")
_GZIP, _ZSTD, _PARQUET = b"\x1f\x8b", b"\x28\xb5\x2f\xfd", b"PAR1"


def guard_expansion(path: Path, api: ApiConfig) -> Path:
    """The upload as ingest may read it, or an error before anything expands past the
    config's limits: gzip is decompressed here under a byte cap (where allowed at all),
    zstd is refused (there is no streaming cap for it here), Parquet is checked by its
    footer's row count and size."""
    with path.open("rb") as handle:
        magic = handle.read(4)
    expanded = int(api.max_upload_expanded_mb * 1024 * 1024)
    if magic.startswith(_ZSTD) or path.suffix.lower() in (".zst", ".zstd"):
        raise UnsupportedMediaType(
            "zstd-compressed uploads are not accepted", file=str(path),
            hint="upload the file uncompressed, or gzip it (where api.allow_compressed_uploads "
            "is on), or ingest it with the CLI",
        )  # fmt: skip
    if magic.startswith(_GZIP):
        if not api.allow_compressed_uploads:
            raise UnsupportedMediaType(
                "compressed uploads are off", file=str(path),
                hint="upload the file uncompressed, or set api.allow_compressed_uploads: true",
            )  # fmt: skip
        return _gunzip(path, expanded)
    if magic.startswith(_PARQUET):
        import pyarrow.parquet as pq

        try:
            meta = pq.read_metadata(path)
        except (OSError, ValueError):
            return path  # not readable as Parquet: the ingest says why, with the file name
        size = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
        if meta.num_rows > api.max_upload_rows or size > expanded:
            raise BodyTooLarge(
                f"the Parquet file holds {meta.num_rows:,} rows ({size:,} bytes uncompressed); "
                f"the limits are {api.max_upload_rows:,} rows and {expanded:,} bytes",
                file=str(path), hint="raise api.max_upload_rows / api.max_upload_expanded_mb",
            )  # fmt: skip
    return path


def _gunzip(path: Path, limit: int) -> Path:
    plain = path.with_name(path.stem if path.suffix.lower() == ".gz" else path.name + ".plain")
    size = 0
    try:
        with gzip.open(path, "rb") as source, plain.open("wb") as target:
            while chunk := source.read(1 << 20):
                size += len(chunk)
                if size > limit:
                    raise BodyTooLarge(
                        f"the file expands to more than {limit:,} bytes", file=str(path),
                        hint="raise api.max_upload_expanded_mb in costcast.yaml",
                    )  # fmt: skip
                target.write(chunk)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataFormatError(f"not a readable gzip file: {exc}", file=str(path)) from None
    path.unlink()
    return plain


async def save_upload(request: Request, limit: int, filename: str) -> tuple[Path, Path]:
    """Stream the body to ``<new temp dir>/<filename>``; returns (dir, file). The caller
    removes the directory."""
    _declared_length(request, limit)
    name = _SAFE_NAME.sub("_", Path(filename).name).strip("._") or "upload"
    folder = Path(tempfile.mkdtemp(prefix="costcast-upload-"))
    path = folder / name
    size = 0
    try:
        with path.open("wb") as handle:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise _too_large(limit)
                handle.write(chunk)
    except ClientDisconnect:
        path.unlink(missing_ok=True)
        os.rmdir(folder)
        log.info("upload of %s ended: the client went away after %d bytes", filename, size)
        raise BodyIncomplete("the client went away before the body arrived") from None
    except BaseException:
        path.unlink(missing_ok=True)
        os.rmdir(folder)
        raise
    return folder, path


async def handle_upload(
    request: Request,
    state: AppState,
    filename: str,
    types: tuple[str, ...],
    work: Callable[[Workspace, Path], dict[str, Any]],
) -> dict[str, Any]:
    """Check the content type, stream the body to a temporary file under the upload limit,
    run ``work(workspace, path)`` in a worker thread, and remove the file. Errors about the
    temporary copy name the file the client sent."""
    check_type(request, types)
    config, _ = state.current()
    folder, path = await save_upload(request, int(config.api.max_upload_mb * 1024 * 1024), filename)

    def run() -> dict[str, Any]:
        readable = guard_expansion(path, config.api)
        with state.workspace() as workspace:
            return work(workspace, readable)

    try:
        return await run_in_threadpool(run)
    except CostcastError as exc:
        if exc.file and exc.file.startswith(str(folder)):  # the temporary copy, or its gunzip
            exc.file = filename
        raise
    finally:
        shutil.rmtree(folder, ignore_errors=True)

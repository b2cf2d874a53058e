from __future__ import annotations

import os
import tempfile
from pathlib import Path

import anyio.to_thread

from rag_app.blobstores.base import check_key


class LocalBlobStore:
    """A folder that behaves like a bucket: writes go to a temporary file, then an atomic rename."""

    def __init__(self, root: Path) -> None:
        self._root = root

    def _path(self, key: str) -> Path:
        return self._root / check_key(key)

    async def put(self, key: str, data: bytes, *, content_type: str) -> None:
        path = self._path(key)
        await anyio.to_thread.run_sync(_write_atomically, path, data)

    async def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return await anyio.to_thread.run_sync(path.read_bytes)
        except FileNotFoundError:
            raise KeyError(key) from None

    async def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    async def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    async def list_keys(self, prefix: str, *, limit: int | None = None) -> list[str]:
        """Keys starting with ``prefix``, in UTF-8 order as S3 lists them."""
        return await anyio.to_thread.run_sync(_list_keys, self._root, prefix, limit)


def _list_keys(root: Path, prefix: str, limit: int | None) -> list[str]:
    # Walk only the folder the prefix names; the rest of the prefix filters names.
    folder = root / prefix.rpartition("/")[0] if "/" in prefix else root
    if not folder.is_dir():
        return []
    keys = sorted(
        key
        for path in folder.rglob("*")
        if path.is_file()
        and not path.name.startswith(".incoming-")
        and (key := path.relative_to(root).as_posix()).startswith(prefix)
    )
    return keys[:limit] if limit is not None else keys


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

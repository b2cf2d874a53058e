"""API keys: ``rag_<id>_<secret>``, shown once at creation and stored only as a SHA-256
hash (a key carries 256 random bits, so a slow hash adds nothing) with the collections it
may read and write. The key list lives in a JSON file (local mode) or a Secrets Manager
secret (the deployed stacks); operators change it with ``rag-app keys create/revoke`` and
a running service picks up the change within ``refresh_seconds``."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import anyio
import anyio.to_thread
import msgspec

from rag_app.auth.principal import Principal
from rag_app.errors import ConfigurationError, InvalidInputError

KEY_PATTERN = re.compile(r"^rag_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
COLLECTION_PATTERN = re.compile(r"^(\*|[A-Za-z0-9][A-Za-z0-9._-]{0,127})$")


class KeyRecord(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: str
    name: str
    sha256: str
    read: list[str]
    write: list[str]
    created: str
    audit: bool = False  # may read the audit trail


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key(
    name: str, *, read: list[str], write: list[str], audit: bool = False
) -> tuple[str, KeyRecord]:
    """A fresh key and the record to store for it (the key itself is never stored)."""
    for collection in (*read, *write):
        if not COLLECTION_PATTERN.match(collection):
            raise InvalidInputError(f"{collection!r} is not a collection name or '*'")
    if not read and not write and not audit:
        raise InvalidInputError(
            "a key needs at least one collection to read or write, or the audit grant"
        )
    key_id = secrets.token_hex(6)
    key = f"rag_{key_id}_{secrets.token_urlsafe(32)}"
    created = datetime.now(UTC).isoformat(timespec="seconds")
    return key, KeyRecord(
        key_id, name, hash_key(key), sorted(read), sorted(write), created, audit=audit
    )


def decode_records(raw: str | bytes, where: str) -> list[KeyRecord]:
    try:
        return msgspec.json.decode(raw or b"[]", type=list[KeyRecord])
    except msgspec.DecodeError as e:
        raise ConfigurationError(f"API keys in {where} are not a valid key list: {e}") from None


def encode_records(records: list[KeyRecord]) -> str:
    return json.dumps([msgspec.to_builtins(r) for r in records], indent=1)


@runtime_checkable
class KeyStore(Protocol):
    """Where the key records live. ``load`` of a store never written returns []."""

    async def load(self) -> list[KeyRecord]: ...

    async def save(self, records: list[KeyRecord]) -> None: ...


class FileKeyStore:
    def __init__(self, path: Path) -> None:
        self._path = path

    async def load(self) -> list[KeyRecord]:
        path = anyio.Path(self._path)
        if not await path.exists():
            return []
        return decode_records(await path.read_bytes(), str(self._path))

    async def save(self, records: list[KeyRecord]) -> None:
        def write() -> None:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self._path.with_suffix(".tmp")
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(encode_records(records))
            temporary.replace(self._path)

        await anyio.to_thread.run_sync(write)


class SecretsManagerKeyStore:
    """The key list as the value of one secret (the stacks create it holding ``[]``)."""

    def __init__(self, client: Any, secret_id: str) -> None:
        self._client = client
        self._secret_id = secret_id

    async def load(self) -> list[KeyRecord]:
        response = await anyio.to_thread.run_sync(
            lambda: self._client.get_secret_value(SecretId=self._secret_id)
        )
        return decode_records(response.get("SecretString") or "[]", self._secret_id)

    async def save(self, records: list[KeyRecord]) -> None:
        value = encode_records(records)
        await anyio.to_thread.run_sync(
            lambda: self._client.put_secret_value(SecretId=self._secret_id, SecretString=value)
        )


class ApiKeyVerifier:
    """Checks presented keys against the store's records, re-read at most every
    ``refresh_seconds`` (so a revoked key stops working within that time)."""

    def __init__(self, store: KeyStore, *, refresh_seconds: float = 30.0) -> None:
        self._store = store
        self._refresh_seconds = refresh_seconds
        self._records: dict[str, KeyRecord] = {}
        self._loaded_at = float("-inf")
        self._lock = anyio.Lock()

    async def _current(self) -> dict[str, KeyRecord]:
        async with self._lock:
            if time.monotonic() - self._loaded_at >= self._refresh_seconds:
                self._records = {r.id: r for r in await self._store.load()}
                self._loaded_at = time.monotonic()
            return self._records

    async def verify(self, key: str) -> Principal | None:
        """The key's principal, or None for a malformed, unknown or revoked key."""
        match = KEY_PATTERN.match(key)
        if match is None:
            return None
        record = (await self._current()).get(match.group(1))
        if record is None or not hmac.compare_digest(record.sha256, hash_key(key)):
            return None
        return Principal(
            f"key:{record.id}",
            read=frozenset(record.read),
            write=frozenset(record.write),
            audit=record.audit,
        )

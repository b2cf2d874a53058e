from __future__ import annotations

import re
from typing import Protocol, runtime_checkable

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._=-]*(/[A-Za-z0-9][A-Za-z0-9._=-]*)*$")


def check_key(key: str) -> str:
    """Keys are relative, slash-separated, with no empty, ``.`` or ``..`` segment.

    The same rule holds for every backend, so a key valid locally is valid in S3.
    """
    if len(key) > 1024 or not _KEY.match(key) or ".." in key.split("/"):
        raise ValueError(f"invalid blob key: {key!r}")
    return key


@runtime_checkable
class SignsUrls(Protocol):
    """A blob store whose objects a browser can fetch directly with a short-lived signed
    URL (S3's presigned GET).

    - ``signed_get`` raises ``ValueError`` for an invalid key (``check_key``); it does not
      check that the object exists (S3 then answers the URL with 404, or 403 when the
      signer may not list the bucket).
    - ``origin`` is the scheme and host every such URL starts with (for a page's CSP).
    """

    async def signed_get(
        self, key: str, *, seconds: int, content_type: str, disposition: str
    ) -> str: ...

    def origin(self) -> str: ...


@runtime_checkable
class BlobStore(Protocol):
    """Stores whole objects by key, like S3.

    - ``put`` overwrites an existing key; the object is visible only once complete.
    - ``get`` raises ``KeyError`` for a missing key.
    - ``delete`` of a missing key is not an error.
    - ``list_keys`` gives the keys starting with ``prefix`` in UTF-8 (S3's) order, at most
      ``limit``; ``[]`` when there are none.
    """

    async def put(self, key: str, data: bytes, *, content_type: str) -> None: ...

    async def get(self, key: str) -> bytes: ...

    async def delete(self, key: str) -> None: ...

    async def exists(self, key: str) -> bool: ...

    async def list_keys(self, prefix: str, *, limit: int | None = None) -> list[str]: ...

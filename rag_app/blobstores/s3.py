"""Amazon S3 as the BlobStore (the deployed stacks' documents bucket).

The bucket's own settings (default encryption, versioning, public access block) come from
the infrastructure; this writes whole objects under an optional key prefix. Every call is
safe to repeat; throttling and 5xx are retried by the client (``aws/calls.py``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import anyio.to_thread
from botocore.exceptions import ClientError

from rag_app.aws.calls import AwsCalls, error_code
from rag_app.blobstores.base import check_key

MISSING = frozenset({"NoSuchKey", "404", "NotFound"})


class S3BlobStore:
    def __init__(self, client: Any, *, bucket: str, prefix: str = "") -> None:
        self._client = client
        self._calls = AwsCalls(client)
        self._bucket = bucket
        self._prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self._origin: str | None = None

    def _key(self, key: str) -> str:
        return self._prefix + check_key(key)

    def location(self, key: str) -> tuple[str, str]:
        """The bucket and object key of ``key``: for AWS services that read or write the
        bucket themselves (Amazon Transcribe, Textract)."""
        return self._bucket, self._key(key)

    async def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        return await self._calls(operation, Bucket=self._bucket, **kwargs)

    async def put(self, key: str, data: bytes, *, content_type: str) -> None:
        await self._call("put_object", Key=self._key(key), Body=data, ContentType=content_type)

    async def get(self, key: str) -> bytes:
        try:
            response = await self._call("get_object", Key=self._key(key))
        except ClientError as e:
            if error_code(e) in MISSING:
                raise KeyError(key) from None
            raise
        body: bytes = response["Body"].read()
        return body

    async def delete(self, key: str) -> None:
        await self._call("delete_object", Key=self._key(key))

    async def list_keys(self, prefix: str, *, limit: int | None = None) -> list[str]:
        """Keys under ``prefix`` (relative to this store's prefix), in S3's UTF-8 order."""
        keys: list[str] = []
        token: str | None = None
        while True:
            response = await self._call(
                "list_objects_v2",
                Prefix=self._prefix + prefix,
                MaxKeys=min(1000, limit or 1000),
                **({"ContinuationToken": token} if token else {}),
            )
            keys += [item["Key"][len(self._prefix) :] for item in response.get("Contents", [])]
            token = response.get("NextContinuationToken")
            if not token or (limit is not None and len(keys) >= limit):
                return keys[:limit] if limit is not None else keys

    async def exists(self, key: str) -> bool:
        try:
            await self._call("head_object", Key=self._key(key))
        except ClientError as e:
            if error_code(e) in MISSING:
                return False
            raise
        return True

    def _presign(self, key: str, seconds: int, extra: dict[str, str]) -> str:
        url: str = self._client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self._bucket, "Key": key, **extra},
            ExpiresIn=seconds,
        )
        return url

    async def signed_get(
        self, key: str, *, seconds: int, content_type: str, disposition: str
    ) -> str:
        """A presigned GET of ``key`` valid ``seconds`` (signed locally with the process's
        credentials, which must allow s3:GetObject and the bucket key's kms:Decrypt; a URL
        from temporary credentials stops working when they expire, whichever comes first).
        S3 answers it with ``content_type`` and ``disposition`` as the response's headers."""
        extra = {"ResponseContentType": content_type, "ResponseContentDisposition": disposition}
        return await anyio.to_thread.run_sync(self._presign, self._key(key), seconds, extra)

    def origin(self) -> str:
        """The scheme and host of this bucket's presigned URLs (the client's endpoint and
        addressing style decide it), worked out once by signing a URL for a probe key."""
        if self._origin is None:
            parts = urlsplit(self._presign(self._key("probe"), 60, {}))
            self._origin = f"{parts.scheme}://{parts.netloc}"
        return self._origin

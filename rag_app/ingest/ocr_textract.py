"""Amazon Textract for the deployed stacks: an asynchronous text detection job on the PDF
already in the documents bucket (``StartDocumentTextDetection``), polled with backoff, its
``LINE`` blocks read page by page. Textract reads the whole file; only the pages asked for
are used. The ``WORD`` blocks' boxes on those pages are kept beside the original
(``originals.word_layer_key``), so the viewer highlights quotes on them. The client
request token derives from the object key, so a job resumed after a restart gets the same
Textract job back instead of a second one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from rag_app.aws.calls import AwsCalls
from rag_app.aws.jobs import poll_until
from rag_app.blobstores.s3 import S3BlobStore
from rag_app.domain import PageText
from rag_app.errors import UnprocessableDocumentError
from rag_app.ingest.files import StoredFile
from rag_app.ingest.ocr import OcrUnavailableError
from rag_app.ingest.originals import word_layer_key
from rag_app.ingest.pdf import normalize_page_text
from rag_app.ingest.word_layer import encode, textract_words

BAD_DOCUMENT = frozenset(
    {
        "BadDocumentException",
        "DocumentTooLargeException",
        "UnsupportedDocumentException",
        "InvalidS3ObjectException",
    }
)
NO_ACCESS = frozenset({"AccessDeniedException", "UnrecognizedClientException"})


def _no_access(operation: str, error: ClientError) -> Exception:
    return OcrUnavailableError(
        f"Amazon Textract refused {operation}: {error} (the task role needs "
        "textract:StartDocumentTextDetection and GetDocumentTextDetection, and "
        "read access to the documents bucket)"
    )


def _bad_document(operation: str, error: ClientError) -> Exception:
    return UnprocessableDocumentError(f"Amazon Textract cannot read the PDF: {error}")


ERRORS = {**dict.fromkeys(NO_ACCESS, _no_access), **dict.fromkeys(BAD_DOCUMENT, _bad_document)}


def lines_by_page(blocks: list[dict[str, Any]]) -> dict[int, list[str]]:
    """The text of Textract's ``LINE`` blocks, in reading order, by 1-based page."""
    pages: dict[int, list[str]] = {}
    for block in blocks:
        if block["BlockType"] == "LINE" and block.get("Text"):
            pages.setdefault(int(block.get("Page", 1)), []).append(block["Text"])
    return pages


class TextractOcr:
    def __init__(
        self,
        client: Any,
        blobs: S3BlobStore,
        *,
        timeout_seconds: float = 3600,
        first_poll_seconds: float = 5.0,
        max_poll_seconds: float = 30.0,
    ) -> None:
        self._client = client
        self._calls = AwsCalls(client, errors=ERRORS)
        self._blobs = blobs
        self._timeout = timeout_seconds
        self._first_poll = first_poll_seconds
        self._max_poll = max_poll_seconds

    @property
    def name(self) -> str:
        return "amazon-textract"

    async def _blocks(self, job_id: str) -> list[dict[str, Any]] | None:
        """Every block of a finished job (None while it runs)."""
        response = await self._calls("get_document_text_detection", JobId=job_id, MaxResults=1000)
        status = response["JobStatus"]
        if status == "IN_PROGRESS":
            return None
        if status == "FAILED":
            raise UnprocessableDocumentError(
                f"Amazon Textract failed: {response.get('StatusMessage', 'no reason given')}"
            )
        blocks: list[dict[str, Any]] = list(response.get("Blocks", []))
        while token := response.get("NextToken"):
            response = await self._calls(
                "get_document_text_detection", JobId=job_id, MaxResults=1000, NextToken=token
            )
            blocks += response.get("Blocks", [])
        return blocks

    async def recognise(self, pdf: StoredFile, pages: Sequence[int]) -> list[PageText]:
        bucket, key = self._blobs.location(pdf.key)
        started = await self._calls(
            "start_document_text_detection",
            DocumentLocation={"S3Object": {"Bucket": bucket, "Name": key}},
            ClientRequestToken=hashlib.sha256(key.encode()).hexdigest()[:64],
        )
        job_id = started["JobId"]
        blocks = await poll_until(
            lambda: self._blocks(job_id),
            what=f"Amazon Textract job {job_id}",
            first_seconds=self._first_poll,
            max_seconds=self._max_poll,
            timeout_seconds=self._timeout,
        )
        text = lines_by_page(blocks)
        words = textract_words(blocks)
        if kept := {n: words[n] for n in pages if n in words}:
            await self._blobs.put(
                word_layer_key(pdf.key), encode(kept), content_type="application/json"
            )
        return [
            PageText(n, normalize_page_text("\n".join(text.get(n, []))), ocr=True) for n in pages
        ]

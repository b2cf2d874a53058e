"""E-mail messages: .eml (RFC 5322/MIME, the standard library's ``email``) and Outlook .msg
(``extract-msg``), read in the sandboxed parser child.

A message is one page: a header block (Subject, Date, From, To, Cc) followed by the body
(text/plain, else the text of text/html), so every passage and citation names the message.
Sender, recipients, date and subject also become the document's filterable metadata
(``email_from``: the sender's address, lower-cased; ``email_to``: the recipients'
addresses, comma-separated; ``email_date``: YYYY-MM-DD; ``email_subject``), and the
document's title becomes "subject (date)" unless one was given. Attachments come back
as files; the ingestion service submits those of supported types as documents of their
own in the same collection, linked by ``parent_document_id`` metadata.

Hostile input: headers past ``MAX_HEADER_BYTES``, MIME nested deeper than
``MAX_MIME_DEPTH``, more than ``MAX_PARTS`` parts or ``MAX_ATTACHMENTS`` attachments are
refused with a readable error; the child's memory, CPU and time limits bound the rest.
"""

from __future__ import annotations

import email
import email.policy
import email.utils
import html.parser
import io
import re
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage, Message

from rag_app.domain import MetadataValue, PageText
from rag_app.errors import PayloadTooLargeError, UnprocessableDocumentError

EML_MEDIA_TYPE = "message/rfc822"
MSG_MEDIA_TYPE = "application/vnd.ms-outlook"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
MAX_HEADER_BYTES = 256 * 1024
MAX_MIME_DEPTH = 16
MAX_PARTS = 1_000
MAX_ATTACHMENTS = 50
MAX_METADATA_CHARS = 200  # each value: the stores' filterable-metadata budget is small

_HEADER_LINE = re.compile(rb"^[!-9;-~]+:[ \t]", re.MULTILINE)
_KNOWN_HEADERS = (
    b"from:",
    b"to:",
    b"subject:",
    b"date:",
    b"message-id:",
    b"mime-version:",
    b"received:",
)
_SPACES = re.compile(r"[ \t]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def looks_like_eml(head: bytes) -> bool:
    """Starts with header fields, at least two of them ones every mail carries."""
    if not _HEADER_LINE.match(head):
        return False
    lowered = head.lower()
    return sum(f"\n{h.decode()}".encode() in b"\n" + lowered for h in _KNOWN_HEADERS) >= 2


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    data: bytes


@dataclass(frozen=True, slots=True)
class ParsedMessage:
    pages: list[PageText]
    title: str
    metadata: dict[str, MetadataValue]
    attachments: list[Attachment] = field(default_factory=list)


class _HtmlText(html.parser.HTMLParser):
    """The visible text of an HTML body: block elements become line breaks."""

    BLOCKS = frozenset(
        {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "table", "blockquote"}
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "head"):
            self._skip += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head"):
            self._skip = max(0, self._skip - 1)

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_text(markup: str) -> str:
    parser = _HtmlText()
    parser.feed(markup)
    parser.close()
    return "".join(parser.parts)


def _clean(text: str) -> str:
    lines = [_SPACES.sub(" ", line).strip() for line in text.replace("\r\n", "\n").split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def _short(value: str) -> str:
    return value[:MAX_METADATA_CHARS]


def _addresses(values: list[str]) -> list[str]:
    return [a.lower() for _, a in email.utils.getaddresses(values) if a]


def _message(
    subject: str, sent: datetime | None, sender: str, to: str, cc: str, body: str
) -> tuple[PageText, str, dict[str, MetadataValue]]:
    day = sent.date().isoformat() if sent else ""
    header = [f"Subject: {subject}", f"Date: {sent.isoformat(sep=' ') if sent else ''}"]
    header += [f"From: {sender}", f"To: {to}"] + ([f"Cc: {cc}"] if cc else [])
    text = _clean("\n".join(header) + "\n\n" + body)
    senders = _addresses([sender])
    metadata: dict[str, MetadataValue] = {
        "email_subject": _short(subject),
        "email_from": _short(senders[0] if senders else sender),
        "email_to": _short(",".join(_addresses([to, cc]))),
        "email_date": day,
    }
    title = f"{subject or '(no subject)'} ({day})" if day else subject or "(no subject)"
    return PageText(1, text), title[:500], metadata


def _check_headers(data: bytes) -> None:
    end = min(
        (i for i in (data.find(b"\r\n\r\n"), data.find(b"\n\n")) if i >= 0), default=len(data)
    )
    if end > MAX_HEADER_BYTES:
        raise PayloadTooLargeError(
            f"the message's headers are {end} bytes; at most {MAX_HEADER_BYTES} are read"
        )


def _walk(part: Message, depth: int, seen: list[int]) -> list[Message]:
    """Every leaf part, depth first, within the depth and part-count limits."""
    if depth > MAX_MIME_DEPTH:
        raise UnprocessableDocumentError(
            f"the message nests MIME parts deeper than {MAX_MIME_DEPTH} levels"
        )
    seen[0] += 1
    if seen[0] > MAX_PARTS:
        raise PayloadTooLargeError(f"the message has more than {MAX_PARTS} MIME parts")
    if not part.is_multipart():
        return [part]
    payload = part.get_payload()
    children = [c for c in payload if isinstance(c, Message)] if isinstance(payload, list) else []
    return [leaf for child in children for leaf in _walk(child, depth + 1, seen)]


def parse_eml(data: bytes) -> ParsedMessage:
    _check_headers(data)
    try:
        message = email.message_from_bytes(data, policy=email.policy.default)
    except Exception as e:
        raise UnprocessableDocumentError(
            f"the e-mail cannot be parsed: {type(e).__name__}: {e}"
        ) from e
    assert isinstance(message, EmailMessage)
    plain: list[str] = []
    markup: list[str] = []
    attachments: list[Attachment] = []
    for leaf in _walk(message, 0, [0]):
        filename = leaf.get_filename()
        content_type = leaf.get_content_type()
        if filename or leaf.get_content_disposition() == "attachment":
            content = leaf.get_payload(decode=True)
            if isinstance(content, bytes) and content:
                attachments.append(Attachment(filename or "attachment", content))
        elif content_type in ("text/plain", "text/html"):
            try:
                text = leaf.get_content()  # type: ignore[attr-defined]
            except (LookupError, UnicodeError, ValueError):
                raw = leaf.get_payload(decode=True)
                text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else ""
            (plain if content_type == "text/plain" else markup).append(str(text))
    if len(attachments) > MAX_ATTACHMENTS:
        raise PayloadTooLargeError(
            f"the message has {len(attachments)} attachments; at most {MAX_ATTACHMENTS}"
        )
    body = "\n\n".join(plain) if plain else "\n\n".join(html_text(m) for m in markup)
    try:
        sent = email.utils.parsedate_to_datetime(str(message["date"])) if message["date"] else None
    except (TypeError, ValueError):
        sent = None
    page, title, metadata = _message(
        str(message["subject"] or ""),
        sent,
        str(message["from"] or ""),
        str(message["to"] or ""),
        str(message["cc"] or ""),
        body,
    )
    return ParsedMessage([page], title, metadata, attachments)


def parse_msg(data: bytes) -> ParsedMessage:
    import extract_msg  # imported in the sandboxed child only

    try:
        message = extract_msg.openMsg(io.BytesIO(data).getvalue(), delayAttachments=False)
    except Exception as e:
        raise UnprocessableDocumentError(
            f"the Outlook message cannot be read: {type(e).__name__}: {e}"
        ) from e
    try:
        if not isinstance(message, extract_msg.Message):
            raise UnprocessableDocumentError("the Outlook file is not an e-mail message")
        body = message.body or ""
        if not body.strip() and message.htmlBody:
            body = html_text(message.htmlBody.decode("utf-8", "replace"))
        attachments = []
        for attachment in message.attachments:
            content = getattr(attachment, "data", None)
            if isinstance(content, bytes) and content:
                name = attachment.longFilename or attachment.shortFilename or "attachment"
                attachments.append(Attachment(str(name), content))
        if len(attachments) > MAX_ATTACHMENTS:
            raise PayloadTooLargeError(
                f"the message has {len(attachments)} attachments; at most {MAX_ATTACHMENTS}"
            )
        sent = message.date if isinstance(message.date, datetime) else None
        page, title, metadata = _message(
            message.subject or "",
            sent,
            message.sender or "",
            message.to or "",
            message.cc or "",
            body,
        )
        return ParsedMessage([page], title, metadata, attachments)
    finally:
        message.close()

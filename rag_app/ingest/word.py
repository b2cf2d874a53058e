"""Word (.docx) text, by section: where a lawyer finds a passage in a file that has no
fixed pages.

A .docx has no pages until a word processor lays it out, and the layout differs between
Word versions, fonts and printers; converting with LibreOffice would give pages, but only
where it is installed, and not necessarily Word's. So a citation points at the document's
own structure instead: ``page`` holds the **section number** (1-based: a section starts at
every heading, and the text before the first heading is section 1), each section's text
starts with its heading, and every paragraph starts with its number in the document
(``¶12``), the way pleadings and contracts are cited. Tables are read row by row, cells
separated by `` | ``.

Tracked changes are read as if accepted: inserted text is indexed, deleted text is not.
Comments, headers, footers and footnotes are not indexed.

Runs in the sandboxed parser child (``isolation.py``). A .docx is a ZIP: the archive's
declared sizes are checked before anything is inflated, so a ZIP bomb is refused by name
rather than by the memory limit.
"""

from __future__ import annotations

import io
import zipfile

from rag_app.domain import PageText
from rag_app.errors import PayloadTooLargeError, UnprocessableDocumentError

DOCX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ZIP_MAGIC = b"PK\x03\x04"
MAX_UNZIPPED_BYTES = 256 * 1024 * 1024  # every part of the archive, inflated
MAX_ZIP_ENTRIES = 10_000
MAX_RATIO = 200  # inflated / compressed, per entry: text XML compresses ~10x, bombs ~1000x

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def check_archive(data: bytes) -> None:
    """Refuse ZIPs that inflate past the limits, by their declared sizes."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError) as e:
        raise UnprocessableDocumentError(f"the .docx is not a readable ZIP archive: {e}") from e
    if len(entries) > MAX_ZIP_ENTRIES:
        raise PayloadTooLargeError(
            f"the archive holds {len(entries)} files; at most {MAX_ZIP_ENTRIES}"
        )
    total = sum(e.file_size for e in entries)
    if total > MAX_UNZIPPED_BYTES:
        raise PayloadTooLargeError(
            f"the archive inflates to {total} bytes; the limit is {MAX_UNZIPPED_BYTES} "
            "(a ZIP bomb?)"
        )
    for entry in entries:
        if entry.file_size > 1024 * 1024 and entry.file_size > MAX_RATIO * max(
            1, entry.compress_size
        ):
            raise PayloadTooLargeError(
                f"{entry.filename!r} inflates {entry.file_size // max(1, entry.compress_size)} "
                "times its size (a ZIP bomb?)"
            )
    if "word/document.xml" not in {e.filename for e in entries}:
        raise UnprocessableDocumentError("the ZIP archive is not a Word .docx document")


def _paragraph_text(element: object) -> str:
    """The text of a ``w:p`` with tracked changes accepted: ``w:t`` inside insertions
    counts, deleted text is ``w:delText`` and does not."""
    parts: list[str] = []
    for node in element.iter():  # type: ignore[attr-defined]
        if node.tag == f"{_W}t" and node.text:
            parts.append(node.text)
        elif node.tag == f"{_W}tab":
            parts.append("\t")
        elif node.tag in (f"{_W}br", f"{_W}cr"):
            parts.append("\n")
    return "".join(parts).strip()


def _is_heading(paragraph: object) -> bool:
    style = paragraph.find(f"{_W}pPr/{_W}pStyle")  # type: ignore[attr-defined]
    name = "" if style is None else str(style.get(f"{_W}val", ""))
    outline = paragraph.find(f"{_W}pPr/{_W}outlineLvl")  # type: ignore[attr-defined]
    return name.lower().startswith(("heading", "title")) or outline is not None


def word_sections(data: bytes, max_pages: int) -> list[PageText]:
    """The document's sections as pages (see the module docstring); raises
    ``UnprocessableDocumentError`` for what is not a readable .docx, ``PayloadTooLargeError``
    past ``max_pages`` sections or the archive limits."""
    check_archive(data)
    import docx  # python-docx: imported in the sandboxed child only

    try:
        body = docx.Document(io.BytesIO(data)).element.body
    except Exception as e:
        raise UnprocessableDocumentError(
            f"the .docx cannot be read: {type(e).__name__}: {e}"
        ) from e
    sections: list[list[str]] = [[]]
    number = 0
    for block in body.iterchildren():
        if block.tag == f"{_W}p":
            text = _paragraph_text(block)
            if not text:
                continue
            if _is_heading(block) and sections[-1]:
                sections.append([])
            number += 1
            sections[-1].append(f"¶{number} {text}")
        elif block.tag == f"{_W}tbl":
            for row in block.iter(f"{_W}tr"):
                cells = [
                    " ".join(_paragraph_text(p) for p in cell.iter(f"{_W}p"))
                    for cell in row.iter(f"{_W}tc")
                ]
                line = " | ".join(c for c in cells if c)
                if line:
                    number += 1
                    sections[-1].append(f"¶{number} {line}")
        if len(sections) > max_pages:
            raise PayloadTooLargeError(f"the document has more than {max_pages} sections")
    return [PageText(n, "\n".join(lines)) for n, lines in enumerate(sections, 1) if lines]

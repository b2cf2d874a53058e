"""How migrated rows are judged and ordered, without a database: pages from numbers or
their JSON text, unpaged rows, and reading order from offsets, overlaps and physical order
(never from a random id alone)."""

from __future__ import annotations

import random
import uuid
from dataclasses import replace

import pytest

from rag_app.domain import UNPAGED
from rag_app.errors import InvalidInputError
from rag_app.migration.mapping import ColumnRef, parse_mapping
from rag_app.migration.rows import SkipReason, document_rows
from rag_app.migration.source import SourceRow

MAPPING = parse_mapping(
    """
table = "langchain_pg_embedding"
metadata_policy = "drop"
id_order = false
physical_order = true
[columns]
id = "uuid"
document_id = "cmetadata.source"
text = "document"
page = "cmetadata.page"
metadata = "cmetadata"
source_key = "cmetadata.source"
offset = "cmetadata.start_index"
[collections]
table = "langchain_pg_collection"
key = "uuid"
foreign_key = "collection_id"
name = "name"
""",
    "test",
)
WORDS = (
    "The Administrator finds that an unsafe condition exists that is likely to exist or "
    "develop on other products of the same type design, and this proposed AD would require "
    "a test of the angle of attack sensor system and an operational readiness flight before "
    "further flight, with the compliance times specified in the service information."
).split()


def row(
    text: str, *, page: object = "1", offset: object = None, position: str | None = None
) -> SourceRow:
    metadata = {"source": "/srv/a/b.pdf", "page": page, "producer": "x", "title": "reserved"}
    return SourceRow(
        id=uuid.uuid4(),
        document="/srv/a/b.pdf",
        text=text,
        page=page,
        metadata=metadata,
        source_key="/srv/a/b.pdf",
        title=None,
        offset=offset,
        collection="matters",
        position=position,
    )


def windows(size: int, step: int) -> list[str]:
    """Overlapping word windows, as a splitter with overlap cuts them."""
    return [" ".join(WORDS[i : i + size]) for i in range(0, len(WORDS) - step, step)]


def texts(rows: list[SourceRow], page_base: int = 1) -> list[str]:
    judged = document_rows(rows, MAPPING, max_chars=1000, page_base=page_base)
    assert not judged.rejections, judged.rejections
    return [c.text for c in judged.chunks]


def test_overlapping_passages_are_put_back_in_reading_order_whatever_the_ids() -> None:
    passages = windows(12, 6)
    assert len(passages) >= 5
    for seed in range(20):
        shuffled = [row(t) for t in passages]
        random.Random(seed).shuffle(shuffled)
        assert texts(shuffled) == passages


def test_offsets_order_a_page_and_pages_come_first() -> None:
    rows = [
        row("second passage of page two", page="2", offset="40"),
        row("first passage of page two", page="2", offset=0),
        row("only passage of page one", page=1, offset=700),
    ]
    assert texts(rows) == [
        "only passage of page one",
        "first passage of page two",
        "second passage of page two",
    ]


def test_without_offsets_or_overlap_the_physical_order_decides() -> None:
    rows = [
        row("a clause that was inserted third", position="(0,9)"),
        row("a clause that was inserted first", position="(0,2)"),
        row("a clause that was inserted second", position="(0,5)"),
    ]
    assert texts(rows) == [
        "a clause that was inserted first",
        "a clause that was inserted second",
        "a clause that was inserted third",
    ]


def test_pages_are_read_from_json_text_and_rebased() -> None:
    judged = document_rows(
        [row("page zero text", page="0"), row("no page here", page=None)],
        MAPPING,
        max_chars=1000,
        page_base=0,
    )
    assert sorted(c.page for c in judged.chunks) == [UNPAGED, 1]
    bad = document_rows(
        [row("x", page="seven"), row("y", page="-1"), row("z", page=True)],
        MAPPING,
        max_chars=1000,
        page_base=1,
    )
    assert [r.reason for r in bad.rejections] == [SkipReason.BAD_PAGE] * 3


def test_keys_the_service_cannot_keep_are_dropped_not_the_row() -> None:
    judged = document_rows([row("some text")], MAPPING, max_chars=1000, page_base=1)
    (chunk,) = judged.chunks
    # source and page are read as columns; title is reserved: what remains is metadata.
    assert dict(chunk.metadata) == {"producer": "x"}
    assert chunk.title == "b.pdf"


def test_the_same_file_in_two_collections_is_two_documents() -> None:
    a = document_rows([row("text")], MAPPING, max_chars=1000, page_base=1)
    b = document_rows(
        [replace(row("text"), collection="scratch")], MAPPING, max_chars=1000, page_base=1
    )
    assert a.document_id != b.document_id
    assert (a.collection, b.collection) == ("matters", "scratch")


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("cmetadata", True),
        ("cmetadata.page", True),
        ("cmetadata.start_index", True),
        ("cmetadata.page-label", True),
        ("cmetadata.a.b", False),
        ("cmetadata.", False),
        ("x;drop.page", False),
        ("cmetadata.pa'ge", False),
        ('"quoted".page', False),
    ],
)
def test_column_references_are_checked(value: str, ok: bool) -> None:
    if ok:
        assert str(ColumnRef.parse(value)) == value
    else:
        with pytest.raises(ValueError, match=r"identifier|JSON key"):
            ColumnRef.parse(value)


def test_a_mapping_with_a_bad_json_reference_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="JSON key"):
        parse_mapping(
            'table = "t"\n[columns]\nid = "id"\ndocument_id = "m.a.b"\ntext = "t"\n', "test"
        )

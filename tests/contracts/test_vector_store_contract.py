"""The VectorStore contract, run against every backend through one parametrised fixture
(today pgvector on the embedded PostgreSQL; S3 Vectors joins with its local server)."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from rag_app.domain import Chunk
from rag_app.errors import InvalidInputError
from rag_app.postgres.pool import open_pool
from rag_app.vectorstores.base import NativeHybrid, VectorStore, index_name
from rag_app.vectorstores.bulk import BulkWrite
from rag_app.vectorstores.bulk import upsert_documents as bulk_upsert
from rag_app.vectorstores.pgvector import PgVectorStore
from rag_app.vectorstores.s3vectors import S3VectorsStore
from rag_app_dev.s3vectors_local import LocalS3Vectors
from tests.conftest import s3vectors_client, unique_bucket

pytestmark = pytest.mark.anyio
DIM = 8


def unit(*values: float) -> NDArray[np.float32]:
    v = np.zeros(DIM, dtype=np.float32)
    v[: len(values)] = values
    return v / np.linalg.norm(v)


def chunk(document_id: str, n: int, text: str = "", **meta: Any) -> Chunk:
    return Chunk(
        document_id=document_id,
        chunk_no=n,
        text=text or f"{document_id} chunk {n}",
        page=n + 1,
        char_start=0,
        char_end=len(text),
        title=f"Title of {document_id}",
        collection=str(meta.pop("collection", "default")),
        metadata=meta,
    )


@pytest.fixture(params=["pgvector", "s3vectors"])
async def store(
    request: pytest.FixtureRequest,
    database_url: str,
    s3vectors_server: LocalS3Vectors,
    tmp_path: Path,
) -> AsyncIterator[VectorStore]:
    if request.param == "s3vectors":
        s3 = S3VectorsStore(
            s3vectors_client(s3vectors_server),
            bucket=unique_bucket(),
            index="chunks-test-8",
            dimension=DIM,
        )
        await s3.create()
        yield s3
        return
    pool = await open_pool(database_url, max_size=4)
    try:
        pg = PgVectorStore(pool, table=f"chunks_test_{uuid.uuid4().hex[:8]}_{DIM}", dimension=DIM)
        await pg.create()
        yield pg
    finally:
        await pool.close()


async def test_empty_store_returns_no_hits_and_counts_zero(store: VectorStore) -> None:
    assert await store.query(unit(1), top_k=5, filters={}) == []
    assert await store.count({}) == 0
    await store.check()


async def test_ocr_flags_and_media_times_round_trip(store: VectorStore) -> None:
    scanned = dataclasses.replace(chunk("scan", 0, "recognised text"), ocr=True)
    spoken = dataclasses.replace(
        chunk("hearing", 0, "the witness said", court="SCOTUS"), start_s=3.62, end_s=29.5
    )
    await store.upsert_document("scan", [scanned], np.stack([unit(1, 0)]))
    await store.upsert_document("hearing", [spoken], np.stack([unit(0, 1)]))
    hits = await store.query(unit(1, 1), top_k=2, filters={})
    assert sorted((h.chunk for h in hits), key=lambda c: c.document_id) == [spoken, scanned]
    assert (await store.query(unit(0, 1), top_k=1, filters={"court": "SCOTUS"}))[0].chunk == spoken


async def test_query_orders_by_cosine_similarity(store: VectorStore) -> None:
    vectors = np.stack([unit(1, 0), unit(1, 1), unit(0, 1), unit(-1, 0)])
    await store.upsert_document("d", [chunk("d", i) for i in range(4)], vectors)
    hits = await store.query(unit(1, 0), top_k=4, filters={})
    assert [h.chunk.chunk_no for h in hits] == [0, 1, 2, 3]
    assert [round(h.similarity, 4) for h in hits] == [1.0, 0.7071, 0.0, -1.0]
    assert hits[0].chunk == chunk("d", 0)


async def test_upsert_replaces_the_documents_whole_chunk_set(store: VectorStore) -> None:
    await store.upsert_document("d", [chunk("d", i) for i in range(5)], np.stack([unit(1)] * 5))
    await store.upsert_document("d", [chunk("d", 0, "new")], np.stack([unit(1)]))
    hits = await store.query(unit(1), top_k=10, filters={})
    assert [(h.chunk.chunk_no, h.chunk.text) for h in hits] == [(0, "new")]
    assert await store.count({"document_id": "d"}) == 1


async def test_delete_removes_every_chunk_of_the_document(store: VectorStore) -> None:
    await store.upsert_document("a", [chunk("a", i) for i in range(3)], np.stack([unit(1)] * 3))
    await store.upsert_document("b", [chunk("b", 0)], np.stack([unit(1)]))
    assert await store.delete_document("a") == 3
    assert await store.delete_document("a") == 0
    hits = await store.query(unit(1), top_k=10, filters={})
    assert {h.chunk.document_id for h in hits} == {"b"}


async def test_filters_are_an_equality_and(store: VectorStore) -> None:
    await store.upsert_document(
        "a",
        [
            chunk("a", 0, collection="x", year=2020, final=True, court="ca9"),
            chunk("a", 1, collection="x", year=2021, final=False, court="ca9"),
        ],
        np.stack([unit(1), unit(1)]),
    )
    await store.upsert_document(
        "b", [chunk("b", 0, collection="y", year=2020, ratio=0.5)], np.stack([unit(1)])
    )

    async def ids(filters: dict[str, Any]) -> set[str]:
        hits = await store.query(unit(1), top_k=10, filters=filters)
        return {h.chunk.chunk_id for h in hits}

    assert await ids({"collection": "x"}) == {"a#0", "a#1"}
    assert await ids({"document_id": "b"}) == {"b#0"}
    assert await ids({"year": 2020}) == {"a#0", "b#0"}
    assert await ids({"year": 2020, "collection": "x"}) == {"a#0"}
    assert await ids({"final": False}) == {"a#1"}
    assert await ids({"court": "ca9", "final": True, "year": 2020}) == {"a#0"}
    assert await ids({"ratio": 0.5}) == {"b#0"}
    assert await ids({"year": "2020"}) == set()  # a string is not the number
    assert await ids({"unknown": "x"}) == set()
    assert await store.count({"collection": "x", "year": 2021}) == 1


async def test_collections_restrict_queries_and_counts_in_the_store(store: VectorStore) -> None:
    for name, collection in [("a", "x"), ("b", "y"), ("c", "z")]:
        await store.upsert_document(
            name, [chunk(name, 0, collection=collection)], np.stack([unit(1)])
        )
    hits = await store.query(unit(1), top_k=10, filters={}, collections=frozenset({"x", "z"}))
    assert sorted(h.chunk.document_id for h in hits) == ["a", "c"]
    asked_for_y = await store.query(
        unit(1), top_k=10, filters={"collection": "y"}, collections=frozenset({"x"})
    )
    assert asked_for_y == []
    assert await store.query(unit(1), top_k=10, filters={}, collections=frozenset()) == []
    assert await store.count({}, collections=frozenset({"y"})) == 1
    assert await store.count({}, collections=None) == 3


async def test_top_k_bounds(store: VectorStore) -> None:
    await store.upsert_document(
        "d", [chunk("d", i) for i in range(120)], np.stack([unit(1, i / 120) for i in range(120)])
    )
    assert len(await store.query(unit(1), top_k=100, filters={})) == 100
    assert len(await store.query(unit(1), top_k=1, filters={})) == 1
    for bad in (0, 101, -1):
        with pytest.raises(ValueError, match="top_k"):
            await store.query(unit(1), top_k=bad, filters={})


async def test_filtered_queries_do_not_come_back_short(store: VectorStore) -> None:
    # 300 chunks near the query in one collection, 5 farther away in another: HNSW alone
    # would visit only the near ones; iterative scanning must still find all 5.
    near = [chunk("near", i, collection="near") for i in range(300)]
    await store.upsert_document("near", near, np.stack([unit(1, i / 1000) for i in range(300)]))
    far = [chunk("far", i, collection="far") for i in range(5)]
    await store.upsert_document("far", far, np.stack([unit(0, 1, i / 10) for i in range(5)]))
    hits = await store.query(unit(1), top_k=5, filters={"collection": "far"})
    assert len(hits) == 5


async def test_dimension_mismatch_is_refused(store: VectorStore) -> None:
    with pytest.raises(ValueError, match="dimension"):
        await store.upsert_document("d", [chunk("d", 0)], np.ones((1, DIM + 1), np.float32))
    with pytest.raises(ValueError, match="shape"):
        await store.query(np.ones(DIM + 1, np.float32), top_k=1, filters={})
    assert await store.count({}) == 0


async def test_chunks_of_another_document_are_refused(store: VectorStore) -> None:
    with pytest.raises(ValueError, match="does not belong"):
        await store.upsert_document("d", [chunk("e", 0)], np.stack([unit(1)]))


async def test_long_and_non_ascii_text_round_trips(store: VectorStore) -> None:
    text = "§ 12(b)(6) — «Klage» abgewiesen; 訴えを却下する. " * 450  # 29 KB of UTF-8
    await store.upsert_document("d", [chunk("d", 0, text, note="ünïcødé ✓")], np.stack([unit(1)]))
    (hit,) = await store.query(unit(1), top_k=1, filters={"note": "ünïcødé ✓"})
    assert hit.chunk.text == text


async def test_a_chunk_over_the_record_budget_is_refused_before_any_write(
    store: VectorStore,
) -> None:
    text = "訴えを却下する。" * 2000  # 48 KB of UTF-8: over the 40,960-byte record
    chunks = [chunk("d", 0), chunk("d", 1, text)]
    with pytest.raises(InvalidInputError, match="'text'"):
        await store.upsert_document("d", chunks, np.stack([unit(1), unit(1)]))
    assert await store.count({}) == 0


async def test_filterable_metadata_over_2kb_is_refused_naming_the_key(store: VectorStore) -> None:
    fat = chunk("d", 0, court="x" * 500, judge="y" * 1700)
    with pytest.raises(InvalidInputError, match="'judge'"):
        await store.upsert_document("d", [fat], np.stack([unit(1)]))
    assert await store.count({}) == 0


async def test_scores_agree_across_backends(
    database_url: str, s3vectors_server: LocalS3Vectors, tmp_path: Path
) -> None:
    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(40, DIM)).astype(np.float32)
    chunks = [chunk("d", i) for i in range(40)]
    query = rng.normal(size=DIM).astype(np.float32)
    s3 = S3VectorsStore(
        s3vectors_client(s3vectors_server),
        bucket=unique_bucket(),
        index="chunks-agree-8",
        dimension=DIM,
    )
    await s3.create()
    pool = await open_pool(database_url, max_size=2)
    try:
        pg = PgVectorStore(pool, table="chunks_agree_8", dimension=DIM)
        await pg.create()
        results = []
        for backend in (pg, s3):
            await backend.upsert_document("d", chunks, vectors)
            results.append(await backend.query(query, top_k=10, filters={}))
    finally:
        await pool.close()
    pg_hits, s3_hits = results
    assert [h.chunk.chunk_id for h in pg_hits] == [h.chunk.chunk_id for h in s3_hits]
    assert np.allclose([h.similarity for h in pg_hits], [h.similarity for h in s3_hits], atol=1e-5)


async def test_a_table_of_another_dimension_is_refused(database_url: str) -> None:
    pool = await open_pool(database_url, max_size=2)
    try:
        table = index_name("some-model", 8)
        await PgVectorStore(pool, table=table, dimension=8).create()
        with pytest.raises(ValueError, match="dimension"):
            await PgVectorStore(pool, table=table, dimension=16).create()
    finally:
        await pool.close()


def test_index_names_are_per_model_and_dimension() -> None:
    a = index_name("amazon.titan-embed-text-v2:0", 1024)
    assert a == "chunks_amazon_titan_embed_text_v2_0_1024"
    assert index_name("amazon.titan-embed-text-v2:0", 256) != a
    assert len(index_name("x" * 200, 4096)) <= 63


async def test_read_document_returns_what_upsert_wrote_in_chunk_order(store: VectorStore) -> None:
    # 150 chunks: more than one S3 Vectors GetVectors call (100 keys) holds.
    chunks = [chunk("d", i, f"clause {i}", court="ca9", year=2000 + i) for i in range(150)]
    # OCR flags and media times come back too (a migration copies them).
    chunks[1] = dataclasses.replace(chunks[1], ocr=True)
    chunks[2] = dataclasses.replace(chunks[2], start_s=12.5, end_s=41.0)
    rng = np.random.default_rng(1)
    vectors = np.stack([unit(*rng.standard_normal(DIM)) for _ in chunks])
    await store.upsert_document("d", chunks, vectors)
    await store.upsert_document("e", [chunk("e", 0)], np.stack([unit(1)]))
    read, read_vectors = await store.read_document("d")
    assert read == chunks
    assert read_vectors.dtype == np.float32
    np.testing.assert_allclose(read_vectors, vectors, atol=1e-6)


async def test_read_document_of_an_unknown_document_is_empty(store: VectorStore) -> None:
    await store.upsert_document("e", [chunk("e", 0)], np.stack([unit(1)]))
    read, vectors = await store.read_document("nope")
    assert read == []
    assert vectors.shape == (0, DIM)


LEGAL = {
    0: "The lessee shall pay the rent on the first day of each month.",
    1: "Section 39.13 requires an inspection of the AOA sensor within 90 days.",
    2: "The lessor may terminate the lease if the rent is not paid; rent is due monthly.",
    3: "Nothing in this agreement limits the lessee's statutory rights.",
}


async def _legal(store: VectorStore, document_id: str = "lease", **meta: Any) -> None:
    chunks = [chunk(document_id, n, text, **meta) for n, text in LEGAL.items()]
    vectors = np.stack([unit(*([0.1] * n), 1.0) for n in LEGAL])
    await store.upsert_document(document_id, chunks, vectors)


async def test_keyword_search_ranks_by_bm25_with_cosine_similarity(store: VectorStore) -> None:
    await _legal(store)
    query = unit(1)
    hits = await store.query_text("AOA sensor inspection", query, top_k=5, filters={})
    assert [h.chunk.chunk_no for h in hits] == [1]
    assert hits[0].text_rank > 0
    assert hits[0].score == hits[0].text_rank
    expected = float(unit(0.1, 1.0) @ query)
    assert hits[0].similarity == pytest.approx(expected, abs=1e-5)
    # "rent" is in two chunks; the one that says it twice, among as many words, ranks first.
    rent = await store.query_text("rent", query, top_k=5, filters={})
    assert [h.chunk.chunk_no for h in rent] == [2, 0]
    assert rent[0].text_rank > rent[1].text_rank
    # A rare word outweighs a common one: idf.
    both = await store.query_text("rent statutory", query, top_k=5, filters={})
    assert both[0].chunk.chunk_no == 3


async def test_keyword_search_matches_word_forms_and_ignores_stop_words(
    store: VectorStore,
) -> None:
    await _legal(store)
    hits = await store.query_text("terminating leases", unit(1), top_k=5, filters={})
    assert hits[0].chunk.chunk_no == 2  # stems: terminat-, lease
    assert await store.query_text("the of and", unit(1), top_k=5, filters={}) == []
    assert await store.query_text("zebra", unit(1), top_k=5, filters={}) == []
    nul = await store.query_text("rent\x00\x00lessor", unit(1), top_k=5, filters={})
    assert {h.chunk.chunk_no for h in nul} == {0, 2}
    # Query syntax is words, never operators: quotes, minus, "or" are plain text.
    odd = await store.query_text('"rent" -lessee OR (', unit(1), top_k=5, filters={})
    assert {h.chunk.chunk_no for h in odd} == {0, 2, 3}  # "-lessee" still finds lessee


async def test_hybrid_candidates_carry_both_signals(store: VectorStore) -> None:
    await _legal(store)
    query = unit(0.1, 1.0)  # nearest chunk 1; chunks 0 and 2 hold "rent"
    found = await store.query_hybrid("rent inspection", query, top_k=2, filters={})
    assert found.depth == 2
    assert next(h.chunk.chunk_no for h in found.by_vector) == 1
    assert found.by_vector[0].similarity == pytest.approx(1.0, abs=1e-5)
    words = await store.query_text("rent inspection", query, top_k=2, filters={})
    assert [h.chunk.chunk_no for h in found.by_words] == [h.chunk.chunk_no for h in words]
    assert [h.text_rank for h in found.by_words] == pytest.approx([h.text_rank for h in words])
    if found.vector_hits_scored:  # every vector hit has its own BM25, as query_text scores it
        alone = {
            h.chunk.chunk_no: h.text_rank
            for h in await store.query_text("rent inspection", query, top_k=4, filters={})
        }
        for h in found.by_vector:
            assert h.text_rank == pytest.approx(alone.get(h.chunk.chunk_no, 0.0), rel=1e-6)
    # No words that count: the vector list alone; filters and grants apply to both lists.
    bare = await store.query_hybrid("the of", query, top_k=2, filters={})
    assert bare.by_words == []
    assert len(bare.by_vector) == 2
    none = await store.query_hybrid("rent", query, top_k=2, filters={}, collections=frozenset())
    assert none.by_vector == []
    assert none.by_words == []
    other = await store.query_hybrid("rent", query, top_k=2, filters={"document_id": "x"})
    assert other.by_vector == []
    assert other.by_words == []


async def test_keyword_search_respects_filters_collections_and_deletes(store: VectorStore) -> None:
    await _legal(store, "lease-a", collection="alpha", court="x")
    await _legal(store, "lease-b", collection="beta", court="y")
    hits = await store.query_text("rent", unit(1), top_k=10, filters={})
    assert {h.chunk.document_id for h in hits} == {"lease-a", "lease-b"}
    only_b = await store.query_text("rent", unit(1), top_k=10, filters={"court": "y"})
    assert {h.chunk.document_id for h in only_b} == {"lease-b"}
    granted = await store.query_text(
        "rent", unit(1), top_k=10, filters={}, collections=frozenset({"alpha"})
    )
    assert {h.chunk.collection for h in granted} == {"alpha"}
    assert (
        await store.query_text("rent", unit(1), top_k=10, filters={}, collections=frozenset()) == []
    )
    top = await store.query_text("rent", unit(1), top_k=1, filters={})
    assert len(top) == 1
    await store.delete_document("lease-a")
    after = await store.query_text("rent", unit(1), top_k=10, filters={})
    assert {h.chunk.document_id for h in after} == {"lease-b"}
    # Replacing a document replaces its words.
    await store.upsert_document("lease-b", [chunk("lease-b", 0, "an easement")], unit(1)[None])
    assert await store.query_text("rent", unit(1), top_k=10, filters={}) == []
    assert len(await store.query_text("easement", unit(1), top_k=10, filters={})) == 1


async def test_native_hybrid_search_fuses_words_and_meaning(store: VectorStore) -> None:
    """The store's own hybrid query (S3 Vectors: RRF of its BM25 and vector searches)."""
    if not isinstance(store, NativeHybrid):
        pytest.skip(f"{type(store).__name__} has no native hybrid search")
    await _legal(store, "lease-a", collection="alpha", court="x")
    await _legal(store, "lease-b", collection="beta", court="y")
    # Chunk 3 is nearest to the vector, chunk 1 the only one with the words: both rank.
    hits = await store.query_native_hybrid(
        "AOA sensor inspection", unit(*([0.1] * 3), 1.0), top_k=4, filters={}
    )
    assert {(h.chunk.document_id, h.chunk.chunk_no) for h in hits[:4]} == {
        ("lease-a", 1), ("lease-b", 1), ("lease-a", 3), ("lease-b", 3),
    }  # fmt: skip
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert all(h.score > 0 for h in hits)
    worded = [h for h in hits if h.chunk.chunk_no == 1]
    assert all(h.text_rank > 0 for h in worded)
    only_b = await store.query_native_hybrid(
        "rent", unit(1), top_k=10, filters={"court": "y"}, collections=frozenset({"beta"})
    )
    assert only_b
    assert {h.chunk.document_id for h in only_b} == {"lease-b"}
    assert (
        await store.query_native_hybrid(
            "rent", unit(1), top_k=5, filters={}, collections=frozenset()
        )
        == []
    )
    # No word to search: the vector search alone answers.
    plain = await store.query_native_hybrid("?!", unit(1), top_k=2, filters={})
    assert [h.chunk.chunk_id for h in plain] == [
        h.chunk.chunk_id for h in await store.query(unit(1), top_k=2, filters={})
    ]
    await store.delete_document("lease-a")
    after = await store.query_native_hybrid("rent", unit(1), top_k=10, filters={})
    assert {h.chunk.document_id for h in after} == {"lease-b"}


async def test_keyword_scores_agree_across_backends(
    database_url: str, s3vectors_server: LocalS3Vectors, tmp_path: Path
) -> None:
    s3 = S3VectorsStore(
        s3vectors_client(s3vectors_server),
        bucket=unique_bucket(),
        index="chunks-bm25-8",
        dimension=DIM,
    )
    await s3.create()
    pool = await open_pool(database_url, max_size=2)
    try:
        pg = PgVectorStore(pool, table="chunks_bm25_8", dimension=DIM)
        await pg.create()
        results = []
        for backend in (pg, s3):
            await _legal(backend, "one")
            await _legal(backend, "two")
            await backend.delete_document("two")
            results.append(await backend.query_text("rent lessee", unit(1), top_k=10, filters={}))
    finally:
        await pool.close()
    pg_hits, s3_hits = results
    # The same ranking; the scores are each engine's own BM25 (S3 Vectors' analyzer and
    # length normalisation are not PostgreSQL's), so they are close, not equal.
    assert [h.chunk.chunk_id for h in pg_hits] == [h.chunk.chunk_id for h in s3_hits]
    assert np.allclose([h.text_rank for h in pg_hits], [h.text_rank for h in s3_hits], rtol=0.05)


async def test_bulk_upsert_replaces_each_document_and_refuses_a_repeated_id(
    store: VectorStore,
) -> None:
    """``vectorstores.bulk.upsert_documents``, the path of migrations and large loads: the
    store's own bulk write where it has one (pgvector), else one document after the other."""
    assert isinstance(store, BulkWrite) is isinstance(store, PgVectorStore)
    await bulk_upsert(
        store,
        [
            ("a", [chunk("a", i, f"old {i}") for i in range(3)], np.stack([unit(1)] * 3)),
            ("b", [chunk("b", 0, "kept")], np.stack([unit(0, 1)])),
        ],
    )
    await bulk_upsert(
        store,
        [
            ("a", [chunk("a", 0, "new")], np.stack([unit(1)])),
            ("c", [chunk("c", 0, "added")], np.stack([unit(1, 1)])),
        ],
    )
    texts = {
        (h.chunk.document_id, h.chunk.text)
        for h in await store.query(unit(1), top_k=10, filters={})
    }
    assert texts == {("a", "new"), ("b", "kept"), ("c", "added")}
    twice = [("d", [chunk("d", 0)], np.stack([unit(1)]))] * 2
    with pytest.raises(ValueError, match="more than once"):
        await bulk_upsert(store, twice)
    await bulk_upsert(store, [])
    assert await store.count({}) == 3

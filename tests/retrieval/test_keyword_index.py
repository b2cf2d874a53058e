"""The keyword side of search: the S3 Vectors store's BM25 index across processes, the
pgvector term counts, and reciprocal rank fusion."""

from __future__ import annotations

import dataclasses
import uuid
from pathlib import Path

import numpy as np
import pytest
from psycopg import sql

from rag_app.domain import Chunk, Hit
from rag_app.postgres.pool import open_pool
from rag_app.retrieval.fusion import RRF_K, blend, fuse
from rag_app.text import bm25, words
from rag_app.vectorstores.base import HybridCandidates
from rag_app.vectorstores.pgvector import PgVectorStore
from tests.conftest import keyword_index

pytestmark = pytest.mark.anyio


def chunk(document_id: str, n: int, text: str, collection: str = "c") -> Chunk:
    return Chunk(document_id, n, text, 1, 0, len(text), "t", collection)


def match_all(_: object) -> bool:
    return True


async def test_another_process_sees_writes_after_its_refresh(tmp_path: Path) -> None:
    writer = keyword_index(tmp_path)
    reader = keyword_index(tmp_path, refresh_seconds=3600)
    await writer.put_document("d", [chunk("d", 0, "indemnification clause")])
    assert await reader.search("indemnification", top_k=5, matches=match_all) != []
    await writer.put_document("d", [chunk("d", 0, "arbitration clause")])
    await writer.put_document("e", [chunk("e", 0, "arbitration seat")])
    # Within refresh_seconds the reader keeps what it loaded...
    assert [k for k, *_ in await reader.search("arbitration", top_k=5, matches=match_all)] == []
    await reader.refresh(force=True)
    # ...then it has the replacement and the new document.
    found = await reader.search("arbitration", top_k=5, matches=match_all)
    assert sorted(k for k, *_ in found) == ["d", "e"]
    assert await reader.search("indemnification", top_k=5, matches=match_all) == []
    await writer.delete_document("e")
    await reader.refresh(force=True)
    assert [k for k, *_ in await reader.search("arbitration", top_k=5, matches=match_all)] == ["d"]
    # One stored version per document.
    assert len(list((tmp_path / "keywords").rglob("*.json"))) == 1


async def test_an_interrupted_replacement_leaves_the_newest_version_in_force(
    tmp_path: Path,
) -> None:
    index = keyword_index(tmp_path)
    await index.put_document("d", [chunk("d", 0, "old words")])
    old = next((tmp_path / "keywords").rglob("*.json"))
    saved = old.read_bytes()
    await index.put_document("d", [chunk("d", 0, "new words")])
    old.write_bytes(saved)  # the old version's delete never happened
    fresh = keyword_index(tmp_path)
    assert [k for k, *_ in await fresh.search("new", top_k=5, matches=match_all)] == ["d"]
    assert await fresh.search("old", top_k=5, matches=match_all) == []


def test_terms_stem_drop_stop_words_and_keep_compounds() -> None:
    assert words.terms("The Lessee's work-hours under Section 39.13") == {
        "lesse": 1, "work-hour": 1, "work": 1, "hour": 1, "section": 1, "39.13": 1,
    }  # fmt: skip
    assert bm25.query_terms("the of and") == []
    assert len(bm25.query_terms(" ".join(f"w{i}" for i in range(500)))) == bm25.MAX_QUERY_TERMS


async def test_pgvector_term_counts_stay_exact_and_are_rebuilt_for_older_tables(
    database_url: str,
) -> None:
    table = f"chunks_terms_{uuid.uuid4().hex[:6]}_4"
    pool = await open_pool(database_url, max_size=2)
    try:
        store = PgVectorStore(pool, table=table, dimension=4)
        await store.create()
        v = np.eye(4, dtype=np.float32)
        await store.upsert_document(
            "a", [chunk("a", i, f"rent deposit {i}") for i in range(3)], v[:3]
        )
        await store.upsert_document("b", [chunk("b", 0, "rent")], v[:1])
        await store.upsert_document("a", [chunk("a", 0, "deposit")], v[:1])
        await store.delete_document("b")

        async def counts() -> dict[str, tuple[int, int]]:
            async with pool.connection() as conn:
                rows = await (
                    await conn.execute(
                        sql.SQL("SELECT term, chunks, length FROM {} WHERE chunks <> 0").format(
                            sql.Identifier(f"{table}_terms")
                        )
                    )
                ).fetchall()
            return {r[0]: (r[1], r[2]) for r in rows}

        assert await counts() == {"": (1, 1), "deposit": (1, 0)}
        # A table from before keyword search: no counts table; create() rebuilds it.
        async with pool.connection() as conn:
            await conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(f"{table}_terms")))
        await PgVectorStore(pool, table=table, dimension=4).create()
        assert await counts() == {"": (1, 1), "deposit": (1, 0)}
    finally:
        await pool.close()


def hit(chunk_no: int, similarity: float = 0.5, text_rank: float = 0.0) -> Hit:
    return Hit(chunk("d", chunk_no, "x"), similarity=similarity, text_rank=text_rank)


def test_fusion_sums_reciprocal_ranks_and_keeps_both_scores() -> None:
    by_vector = [hit(1, 0.9), hit(2, 0.8), hit(3, 0.7)]
    by_words = [hit(3, 0.7, text_rank=5.0), hit(4, 0.1, text_rank=4.0)]
    fused = fuse([by_vector, by_words])
    assert [h.chunk.chunk_no for h in fused] == [3, 1, 2, 4]
    assert fused[0].score == pytest.approx(1 / (RRF_K + 3) + 1 / (RRF_K + 1))
    assert fused[0].text_rank == 5.0
    assert fused[0].similarity == 0.7
    assert fuse([[], []]) == []
    # Equal fusion scores: the closer vector first.
    tie = fuse([[hit(1, 0.2)], [hit(2, 0.9)]])
    assert [h.chunk.chunk_no for h in tie] == [2, 1]


def both(by_vector: list[Hit], by_words: list[Hit], *, scored: bool = True) -> HybridCandidates:
    return HybridCandidates(by_vector, by_words, depth=2, vector_hits_scored=scored)


def test_blending_weighs_similarity_against_normalised_bm25() -> None:
    by_vector = [hit(1, 0.9), hit(2, 0.5, text_rank=8.0)]
    by_words = [hit(2, 0.5, text_rank=8.0), hit(3, 0.3, text_rank=4.0)]
    blended = blend(both(by_vector, by_words), vector_weight=0.5)
    # 1: 0.45 + 0;  2: 0.25 + 0.5;  3: 0.15 + 0.25
    assert [h.chunk.chunk_no for h in blended] == [2, 1, 3]
    assert [h.score for h in blended] == pytest.approx([0.75, 0.45, 0.40])
    assert blended[0].text_rank == 8.0
    only_vector = blend(both(by_vector[:1], []), vector_weight=0.7)
    assert [h.score for h in only_vector] == pytest.approx([0.63])
    assert blend(both(by_vector, by_words), vector_weight=1.0)[0].chunk.chunk_no == 1


def test_a_vector_hit_is_blended_with_its_own_bm25_not_zero() -> None:
    """The fusion defect: the first vector hit, with a BM25 just under the keyword list's
    (it holds the query's words, but was not among the keyword candidates), must not fall
    behind a chunk that only matched generic words."""
    by_vector = [hit(1, 0.9, text_rank=3.5), hit(2, 0.2, text_rank=0.0)]
    by_words = [hit(3, 0.3, text_rank=4.0), hit(4, 0.25, text_rank=3.8)]
    blended = blend(both(by_vector, by_words), vector_weight=0.5)
    assert blended[0].chunk.chunk_no == 1
    assert blended[0].score == pytest.approx(0.45 + 0.5 * 3.5 / 4.0)
    # Scored as 0, as before the fix, it came behind both keyword hits.
    zero = [dataclasses.replace(h, text_rank=0.0) for h in by_vector]
    assert next(h.chunk.chunk_no for h in blend(both(zero, by_words), vector_weight=0.5)) == 3


def test_unscored_vector_hits_count_the_keyword_lists_floor_or_zero() -> None:
    """A store that returns no BM25 for vector hits (S3 Vectors' text search): a full
    keyword list bounds the missing score by its lowest; a short one means no query word."""
    by_vector = [hit(1, 0.9), hit(3, 0.3)]
    full = [hit(3, 0.3, text_rank=4.0), hit(4, 0.25, text_rank=2.0)]
    candidates = both(by_vector, full, scored=False)
    assert candidates.unscored_text_rank() == 2.0
    blended = {h.chunk.chunk_no: h for h in blend(candidates, vector_weight=0.5)}
    assert blended[1].text_rank == 2.0
    assert blended[3].text_rank == 4.0  # the keyword list's copy
    short = both(by_vector, full[:1], scored=False)
    assert short.unscored_text_rank() == 0.0
    assert both(by_vector, [], scored=False).unscored_text_rank() == 0.0


async def test_on_a_large_corpus_only_selective_terms_find_keyword_candidates(
    database_url: str,
) -> None:
    pool = await open_pool(database_url, max_size=2)
    try:
        # As if the corpus were large: a term in more than one chunk is common.
        store = PgVectorStore(
            pool, table="chunks_selective_4", dimension=4, selective_share=0.0, selective_floor=1
        )
        await store.create()
        texts = ["rent is due", "rent and deposit", "statutory rent", "it's a backslash \\ word"]
        await store.upsert_document(
            "d", [chunk("d", i, t) for i, t in enumerate(texts)], np.eye(4, dtype=np.float32)
        )
        v = np.eye(4, dtype=np.float32)[0]
        # "rent" is common: only the chunk with the rare term is a candidate, scored on both.
        found = await store.query_text("statutory rent", v, top_k=5, filters={})
        assert [h.chunk.chunk_no for h in found] == [2]
        # A query of common words only falls back to its rarest term.
        assert {h.chunk.chunk_no for h in await store.query_text("rent", v, top_k=5, filters={})} == {
            0, 1, 2,
        }  # fmt: skip
        # Quotes and backslashes in the query are plain text.
        odd = await store.query_text("it's \\ deposit' \\'", v, top_k=5, filters={})
        assert [h.chunk.chunk_no for h in odd] == [1]
    finally:
        await pool.close()

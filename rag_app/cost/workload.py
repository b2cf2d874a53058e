"""The scenario in the units AWS bills, the same for both options: vectors and their size,
tokens embedded and generated, bytes stored. Sizes come from the app's own code (its chunk
records, its S3 Vectors metadata measure, its answer prompt) so the estimate follows it."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

from rag_app.answerers.bedrock import SYSTEM_PROMPT, build_prompt
from rag_app.aws import s3vectors_rules as rules
from rag_app.cost.s3vectors import VectorShape
from rag_app.cost.scenario import Indexing, Scenario
from rag_app.domain import Chunk, Hit
from rag_app.vectorstores.records import NON_FILTERABLE_FIELDS, chunk_metadata

MILLION = Decimal(1_000_000)
_DOCUMENT_ID = "0" * 32  # uuid4().hex, as ingestion assigns


def _ceil(x: Decimal) -> Decimal:
    return x.to_integral_value(rounding=ROUND_CEILING)


def chunks_of(characters: Decimal, indexing: Indexing) -> Decimal:
    """Chunks a text of ``characters`` makes: the first holds ``chunk_size`` characters and
    each further one ``chunk_size - chunk_overlap`` new ones (the chunker packs whole
    paragraphs and sentences, so real chunks run a little shorter; this is the floor)."""
    if characters <= 0:
        return Decimal(0)
    step = indexing.chunk_size - indexing.chunk_overlap
    return 1 + max(Decimal(0), _ceil((characters - indexing.chunk_size) / step))


def embedded_characters(characters: Decimal, indexing: Indexing) -> Decimal:
    """Characters sent to the embedding model: the text plus each chunk's repeated overlap."""
    chunks = chunks_of(characters, indexing)
    if not chunks:
        return Decimal(0)
    return characters + (chunks - 1) * indexing.chunk_overlap


def _representative_chunk(indexing: Indexing, text_chars: int) -> Chunk:
    return Chunk(
        document_id=_DOCUMENT_ID,
        chunk_no=100,
        text="x" * text_chars,
        page=10,
        char_start=1000,
        char_end=1000 + text_chars,
        title="t" * indexing.title_characters,
        collection="default",
    )


@dataclass(frozen=True)
class Workload:
    vectors: Decimal  # after the one-off ingestion
    vectors_added_per_month: Decimal
    shape: VectorShape
    chunk_characters: Decimal  # average
    embedding_tokens_one_off: Decimal
    embedding_tokens_per_month: Decimal  # new documents and media, and the questions
    media_minutes_one_off: Decimal
    media_minutes_per_month: Decimal
    answer_input_tokens: Decimal  # per answer
    answer_output_tokens: Decimal
    queries: Decimal
    stored_document_gb: Decimal  # originals and media, after a month of additions
    documents_added_per_month: Decimal


def workload(scenario: Scenario) -> Workload:
    corpus, ix, usage = scenario.corpus, scenario.indexing, scenario.usage
    per_page = corpus.tokens_per_page * ix.characters_per_token
    per_hour = corpus.transcript_tokens_per_hour * ix.characters_per_token
    page_chunks = chunks_of(per_page, ix)
    hour_chunks = chunks_of(per_hour, ix)
    pages = corpus.documents * corpus.pages_per_document
    added_pages = corpus.documents_added_per_month * corpus.pages_per_document

    def vectors(pages: Decimal, hours: Decimal) -> Decimal:
        return pages * page_chunks + hours * hour_chunks

    def tokens(pages: Decimal, hours: Decimal) -> Decimal:
        chars = pages * embedded_characters(per_page, ix) + hours * embedded_characters(
            per_hour, ix
        )
        return chars / ix.characters_per_token

    total_vectors = vectors(pages, corpus.media_hours)
    embedded = tokens(pages, corpus.media_hours)
    average_chars = (
        embedded * ix.characters_per_token / total_vectors if total_vectors else Decimal(0)
    )
    chunk = _representative_chunk(ix, math.ceil(average_chars))
    metadata = chunk_metadata(chunk)
    filterable = rules.metadata_size(rules.filterable_part(metadata, NON_FILTERABLE_FIELDS))
    shape = VectorShape(
        dimension=ix.embedding_dimension,
        key_bytes=Decimal(len(chunk.chunk_id.encode())),
        filterable_bytes=Decimal(filterable + ix.filterable_metadata_bytes),
        non_filterable_bytes=Decimal(rules.metadata_size(metadata) - filterable),
    )
    hits = [Hit(chunk=chunk, similarity=1.0)] * usage.passages_per_answer
    question = "q" * math.ceil(usage.question_tokens * ix.characters_per_token)
    prompt_chars = len(SYSTEM_PROMPT) + len(build_prompt(question, hits))
    gb = Decimal(1024)
    stored_mb = (corpus.documents + corpus.documents_added_per_month) * (
        corpus.megabytes_per_document
    )
    stored_media = (corpus.media_hours + corpus.media_hours_added_per_month) * (
        corpus.media_gigabytes_per_hour
    )
    return Workload(
        vectors=total_vectors,
        vectors_added_per_month=vectors(added_pages, corpus.media_hours_added_per_month),
        shape=shape,
        chunk_characters=average_chars,
        embedding_tokens_one_off=embedded,
        embedding_tokens_per_month=tokens(added_pages, corpus.media_hours_added_per_month)
        + usage.queries_per_month * usage.question_tokens,
        media_minutes_one_off=corpus.media_hours * 60,
        media_minutes_per_month=corpus.media_hours_added_per_month * 60,
        answer_input_tokens=_ceil(prompt_chars / ix.characters_per_token),
        answer_output_tokens=Decimal(usage.output_tokens),
        queries=Decimal(usage.queries_per_month),
        stored_document_gb=stored_mb / gb + stored_media,
        documents_added_per_month=Decimal(corpus.documents_added_per_month),
    )

"""BM25, the full-text ranking of pgvector's keyword search.

pgvector computes it in SQL over PostgreSQL's ``english`` text search configuration
(``vectorstores/pgvector.py``), which the project's one tokenizer (``text/words.py``)
approximates. S3 Vectors ranks with its own BM25 (its English analyzer), in the service.

    score(chunk) = sum over query terms t in chunk of
        idf(t) * tf * (K1 + 1) / (tf + K1 * (1 - B + B * length / average length))
    idf(t) = ln(1 + (chunks - df(t) + 0.5) / (df(t) + 0.5))

``length`` is the number of distinct terms of the chunk (what PostgreSQL's ``length()``
of a ``tsvector`` gives), ``tf`` how often the term occurs in it.
"""

from __future__ import annotations

from rag_app.text.words import terms

K1 = 1.2
B = 0.75
# A question is a sentence, not a document: past this many distinct terms the rest are
# ignored (keeps a pasted page from becoming a thousand-term OR query).
MAX_QUERY_TERMS = 64


def query_terms(text: str) -> list[str]:
    """The distinct terms of a query, in order of first occurrence, at most 64."""
    return list(terms(text))[:MAX_QUERY_TERMS]

"""Amazon S3 Vectors, priced by AWS's published method (the S3 pricing page, Vectors tab):

- a vector's logical size is 4 bytes per dimension + its key + all its metadata;
- storage is billed per logical GB-month and PUTs per logical GB uploaded;
- a query costs a per-call price plus data processed: (4 x dimension + key + filterable
  metadata) x the vectors in the queried index, tiered by the index's size (the first
  100,000 vectors at one $/TB, the rest at a lower one).

Units are binary (KB = 1,024 B, GB = 2^30 B, TB = 2^40 B): only then do the page's worked
examples come out (tests/infra/test_cost.py reproduces both).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from rag_app.cost.lines import Line, line
from rag_app.cost.prices import RegionPrices
from rag_app.errors import InvalidInputError

# AWS's limit (s3-vectors-limitations): more would need several indexes, which this
# model does not split into.
MAX_VECTORS_PER_INDEX = 2_000_000_000
GB = Decimal(2**30)
TB = Decimal(2**40)


@dataclass(frozen=True)
class VectorShape:
    dimension: int
    key_bytes: Decimal
    filterable_bytes: Decimal
    non_filterable_bytes: Decimal

    @property
    def logical_bytes(self) -> Decimal:
        return (
            4 * self.dimension + self.key_bytes + self.filterable_bytes + self.non_filterable_bytes
        )

    @property
    def query_bytes(self) -> Decimal:
        """What a query processes per vector: non-filterable metadata is not counted."""
        return 4 * self.dimension + self.key_bytes + self.filterable_bytes


@dataclass(frozen=True)
class S3VectorsUsage:
    """A month's billable quantities."""

    stored_gb: Decimal
    put_gb: Decimal
    queries: Decimal
    processed_tb_first: Decimal  # in the first tier (the first N vectors of each index)
    processed_tb_rest: Decimal


def monthly_usage(
    prices: RegionPrices,
    shape: VectorShape,
    *,
    indexes: int,
    vectors_per_index: Decimal,
    vectors_put: Decimal,
    queries: Decimal,
) -> S3VectorsUsage:
    """Usage for ``indexes`` equal indexes, with ``queries`` spread over them (each query
    searches one index) and ``vectors_put`` vectors written in the month."""
    if vectors_per_index > MAX_VECTORS_PER_INDEX:
        raise InvalidInputError(
            f"{vectors_per_index:,} vectors in one index: S3 Vectors allows "
            f"{MAX_VECTORS_PER_INDEX:,}"
        )
    first_tier = prices.price("s3vectors.query_processed.first").up_to_vectors
    if first_tier is None:
        raise ValueError("s3vectors.query_processed.first needs up_to_vectors")
    in_first = min(vectors_per_index, Decimal(first_tier))
    return S3VectorsUsage(
        stored_gb=indexes * vectors_per_index * shape.logical_bytes / GB,
        put_gb=vectors_put * shape.logical_bytes / GB,
        queries=queries,
        processed_tb_first=queries * in_first * shape.query_bytes / TB,
        processed_tb_rest=queries * (vectors_per_index - in_first) * shape.query_bytes / TB,
    )


def storage_and_query_lines(prices: RegionPrices, usage: S3VectorsUsage) -> list[Line]:
    """The monthly lines: storage, PUT, query calls, data processed per tier."""
    return [
        line(prices, "s3vectors.storage", "S3 Vectors storage", usage.stored_gb, "logical GB"),
        put_line(prices, usage.put_gb, "vectors written this month"),
        line(
            prices,
            "s3vectors.query_requests",
            "S3 Vectors query calls",
            usage.queries / 1_000_000,
            f"{usage.queries:,} QueryVectors",
        ),
        line(
            prices,
            "s3vectors.query_processed.first",
            "S3 Vectors data processed, first tier",
            usage.processed_tb_first,
            "TB, per query: index vectors in the tier x query bytes",
        ),
        line(
            prices,
            "s3vectors.query_processed.rest",
            "S3 Vectors data processed, beyond the first tier",
            usage.processed_tb_rest,
            "TB",
        ),
    ]


def put_line(prices: RegionPrices, put_gb: Decimal, detail: str) -> Line:
    return line(prices, "s3vectors.put", "S3 Vectors PUT", put_gb, detail)

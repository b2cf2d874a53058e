"""What a migration did (or, in a dry run, would do), as figures a person reads."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from rag_app.cost.prices import load_prices
from rag_app.migration.rows import Rejection

# The embedding price comes from the cost model's dated table (one source for prices).
PRICED_REGION = "us-east-1"
TITAN_V2 = "amazon.titan-embed-text-v2:0"
CHARS_PER_TOKEN = 4.0  # a rough English average; Titan reports the real count per call
MAX_SHOWN_REJECTIONS = 20


@dataclass
class Tally:
    """Counts shared by a run and a dry run; ``rejections`` keeps the first few."""

    rows_read: int = 0
    documents: int = 0
    rows_accepted: int = 0
    chars_accepted: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    rejections: list[Rejection] = field(default_factory=list)
    by_collection: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Target collection -> (documents, rows) accepted."""

    def count_collection(self, collection: str, rows: int) -> None:
        if rows:
            documents, total = self.by_collection.get(collection, (0, 0))
            self.by_collection[collection] = (documents + 1, total + rows)

    def reject(self, rejections: list[Rejection]) -> None:
        for rejection in rejections:
            self.skipped[rejection.reason.value] += 1
        room = MAX_SHOWN_REJECTIONS - len(self.rejections)
        self.rejections.extend(rejections[: max(room, 0)])


@dataclass(frozen=True, slots=True)
class Estimate:
    embedding_calls: int
    tokens: int
    cost_usd: float | None
    """``None`` when the embedder is priced by nothing we know (the local model costs 0)."""


def estimate(tally: Tally, *, titan: bool, batch_size: int) -> Estimate:
    """Titan embeds one text per InvokeModel call; the local model a batch per call."""
    tokens = round(tally.chars_accepted / CHARS_PER_TOKEN)
    if titan:
        price = load_prices().region(PRICED_REGION).model_price(TITAN_V2, "input")
        cost = tokens / 1_000_000 * float(price.usd)
        return Estimate(tally.rows_accepted, tokens, cost)
    return Estimate(-(-tally.rows_accepted // batch_size), tokens, 0.0)


def _skipped_lines(skipped: Counter[str], rejections: list[Rejection]) -> list[str]:
    lines = [f"  skipped: {n:>8,}  {reason}" for reason, n in sorted(skipped.items())]
    if rejections:
        lines.append(f"first {len(rejections)} skipped rows (source id: reason):")
        lines += [f"  {r.source_id}: {r.detail}" for r in rejections]
    return lines


def _collection_lines(by_collection: dict[str, tuple[int, int]]) -> list[str]:
    if not by_collection:
        return []
    return [
        "  per collection:",
        *(
            f"    {name}: {documents:,} documents, {rows:,} chunks"
            for name, (documents, rows) in sorted(by_collection.items())
        ),
    ]


def dry_run_lines(tally: Tally, est: Estimate, *, model_id: str) -> list[str]:
    cost = "unknown" if est.cost_usd is None else f"${est.cost_usd:,.4f}"
    return [
        "dry run: nothing was written",
        f"  rows:      {tally.rows_read:>8,} in {tally.documents:,} documents",
        f"  to embed:  {tally.rows_accepted:>8,} rows, {tally.chars_accepted:,} characters",
        *_collection_lines(tally.by_collection),
        f"  embedding: {est.embedding_calls:>8,} calls to {model_id}, about {est.tokens:,} "
        f"tokens, estimated cost {cost}",
        *_skipped_lines(tally.skipped, tally.rejections),
    ]


@dataclass(frozen=True, slots=True)
class RunReport:
    rows_read: int
    rows_written: int
    documents_written: int
    by_collection: dict[str, tuple[int, int]]
    skipped: Counter[str]
    rejections: list[Rejection]
    session_rows: int
    seconds: float
    resumed: bool
    embed_seconds: float = 0.0
    already_finished: bool = False

    def lines(self) -> list[str]:
        if self.already_finished:
            return ["this migration already finished (--restart runs it again)"]
        rate = self.session_rows / self.seconds if self.seconds else 0.0
        return [
            "migration finished" + (" (resumed from a checkpoint)" if self.resumed else ""),
            f"  read:    {self.rows_read:>8,} rows",
            f"  written: {self.rows_written:>8,} chunks in {self.documents_written:,} documents",
            *_collection_lines(self.by_collection),
            *_skipped_lines(self.skipped, self.rejections),
            f"  time:    {self.seconds:,.1f} s this session, "
            f"{self.session_rows:,} rows ({rate:,.0f} rows/s), "
            f"{self.embed_seconds / self.seconds if self.seconds else 0.0:.0%} of it embedding",
        ]

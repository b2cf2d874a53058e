"""``search``, ``ask`` and ``eval``: questions to the indexed documents from the shell."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from rag_app.auth.principal import LOCAL_OPERATOR
from rag_app.cli.running import load_settings, parse_filters, run
from rag_app.conversations.records import Turn
from rag_app.domain import MAX_TOP_K, Hit, SearchMode
from rag_app.errors import RagError
from rag_app.evaluation.metrics import CUTOFF
from rag_app.services import Services

top_k_option = click.option("--top-k", type=int, default=5, show_default=True)
filter_option = click.option(
    "--filter", "filters", multiple=True, metavar="KEY=VALUE", help="Equality filter; repeatable."
)
mode_option = click.option(
    "--mode",
    type=click.Choice([m.value for m in SearchMode]),
    default=None,
    help="How passages are found (default RAG_SEARCH_MODE).",
)


def _mode(value: str | None) -> SearchMode | None:
    return None if value is None else SearchMode(value)


@click.command()
@click.argument("query")
@top_k_option
@filter_option
@mode_option
def search(query: str, top_k: int, filters: tuple[str, ...], mode: str | None) -> None:
    """Print the passages closest to QUERY."""

    async def action(services: Services) -> list[Hit]:
        return await services.queries.search(
            query, top_k=top_k, filters=parse_filters(filters), mode=_mode(mode)
        )

    for rank, hit in enumerate(run(load_settings(), action), 1):
        text = " ".join(hit.chunk.text.split())
        click.echo(f"{rank}. [{hit.score:.3f}] {hit.chunk.title}, page {hit.chunk.page}")
        click.echo(f"   {text[:300]}")


@click.command()
@click.argument("question")
@top_k_option
@filter_option
@mode_option
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
@click.option(
    "--conversation",
    "conversation_id",
    default=None,
    help="Ask a follow-up in this conversation (the local operator's).",
)
def ask(
    question: str,
    top_k: int,
    filters: tuple[str, ...],
    mode: str | None,
    as_json: bool,
    conversation_id: str | None,
) -> None:
    """Answer QUESTION from the indexed documents, with page citations. The answer is kept
    as a turn of a conversation of the local operator: pass its id to ``--conversation``
    to ask a follow-up (rewritten with the earlier turns in mind before retrieval)."""

    async def action(services: Services) -> Turn:
        pending = await services.conversations.ask(
            LOCAL_OPERATOR,
            question,
            conversation_id=conversation_id,
            top_k=top_k,
            filters=parse_filters(filters),
            mode=_mode(mode),
        )
        async for event in pending.events:
            if isinstance(event, Turn):
                return event
        raise RuntimeError("the answer stream ended without an answer")

    turn = run(load_settings(), action)
    if as_json:
        import msgspec

        from rag_app.api.schemas import AskOut

        click.echo(msgspec.json.encode(AskOut.of(turn)).decode())
        return
    if turn.rewritten_query != " ".join(question.split()):
        click.echo(f"(searched for: {turn.rewritten_query})")
    click.echo(turn.answer)
    for n, stored in enumerate(turn.citations, 1):
        c = stored.citation
        click.echo(f'  [{n}] {c.title}, page {c.page}: "{" ".join(c.quote.split())}"')
    click.echo(f"conversation {turn.conversation_id}, answer {turn.answer_id}")
    if not turn.grounded:
        sys.exit(2)


@click.command("eval")
@click.option(
    "--questions",
    "questions_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help='JSONL: {"question": "...", "document": "<id, title or filename>", "page": N, '
    '"span": "..."} (page and span optional).',
)
@click.option(
    "--mode",
    type=click.Choice([*(m.value for m in SearchMode), "all"]),
    default="all",
    show_default=True,
    help="The search mode to score, or all three.",
)
@click.option("--top-k", type=click.IntRange(1, MAX_TOP_K), default=CUTOFF, show_default=True)
@click.option("--show-misses", is_flag=True, help="List the questions not answered in the top 10.")
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="Also write the figures (and every question's rank) to this file.",
)
def eval_command(
    questions_path: Path, mode: str, top_k: int, show_misses: bool, json_path: Path | None
) -> None:
    """Score retrieval on known-item questions: hit@1, hit@5, MRR@10 and nDCG@10 per
    search mode, against the configured store."""
    from rag_app.evaluation.harness import Evaluation, evaluate
    from rag_app.evaluation.questions import load_questions

    try:
        questions = load_questions(questions_path)
    except RagError as e:
        raise click.ClickException(str(e)) from None
    modes = list(SearchMode) if mode == "all" else [SearchMode(mode)]
    settings = load_settings()

    async def action(services: Services) -> Evaluation:
        return await evaluate(
            services.queries, services.catalog, questions, modes=modes, top_k=top_k
        )

    result = run(settings, action)
    click.echo(f"{len(questions)} questions, top {top_k}, store {settings.vector_store}")
    for line in result.table():
        click.echo(line)
    if show_misses:
        for line in result.miss_lines():
            click.echo(line)
    if json_path is not None:
        figures = {"store": settings.vector_store, **result.figures()}
        json_path.write_text(json.dumps(figures, indent=2) + "\n")

"""``cost``: each deployment option's estimated AWS bill."""

from __future__ import annotations

from pathlib import Path

import click

from rag_app.errors import RagError


@click.command()
@click.option(
    "--inputs",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A TOML file of inputs (sections corpus, indexing, usage, network, ecs, eks, "
    "operations); unset keys keep their defaults, the seed's scenario.",
)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="SECTION.KEY=VALUE",
    help="One input, e.g. corpus.documents=5000 or usage.answer_model=amazon.nova-pro-v1:0; "
    "repeatable, applied after --inputs.",
)
@click.option("--region", default=None, help="An AWS region the price table has.")
@click.option(
    "--prices",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Another price table (default: rag_app/cost/prices.toml).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["markdown", "json"]),
    default="markdown",
    show_default=True,
)
def cost(
    inputs: Path | None,
    overrides: tuple[str, ...],
    region: str | None,
    prices: Path | None,
    fmt: str,
) -> None:
    """Estimate each option's AWS bill: line items per month, the one-off ingestion, and
    the assumptions, from a dated price table with a source for every price."""
    from rag_app import cost as costs

    try:
        scenario = costs.load_scenario(
            inputs, [*overrides, *([f"region={region}"] if region else [])]
        )
        table = costs.load_prices(prices) if prices else costs.load_prices()
        estimates = costs.estimate(scenario, table)
    except RagError as e:
        raise click.ClickException(str(e)) from None
    render = costs.markdown if fmt == "markdown" else costs.as_json
    click.echo(render(estimates, table, scenario))

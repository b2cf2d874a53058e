"""``rag-app``: serve the API, or ingest and query from the shell through the same services.

One module per command group. Installed packages add commands through the ``rag_app.cli``
entry-point group: the ``dev`` extra (``rag_app_dev``) adds ``s3vectors-local``.
"""

from __future__ import annotations

import logging
from importlib.metadata import entry_points

import click

from rag_app import __version__
from rag_app.cli.assistants import mcp
from rag_app.cli.audit import audit
from rag_app.cli.cost import cost
from rag_app.cli.documents import documents, ingest, jobs
from rag_app.cli.keys import keys
from rag_app.cli.migrate import migrate
from rag_app.cli.queries import ask, eval_command, search
from rag_app.cli.service import init_db, reindex, serve, worker


@click.group()
@click.version_option(__version__, prog_name="rag-app")
@click.option("-v", "--verbose", is_flag=True, help="Log at INFO level.")
def main(verbose: bool) -> None:
    """A RAG service for legal documents. Settings come from RAG_* environment variables."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


for command in (
    serve,
    worker,
    init_db,
    reindex,
    keys,
    ingest,
    documents,
    jobs,
    search,
    ask,
    eval_command,
    cost,
    migrate,
    audit,
    mcp,
):
    main.add_command(command)
for plugin in entry_points(group="rag_app.cli"):
    main.add_command(plugin.load(), plugin.name)

__all__ = ["main"]

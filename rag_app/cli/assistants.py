"""``mcp``: the knowledge base for desktop assistants, as an MCP server on stdio."""

from __future__ import annotations

import asyncio

import click

from rag_app.cli.running import load_settings
from rag_app.errors import RagError
from rag_app.postgres.pool import UNAVAILABLE


@click.command()
def mcp() -> None:
    """Serve the MCP tools (search, ask, list_documents, get_passage) on stdio, for a
    desktop assistant; they act with the grants of the key in RAG_API_KEY."""
    from rag_app.mcp_server.stdio import serve_stdio

    try:
        asyncio.run(serve_stdio(load_settings()))
    except RagError as e:
        raise click.ClickException(str(e)) from None
    except UNAVAILABLE as e:
        raise click.ClickException(f"the database is unavailable: {e}") from None

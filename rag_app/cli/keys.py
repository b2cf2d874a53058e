"""``keys``: create, list and revoke API keys in the configured key store."""

from __future__ import annotations

import asyncio

import click

from rag_app.auth.api_keys import KeyStore, new_key
from rag_app.auth.backends import build_key_store
from rag_app.cli.running import load_settings
from rag_app.errors import RagError


@click.group()
def keys() -> None:
    """API keys (RAG_API_KEYS_FILE or RAG_API_KEYS_SECRET_ID): create, list, revoke."""


def _key_store() -> KeyStore:
    try:
        return build_key_store(load_settings())
    except RagError as e:
        raise click.ClickException(str(e)) from None


@keys.command("create")
@click.option("--name", required=True, help="Who or what the key is for.")
@click.option("--read", "read", multiple=True, metavar="COLLECTION", help="Repeatable; '*': all.")
@click.option("--write", "write", multiple=True, metavar="COLLECTION", help="Repeatable.")
@click.option("--audit", is_flag=True, help="May read the audit trail (GET /audit).")
def keys_create(name: str, read: tuple[str, ...], write: tuple[str, ...], audit: bool) -> None:
    """Create a key and print it: it is shown once and stored only as a hash."""
    store = _key_store()

    async def create() -> str:
        key, record = new_key(name, read=list(read), write=list(write), audit=audit)
        await store.save([*(await store.load()), record])
        return key

    try:
        key = asyncio.run(create())
    except RagError as e:
        raise click.ClickException(str(e)) from None
    click.echo(key)


@keys.command("list")
def keys_list() -> None:
    """Every key's id, name, collections and creation time (never the key)."""
    for r in asyncio.run(_key_store().load()):
        click.echo(
            f"{r.id}  {r.name}  read={','.join(r.read)}  write={','.join(r.write)}"
            f"{'  audit' if r.audit else ''}  {r.created}"
        )


@keys.command("revoke")
@click.argument("key_id")
def keys_revoke(key_id: str) -> None:
    """Remove a key; a running service refuses it within RAG_API_KEYS_REFRESH_SECONDS."""
    store = _key_store()

    async def revoke() -> bool:
        records = await store.load()
        kept = [r for r in records if r.id != key_id]
        if len(kept) == len(records):
            return False
        await store.save(kept)
        return True

    if not asyncio.run(revoke()):
        raise click.ClickException(f"no key {key_id!r}")
    click.echo(f"revoked {key_id}")

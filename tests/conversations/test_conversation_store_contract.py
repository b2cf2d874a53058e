"""One contract for both conversation stores (PostgreSQL beside the catalog, JSON objects
in the documents bucket on Option 1), and retention through the service's sweep."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from rag_app.blobstores.s3 import S3BlobStore
from rag_app.conversations.objects import ObjectConversationStore
from rag_app.conversations.postgres import PostgresConversationStore
from rag_app.conversations.records import (
    Conversation,
    Feedback,
    StoredCitation,
    Turn,
    new_id,
)
from rag_app.conversations.rewrite import LocalRewriter
from rag_app.conversations.service import ConversationService
from rag_app.conversations.store import ConversationStore
from rag_app.domain import Citation
from rag_app.postgres.pool import open_pool

pytestmark = pytest.mark.anyio
T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["postgres", "objects"])
async def store(
    request: pytest.FixtureRequest, database_url: str, moto_s3: Any
) -> AsyncIterator[ConversationStore]:
    if request.param == "postgres":
        pool = await open_pool(database_url, max_size=2)
        yield PostgresConversationStore(pool)
        await pool.close()
    else:
        blobs = S3BlobStore(moto_s3, bucket="documents", prefix=f"t-{uuid.uuid4().hex}/")
        yield ObjectConversationStore(blobs)


def conversation(principal: str, at: datetime) -> Conversation:
    return Conversation(new_id("c"), principal, "a question", at, at)


def turn(c: Conversation, n: int, at: datetime) -> Turn:
    cited = Citation("doc", "Title", 3, "a quote", "doc#1", start_s=1.5, end_s=9.0)
    return Turn(
        new_id("a"),
        c.conversation_id,
        n,
        f"question {n}",
        f"query {n}",
        f"answer {n} [1]",
        True,
        (StoredCitation(cited, "faa"),),
        {"answerer": "extractive", "tokens": 3},
        at,
    )


async def test_turns_come_back_in_order_with_their_citations(store: ConversationStore) -> None:
    c = conversation("key:a", T0)
    turns = [turn(c, n, T0 + timedelta(minutes=n)) for n in (1, 2, 3)]
    for t in turns:
        await store.save_turn(c, t)
    stored = await store.get(c.conversation_id)
    assert stored is not None
    assert stored.turns == tuple(turns)
    assert stored.updated_at == turns[-1].created_at
    assert await store.get_turn(turns[1].answer_id) == turns[1]
    assert await store.get("c_" + "0" * 24) is None
    assert await store.get_turn("a_" + "0" * 24) is None
    with pytest.raises(ValueError, match="already stored"):
        await store.save_turn(c, turns[0])


async def test_listing_is_per_principal_most_recent_first_and_paged(
    store: ConversationStore,
) -> None:
    mine = [conversation("key:a", T0) for _ in range(3)]
    other = conversation("key:b", T0)
    for n, c in enumerate([*mine, other]):
        await store.save_turn(c, turn(c, 1, T0 + timedelta(hours=n)))
    page = await store.list("key:a", limit=2, offset=0)
    assert page.total == 3
    assert [c.conversation_id for c in page.items] == [
        mine[2].conversation_id,
        mine[1].conversation_id,
    ]
    rest = await store.list("key:a", limit=2, offset=2)
    assert [c.conversation_id for c in rest.items] == [mine[0].conversation_id]
    assert (await store.list("key:a", limit=2, offset=10)).total == 3
    assert (await store.list("key:nobody", limit=5, offset=0)).total == 0


async def test_feedback_replaces_and_delete_removes_everything(store: ConversationStore) -> None:
    c = conversation("key:a", T0)
    t = turn(c, 1, T0)
    await store.save_turn(c, t)
    assert await store.set_feedback(t.answer_id, Feedback("up", None, T0))
    assert await store.set_feedback(t.answer_id, Feedback("down", "wrong page", T0))
    stored = await store.get_turn(t.answer_id)
    assert stored is not None
    assert stored.feedback == Feedback("down", "wrong page", T0)
    assert not await store.set_feedback("a_" + "0" * 24, Feedback("up", None, T0))
    assert await store.delete(c.conversation_id)
    assert not await store.delete(c.conversation_id)
    assert await store.get_turn(t.answer_id) is None
    assert (await store.list("key:a", limit=5, offset=0)).total == 0


async def test_the_sweep_deletes_only_conversations_inactive_past_retention(
    store: ConversationStore,
) -> None:
    now = T0 + timedelta(days=40)
    old, fresh = conversation("key:a", T0), conversation("key:a", T0)
    await store.save_turn(old, turn(old, 1, T0))
    await store.save_turn(fresh, turn(fresh, 1, T0))
    await store.save_turn(fresh, turn(fresh, 2, now - timedelta(days=1)))
    service = ConversationService(
        store=store,
        queries=None,
        rewriter=LocalRewriter(),
        retention_days=30,  # type: ignore[arg-type]
        clock=lambda: now,
    )
    sweeping = asyncio.create_task(service.keep_sweeping(0.05))
    for _ in range(100):
        if await store.get(old.conversation_id) is None:
            break
        await asyncio.sleep(0.05)
    sweeping.cancel()
    assert await store.get(old.conversation_id) is None
    assert await store.get(fresh.conversation_id) is not None

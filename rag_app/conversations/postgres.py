"""Conversations in PostgreSQL, beside the catalog: a row per conversation, a row per turn
(its values as JSON), turns deleted with their conversation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from rag_app.conversations.codec import feedback_values, turn_of, turn_values
from rag_app.conversations.records import Conversation, ConversationPage, Feedback, Turn

SCHEMA = """
CREATE TABLE IF NOT EXISTS rag_conversations (
    conversation_id text PRIMARY KEY,
    principal       text NOT NULL,
    title           text NOT NULL,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS rag_conversations_principal
    ON rag_conversations (principal, updated_at DESC, conversation_id);
CREATE INDEX IF NOT EXISTS rag_conversations_updated ON rag_conversations (updated_at);
CREATE TABLE IF NOT EXISTS rag_turns (
    answer_id       text PRIMARY KEY,
    conversation_id text NOT NULL REFERENCES rag_conversations ON DELETE CASCADE,
    turn_no         integer NOT NULL,
    created_at      timestamptz NOT NULL,
    body            jsonb NOT NULL,
    feedback        jsonb
);
CREATE INDEX IF NOT EXISTS rag_turns_conversation ON rag_turns (conversation_id, turn_no);
"""

UPSERT_CONVERSATION = """
INSERT INTO rag_conversations (conversation_id, principal, title, created_at, updated_at)
VALUES (%(conversation_id)s, %(principal)s, %(title)s, %(created_at)s, %(updated_at)s)
ON CONFLICT (conversation_id) DO UPDATE SET updated_at = excluded.updated_at
"""
INSERT_TURN = """
INSERT INTO rag_turns (answer_id, conversation_id, turn_no, created_at, body, feedback)
VALUES (%(answer_id)s, %(conversation_id)s, %(turn_no)s, %(created_at)s, %(body)s, %(feedback)s)
ON CONFLICT (answer_id) DO NOTHING
"""
SELECT_CONVERSATION = """
SELECT conversation_id, principal, title, created_at, updated_at
FROM rag_conversations WHERE conversation_id = %(conversation_id)s
"""
SELECT_TURNS = """
SELECT body, feedback FROM rag_turns WHERE conversation_id = %(conversation_id)s ORDER BY turn_no
"""
LIST_CONVERSATIONS = """
SELECT conversation_id, principal, title, created_at, updated_at, count(*) OVER ()
FROM rag_conversations WHERE principal = %(principal)s
ORDER BY updated_at DESC, conversation_id LIMIT %(limit)s OFFSET %(offset)s
"""
COUNT_CONVERSATIONS = "SELECT count(*) FROM rag_conversations WHERE principal = %(principal)s"
SELECT_TURN = "SELECT body, feedback FROM rag_turns WHERE answer_id = %(answer_id)s"
SET_FEEDBACK = "UPDATE rag_turns SET feedback = %(feedback)s WHERE answer_id = %(answer_id)s"
DELETE_CONVERSATION = "DELETE FROM rag_conversations WHERE conversation_id = %(conversation_id)s"
DELETE_INACTIVE = "DELETE FROM rag_conversations WHERE updated_at < %(cutoff)s"


def _turn(row: tuple[Any, ...]) -> Turn:
    return turn_of({**row[0], "feedback": row[1]})


def _conversation(row: tuple[Any, ...], turns: tuple[Turn, ...] = ()) -> Conversation:
    return Conversation(row[0], row[1], row[2], row[3], row[4], turns)


class PostgresConversationStore:
    def __init__(self, pool: AsyncConnectionPool[Any]) -> None:
        self._pool = pool

    async def save_turn(self, conversation: Conversation, turn: Turn) -> None:
        body = turn_values(turn)
        feedback = body.pop("feedback")
        async with self._pool.connection() as conn, conn.transaction():
            await conn.execute(
                UPSERT_CONVERSATION,
                {
                    "conversation_id": conversation.conversation_id,
                    "principal": conversation.principal,
                    "title": conversation.title,
                    "created_at": conversation.created_at,
                    "updated_at": turn.created_at,
                },
            )
            cursor = await conn.execute(
                INSERT_TURN,
                {
                    "answer_id": turn.answer_id,
                    "conversation_id": turn.conversation_id,
                    "turn_no": turn.turn_no,
                    "created_at": turn.created_at,
                    "body": Jsonb(body),
                    "feedback": None if feedback is None else Jsonb(feedback),
                },
            )
            if cursor.rowcount != 1:
                raise ValueError(f"answer {turn.answer_id!r} is already stored")

    async def get(self, conversation_id: str) -> Conversation | None:
        key = {"conversation_id": conversation_id}
        async with self._pool.connection() as conn:
            row = await (await conn.execute(SELECT_CONVERSATION, key)).fetchone()
            if row is None:
                return None
            turns = await (await conn.execute(SELECT_TURNS, key)).fetchall()
        return _conversation(row, tuple(_turn(t) for t in turns))

    async def list(self, principal: str, *, limit: int, offset: int) -> ConversationPage:
        key = {"principal": principal, "limit": limit, "offset": offset}
        async with self._pool.connection() as conn:
            rows = await (await conn.execute(LIST_CONVERSATIONS, key)).fetchall()
            if rows:
                total = int(rows[0][5])
            else:  # past the end: count separately
                counted = await (await conn.execute(COUNT_CONVERSATIONS, key)).fetchone()
                total = int(counted[0]) if counted else 0
        return ConversationPage([_conversation(r) for r in rows], total)

    async def get_turn(self, answer_id: str) -> Turn | None:
        async with self._pool.connection() as conn:
            row = await (await conn.execute(SELECT_TURN, {"answer_id": answer_id})).fetchone()
        return None if row is None else _turn(row)

    async def set_feedback(self, answer_id: str, feedback: Feedback) -> bool:
        values = {"answer_id": answer_id, "feedback": Jsonb(feedback_values(feedback))}
        async with self._pool.connection() as conn:
            cursor = await conn.execute(SET_FEEDBACK, values)
        return bool(cursor.rowcount == 1)

    async def delete(self, conversation_id: str) -> bool:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(DELETE_CONVERSATION, {"conversation_id": conversation_id})
        return bool(cursor.rowcount == 1)

    async def delete_inactive_since(self, cutoff: datetime) -> int:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(DELETE_INACTIVE, {"cutoff": cutoff})
        return int(cursor.rowcount)

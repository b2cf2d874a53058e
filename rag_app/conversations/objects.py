"""Conversations as JSON objects in a blob store, for Option 1 (no database at all).

Layout under ``conversations/``:

- ``records/{conversation_id}.json``: the conversation with all its turns;
- ``owners/{sha256(principal)}/{conversation_id}``: an empty marker, for listing;
- ``answers/{answer_id}``: the conversation id of that answer.

A turn rewrites its conversation's object: last writer wins, as in the S3 catalog (one
principal asks one question at a time). Listing reads every conversation of the owner,
and the retention sweep every conversation: O(conversations).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from rag_app.blobstores.base import BlobStore
from rag_app.conversations.codec import feedback_values, turn_of, turn_values
from rag_app.conversations.records import Conversation, ConversationPage, Feedback, Turn

ROOT = "conversations"


def _owner_prefix(principal: str) -> str:
    return f"{ROOT}/owners/{hashlib.sha256(principal.encode()).hexdigest()}/"


def _encode(conversation: Conversation) -> bytes:
    return json.dumps(
        {
            "conversation_id": conversation.conversation_id,
            "principal": conversation.principal,
            "title": conversation.title,
            "created_at": conversation.created_at.isoformat(),
            "updated_at": conversation.updated_at.isoformat(),
            "turns": [turn_values(t) for t in conversation.turns],
        }
    ).encode()


def _decode(raw: bytes) -> Conversation:
    values: dict[str, Any] = json.loads(raw)
    return Conversation(
        conversation_id=values["conversation_id"],
        principal=values["principal"],
        title=values["title"],
        created_at=datetime.fromisoformat(values["created_at"]),
        updated_at=datetime.fromisoformat(values["updated_at"]),
        turns=tuple(turn_of(t) for t in values["turns"]),
    )


class ObjectConversationStore:
    def __init__(self, objects: BlobStore) -> None:
        self._objects = objects

    async def _put(self, conversation: Conversation) -> None:
        await self._objects.put(
            f"{ROOT}/records/{conversation.conversation_id}.json",
            _encode(conversation),
            content_type="application/json",
        )

    async def get(self, conversation_id: str) -> Conversation | None:
        try:
            return _decode(await self._objects.get(f"{ROOT}/records/{conversation_id}.json"))
        except KeyError:
            return None

    async def save_turn(self, conversation: Conversation, turn: Turn) -> None:
        if await self._objects.exists(f"{ROOT}/answers/{turn.answer_id}"):
            raise ValueError(f"answer {turn.answer_id!r} is already stored")
        stored = await self.get(conversation.conversation_id) or conversation
        updated = Conversation(
            stored.conversation_id,
            stored.principal,
            stored.title,
            stored.created_at,
            turn.created_at,
            (*stored.turns, turn),
        )
        await self._put(updated)
        await self._objects.put(
            f"{ROOT}/answers/{turn.answer_id}",
            turn.conversation_id.encode(),
            content_type="text/plain",
        )
        await self._objects.put(
            _owner_prefix(stored.principal) + stored.conversation_id,
            b"",
            content_type="application/octet-stream",
        )

    async def list(self, principal: str, *, limit: int, offset: int) -> ConversationPage:
        found = []
        for key in await self._objects.list_keys(_owner_prefix(principal)):
            conversation = await self.get(key.rsplit("/", 1)[-1])
            if conversation is not None and conversation.principal == principal:
                found.append(conversation)
        found.sort(key=lambda c: c.conversation_id)
        found.sort(key=lambda c: c.updated_at, reverse=True)
        page = [
            Conversation(c.conversation_id, c.principal, c.title, c.created_at, c.updated_at)
            for c in found[offset : offset + limit]
        ]
        return ConversationPage(page, len(found))

    async def _conversation_of(self, answer_id: str) -> Conversation | None:
        try:
            conversation_id = (await self._objects.get(f"{ROOT}/answers/{answer_id}")).decode()
        except KeyError:
            return None
        return await self.get(conversation_id)

    async def get_turn(self, answer_id: str) -> Turn | None:
        conversation = await self._conversation_of(answer_id)
        if conversation is None:
            return None
        return next((t for t in conversation.turns if t.answer_id == answer_id), None)

    async def set_feedback(self, answer_id: str, feedback: Feedback) -> bool:
        conversation = await self._conversation_of(answer_id)
        if conversation is None or not any(t.answer_id == answer_id for t in conversation.turns):
            return False
        turns = []
        for t in conversation.turns:
            values = turn_values(t)
            if t.answer_id == answer_id:
                values["feedback"] = feedback_values(feedback)
            turns.append(turn_of(values))
        await self._put(
            Conversation(
                conversation.conversation_id,
                conversation.principal,
                conversation.title,
                conversation.created_at,
                conversation.updated_at,
                tuple(turns),
            )
        )
        return True

    async def delete(self, conversation_id: str) -> bool:
        conversation = await self.get(conversation_id)
        if conversation is None:
            return False
        for turn in conversation.turns:
            await self._objects.delete(f"{ROOT}/answers/{turn.answer_id}")
        await self._objects.delete(_owner_prefix(conversation.principal) + conversation_id)
        await self._objects.delete(f"{ROOT}/records/{conversation_id}.json")
        return True

    async def delete_inactive_since(self, cutoff: datetime) -> int:
        deleted = 0
        for key in await self._objects.list_keys(f"{ROOT}/records/"):
            conversation_id = key.rsplit("/", 1)[-1].removesuffix(".json")
            conversation = await self.get(conversation_id)
            if conversation is not None and conversation.updated_at < cutoff:
                deleted += await self.delete(conversation_id)
        return deleted

"""Two-turn evaluation conversations: a first question, a follow-up that leans on it, and
where each one's answer is (document file name, 1-based page, and words on that page)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import msgspec


class TwoTurns(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    first: str
    first_document: str
    first_page: int
    first_evidence: str
    follow_up: str
    standalone: str  # a person's standalone form of the follow-up (the Bedrock double's script)
    document: str  # where the follow-up's answer is
    page: int
    evidence: str


@dataclass(frozen=True, slots=True)
class Ranked:
    """The rank (1-based, None past 10) of the follow-up's page, asked alone and rewritten."""

    alone: int | None
    rewritten: int | None
    rewritten_query: str


def load_conversations(path: Path) -> list[TwoTurns]:
    return [
        msgspec.json.decode(line, type=TwoTurns)
        for line in path.read_bytes().splitlines()
        if line.strip()
    ]

"""A caller and the collections it may read and write; ``*`` stands for every collection."""

from __future__ import annotations

from dataclasses import dataclass

ALL = "*"
AUDIT_GRANT = "audit"


@dataclass(frozen=True, slots=True)
class Principal:
    name: str  # an API key's id or a token's subject: for logs and rate limits, never secret
    read: frozenset[str]
    write: frozenset[str]
    audit: bool = False  # may read the audit trail (GET /audit)

    def can_read(self, collection: str) -> bool:
        return ALL in self.read or collection in self.read or self.can_write(collection)

    def can_write(self, collection: str) -> bool:
        return ALL in self.write or collection in self.write

    @property
    def readable(self) -> frozenset[str] | None:
        """The collections a query may return, or None for all of them."""
        if ALL in self.read or ALL in self.write:
            return None
        return self.read | self.write


# Local mode without authentication (bound to loopback only): the operator is the caller.
LOCAL_OPERATOR = Principal("local", read=frozenset({ALL}), write=frozenset({ALL}), audit=True)


def from_grants(name: str, grants: list[str]) -> Principal:
    """``["read:faa", "write:contracts", "read:*", "audit"]`` (the form of a token's groups
    claim); ``audit`` grants reading the audit trail."""
    read: set[str] = set()
    write: set[str] = set()
    audit = False
    for grant in grants:
        if grant == AUDIT_GRANT:
            audit = True
        action, _, collection = grant.partition(":")
        if action == "read" and collection:
            read.add(collection)
        elif action == "write" and collection:
            write.add(collection)
    return Principal(name, read=frozenset(read), write=frozenset(write), audit=audit)

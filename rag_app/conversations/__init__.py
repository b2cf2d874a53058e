"""Conversations: follow-up questions rewritten with the earlier turns in mind, each turn
stored with its verified citations, owned by the principal that asked it."""

"""The audit trail: one event per request that reads or changes documents, conversations or
the trail itself, written append-only (an INSERT/SELECT-only table, or S3 Object Lock)."""

"""Moving a corpus in: from an existing PostgreSQL/pgvector table (re-embedded), or from one
of our vector stores to the other (vectors copied), resumable, with a parity check."""

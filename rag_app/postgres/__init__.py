"""PostgreSQL plumbing shared by the pgvector store and the catalog."""

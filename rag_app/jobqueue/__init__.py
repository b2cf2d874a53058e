"""Ingestion jobs on a real queue (PostgreSQL or Amazon SQS) and the workers that run them."""

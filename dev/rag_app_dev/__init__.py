"""Local doubles of the AWS services the app calls (S3 Vectors, Bedrock Runtime): real wire
protocols on loopback, for tests, benchmarks and offline development. Not part of the
runtime: installed by the ``dev`` extra (``rag-app[dev]``), never in the service image, and
nothing under ``rag_app`` imports it (an import-linter contract checks that)."""

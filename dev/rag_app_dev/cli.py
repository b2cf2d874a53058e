"""``rag-app s3vectors-local``: the command this package adds to ``rag-app`` (through the
``rag_app.cli`` entry point)."""

from __future__ import annotations

import click

from rag_app_dev.s3vectors_local import LocalS3Vectors


@click.command("s3vectors-local")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=9400, show_default=True)
def s3vectors_local(host: str, port: int) -> None:
    """Run the local S3 Vectors server (a test double; data lives in memory).

    Point the service at it with RAG_VECTOR_STORE=s3vectors and
    AWS_ENDPOINT_URL_S3VECTORS=http://HOST:PORT (any credentials and region).
    """
    server = LocalS3Vectors(host=host, port=port)
    click.echo(f"local S3 Vectors on {server.endpoint_url} (Ctrl-C stops it)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        server.stop()

"""The AWS clients of one process, built from ``Settings`` in one place with one retry
policy: botocore's own retries (``standard`` mode; Bedrock's ``RAG_BEDROCK_RETRY_MODE``,
``adaptive`` rate-limits the client side too) up to ``RAG_AWS_MAX_ATTEMPTS`` attempts.

One client per service, from the default credential chain; the standard
``AWS_ENDPOINT_URL_<SERVICE>`` variables redirect a client (to a local double in tests).
"""

from __future__ import annotations

from typing import Any

from rag_app.settings import Settings


class AwsClients:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._clients: dict[str, Any] = {}

    def config(self, service: str) -> Any:
        """The botocore ``Config`` of ``service``'s client."""
        from botocore.config import Config

        settings = self._settings
        mode, pool = "standard", 10
        if service == "bedrock-runtime":
            mode = settings.bedrock_retry_mode
            pool = max(10, 2 * settings.bedrock_embedding_concurrency)
        config = Config(
            retries={"mode": mode, "total_max_attempts": settings.aws_max_attempts},
            connect_timeout=min(10.0, settings.aws_timeout_seconds),
            read_timeout=settings.aws_timeout_seconds,
            max_pool_connections=pool,
        )
        if service == "s3":
            # Presigned URLs (RAG_CONTENT_REDIRECT) signed with SigV4, which objects under
            # a KMS key need, on the bucket's regional virtual-hosted name: one origin
            # for the pages' CSP, no redirect from the global endpoint.
            config = config.merge(
                Config(
                    signature_version="s3v4",
                    s3={"addressing_style": "virtual", "us_east_1_regional_endpoint": "regional"},
                )
            )
        return config

    def client(self, service: str) -> Any:
        """The boto3 client of ``service`` (built on first use, then shared)."""
        if service not in self._clients:
            import boto3

            self._clients[service] = boto3.session.Session().client(
                service, region_name=self._settings.aws_region, config=self.config(service)
            )
        return self._clients[service]

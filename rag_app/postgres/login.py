"""Where the database is and how to log in, from ``Settings``: a Secrets Manager secret
(Aurora's master login), an IAM auth token (Aurora's least-privilege app user), a URL, or
the embedded PostgreSQL (started here)."""

from __future__ import annotations

import logging
from contextlib import AsyncExitStack

import anyio.to_thread
from psycopg.conninfo import make_conninfo

from rag_app.aws.clients import AwsClients
from rag_app.postgres.credentials import SecretsManagerCredentials
from rag_app.postgres.embedded import EmbeddedPostgres
from rag_app.postgres.iam_auth import IamAuthCredentials
from rag_app.postgres.pool import Credentials
from rag_app.settings import Settings

log = logging.getLogger(__name__)


async def database_login(
    settings: Settings, aws: AwsClients, stack: AsyncExitStack
) -> tuple[str, Credentials | None]:
    """The connection string and, for Aurora, the rotating credentials; an embedded
    PostgreSQL is started here and stopped with ``stack``."""
    if settings.database_iam_auth:
        assert settings.database_host is not None  # the settings validator requires it
        conninfo = make_conninfo(
            host=settings.database_host,
            port=settings.database_port,
            dbname=settings.database_name,
            sslmode=settings.database_sslmode,
        )
        return conninfo, IamAuthCredentials(
            aws.client("rds"),
            host=settings.database_host,
            port=settings.database_port,
            user=settings.database_user,
        )
    if settings.database_secret_arn is not None:
        conninfo = make_conninfo(
            host=settings.database_host,
            port=settings.database_port,
            dbname=settings.database_name,
            sslmode=settings.database_sslmode,
        )
        secrets = aws.client("secretsmanager")
        return conninfo, SecretsManagerCredentials(secrets, settings.database_secret_arn)
    if settings.database_url is not None:
        return settings.database_url.get_secret_value(), None
    cluster = EmbeddedPostgres(settings.data_dir / "postgres")
    running = await anyio.to_thread.run_sync(cluster.start)
    stack.callback(cluster.stop)
    log.info("embedded PostgreSQL on 127.0.0.1 (data in %s)", settings.data_dir)
    return running.url, None

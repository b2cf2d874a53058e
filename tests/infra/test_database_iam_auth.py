"""IAM database authentication: the app logs in to Aurora as its least-privilege user with a
token the real boto3 RDS client signs (offline: signing needs no network), renewed before
its 15 minutes run out, and settings that cannot work together are refused."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from pydantic import ValidationError

from rag_app.aws.clients import AwsClients
from rag_app.postgres.iam_auth import IamAuthCredentials
from rag_app.postgres.login import database_login
from rag_app.settings import Settings

HOST = "rag-prod-db.cluster-abc.us-east-1.rds.amazonaws.com"
pytestmark = pytest.mark.anyio


class CountingRds:
    """The real boto3 client, counting the tokens it signs."""

    def __init__(self) -> None:
        self.client = boto3.client(
            "rds",
            region_name="us-east-1",
            aws_access_key_id="AKIDEXAMPLE",
            aws_secret_access_key="secret",
        )
        self.signed = 0

    def generate_db_auth_token(self, **kwargs: Any) -> str:
        self.signed += 1
        token: str = self.client.generate_db_auth_token(**kwargs)
        return token


async def test_the_token_is_a_signed_connect_request_for_the_user() -> None:
    rds = CountingRds()
    login = await IamAuthCredentials(rds, host=HOST, port=5432, user="rag_app")()
    assert login["user"] == "rag_app"
    url = urlsplit("https://" + login["password"])
    assert url.netloc == f"{HOST}:5432"
    query = parse_qs(url.query)
    assert query["Action"] == ["connect"]
    assert query["DBUser"] == ["rag_app"]
    assert query["X-Amz-Expires"] == ["900"]
    assert query["X-Amz-Credential"][0].startswith("AKIDEXAMPLE/")
    assert "X-Amz-Signature" in query


async def test_the_token_is_reused_then_renewed_before_it_expires() -> None:
    rds, now = CountingRds(), [0.0]
    credentials = IamAuthCredentials(
        rds, host=HOST, port=5432, user="rag_app", clock=lambda: now[0]
    )
    await credentials()
    now[0] = 9 * 60
    await credentials()
    assert rds.signed == 1  # every connection within 10 minutes shares one token
    now[0] = 10 * 60
    await credentials()
    assert rds.signed == 2  # renewed with 5 of its 15 minutes left
    with pytest.raises(ValueError, match="15 minutes"):
        IamAuthCredentials(rds, host=HOST, port=5432, user="u", renew_after_seconds=900)


async def test_the_service_logs_in_with_iam_tokens_when_asked(tmp_path: Any) -> None:
    settings = Settings(
        data_dir=tmp_path,
        database_iam_auth=True,
        database_user="rag_app",
        database_host=HOST,
        database_sslmode="require",
        aws_region="us-east-1",
    )
    async with AsyncExitStack() as stack:
        conninfo, credentials = await database_login(settings, AwsClients(settings), stack)
    assert isinstance(credentials, IamAuthCredentials)
    assert f"host={HOST}" in conninfo
    assert "sslmode=require" in conninfo
    assert "password" not in conninfo


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"database_user": "rag_app"}, "needs RAG_DATABASE_HOST"),
        (
            {"database_host": HOST, "database_user": "rag_app", "database_sslmode": "prefer"},
            "RAG_DATABASE_SSLMODE require",
        ),
        (
            {
                "database_host": HOST,
                "database_user": "rag_app",
                "database_sslmode": "require",
                "database_secret_arn": "arn:aws:secretsmanager:us-east-1:1:secret:x",
            },
            "set neither",
        ),
        ({"database_host": HOST, "database_user": "Robert'); DROP"}, "database_user"),
    ],
)
def test_iam_auth_settings_that_cannot_work_are_refused(
    extra: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message.replace("(", r"\(")):
        Settings(database_iam_auth=True, **extra)

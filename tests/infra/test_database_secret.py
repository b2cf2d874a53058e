"""Option 2's database login: the app reads the Aurora master user secret from Secrets
Manager (moto) for every new connection to a real PostgreSQL, so a rotation needs no restart
and the password is never in settings."""

from __future__ import annotations

import json
import uuid
from typing import Any

import psycopg
import pytest
from litestar.testing import TestClient
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from rag_app.api import create_app
from rag_app.errors import ConfigurationError
from rag_app.postgres.credentials import SecretsManagerCredentials
from rag_app.postgres.pool import open_pool
from rag_app.settings import Settings
from tests.conftest import local_client

pytestmark = pytest.mark.anyio


@pytest.fixture
def secrets(moto_s3: Any) -> Any:
    return local_client("secretsmanager", moto_s3.meta.endpoint_url)


@pytest.fixture
def login(database_url: str) -> dict[str, str]:
    """A role that owns a fresh database, as RDS makes the master user own the cluster."""
    role, password = f"app_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}' SUPERUSER")
    parts = conninfo_to_dict(database_url)
    return {
        "role": role,
        "password": password,
        "host": str(parts["host"]),
        "port": str(parts["port"]),
        "dbname": str(parts["dbname"]),
        "superuser_url": database_url,
    }


def _secret(secrets: Any, username: str, password: str) -> str:
    value = json.dumps({"username": username, "password": password, "engine": "postgres"})
    return str(
        secrets.create_secret(Name=f"rds!cluster-{uuid.uuid4().hex}", SecretString=value)["ARN"]
    )


async def test_new_connections_use_the_rotated_password(
    secrets: Any, login: dict[str, str]
) -> None:
    arn = _secret(secrets, login["role"], login["password"])
    conninfo = make_conninfo(host=login["host"], port=login["port"], dbname=login["dbname"])
    pool = await open_pool(
        conninfo, credentials=SecretsManagerCredentials(secrets, arn), max_size=2
    )
    try:
        async with pool.connection() as conn:
            row = await (await conn.execute("SELECT current_user")).fetchone()
            assert row == (login["role"],)
        # Rotation as RDS does it: the password changes, then the secret.
        rotated = uuid.uuid4().hex
        with psycopg.connect(login["superuser_url"], autocommit=True) as admin:
            admin.execute(f"ALTER ROLE {login['role']} PASSWORD '{rotated}'")
        secrets.put_secret_value(
            SecretId=arn, SecretString=json.dumps({"username": login["role"], "password": rotated})
        )
        await pool.drain()  # every connection is replaced by a new one
        async with pool.connection() as conn:
            row = await (await conn.execute("SELECT count(*) FROM rag_documents")).fetchone()
            assert row == (0,)
    finally:
        await pool.close()


async def test_a_secret_without_username_and_password_is_refused_by_name(
    secrets: Any, login: dict[str, str]
) -> None:
    arn = str(secrets.create_secret(Name="plain", SecretString="hunter2")["ARN"])
    with pytest.raises(ConfigurationError) as caught:
        await SecretsManagerCredentials(secrets, arn)()
    assert arn in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_the_service_answers_over_a_database_named_only_by_its_secret(
    secrets: Any, login: dict[str, str], tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(
        data_dir=tmp_path,
        database_secret_arn=_secret(secrets, login["role"], login["password"]),
        database_host=login["host"],
        database_port=int(login["port"]),
        database_name=login["dbname"],
    )
    assert "password" not in settings.model_dump_json()
    with TestClient(create_app(settings)) as api:
        assert api.get("/health/ready").status_code == 200
        response = api.post("/search", json={"query": "work-hours"})
        assert response.status_code == 200, response.text
        assert response.json()["hits"] == []


def test_a_secret_and_a_url_together_are_refused() -> None:
    with pytest.raises(ValueError, match="not both"):
        Settings(
            database_url="postgresql://x@h/db",
            database_secret_arn="arn:aws:secretsmanager:us-east-1:1:secret:x",
            database_host="h",
        )
    with pytest.raises(ValueError, match="needs RAG_DATABASE_HOST"):
        Settings(database_secret_arn="arn:aws:secretsmanager:us-east-1:1:secret:x")


async def test_a_pgvector_older_than_0_8_is_refused_with_the_fix(database_url: str) -> None:
    # The wheel ships no 0.7 install script; an older cluster's catalog entry is what the
    # check reads, so write one (as superuser) the way a not-yet-updated extension looks.
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION vector")
        conn.execute("UPDATE pg_extension SET extversion = '0.7.4' WHERE extname = 'vector'")
    with pytest.raises(ConfigurationError, match=r"pgvector 0\.7\.4 .* ALTER EXTENSION"):
        await open_pool(database_url, max_size=1)


def test_init_db_creates_the_schema_and_can_run_again(
    database_url: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from rag_app.cli import main

    monkeypatch.setenv("RAG_DATABASE_URL", database_url)
    monkeypatch.setenv("RAG_DATA_DIR", str(tmp_path))
    for _ in range(2):
        result = CliRunner().invoke(main, ["init-db"])
        assert result.exit_code == 0, result.output
        assert "database ready (0 chunks indexed)" in result.output
    with psycopg.connect(database_url) as conn:
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables").fetchall()}
    assert {"rag_documents", "rag_jobs"} <= tables
    assert any(t.startswith("chunks_") for t in tables)

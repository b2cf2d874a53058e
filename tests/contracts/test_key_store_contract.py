"""The KeyStore contract over every backend: a local file and a Secrets Manager secret
through the real boto3 client against moto's server."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from rag_app.auth.api_keys import FileKeyStore, KeyStore, SecretsManagerKeyStore, new_key
from tests.conftest import local_client

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["file", "secrets-manager"])
def store(request: pytest.FixtureRequest, tmp_path: Path, moto_s3: Any) -> Any:
    if request.param == "file":
        return FileKeyStore(tmp_path / "keys" / "api-keys.json")
    client = local_client("secretsmanager", moto_s3.meta.endpoint_url)
    secret = client.create_secret(Name=f"rag-api-keys-{uuid.uuid4().hex}", SecretString="[]")
    return SecretsManagerKeyStore(client, secret["ARN"])


async def test_it_is_a_key_store_that_starts_empty(store: KeyStore) -> None:
    assert isinstance(store, KeyStore)
    assert await store.load() == []


async def test_saved_records_load_back_as_saved_and_a_save_replaces_them(
    store: KeyStore,
) -> None:
    _, first = new_key("ingest", read=[], write=["faa"])
    _, second = new_key("reader", read=["*"], write=[])
    await store.save([first, second])
    assert await store.load() == [first, second]
    await store.save([second])
    assert await store.load() == [second]
    await store.save([])
    assert await store.load() == []


async def test_the_key_itself_is_never_stored(store: KeyStore, tmp_path: Path) -> None:
    key, record = new_key("ci", read=["faa"], write=[])
    await store.save([record])
    (loaded,) = await store.load()
    assert key not in repr(loaded)
    assert loaded.sha256 == record.sha256

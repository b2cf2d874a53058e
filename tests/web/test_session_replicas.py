"""Browser sign-in behind a load balancer, for real: separate `rag-app serve` processes on
one database, requests alternating between them as a round-robin would send them. Replicas
keyed by the same secret (one from RAG_SESSION_SECRET, as ECS injects it; one reading the
Secrets Manager secret RAG_SESSION_SECRET_ID names, as the EKS pods do, here from moto's
server) open each other's sign-in cookies; a replica with another key refuses them."""

from __future__ import annotations

import os
import secrets
import subprocess
from pathlib import Path

import boto3
import httpx
import pytest

from tests.conftest import _fresh_database
from tests.support.live_server import free_port
from tests.support.serve_process import RAG_APP, serve_process
from tests.web.web_server import make_keys

pytestmark = pytest.mark.slow


def test_a_sign_in_on_one_replica_is_accepted_by_another_with_the_same_secret_only(
    postgres_url: str, tmp_path: Path
) -> None:
    shared_secret = secrets.token_urlsafe(48)
    stored = boto3.client("secretsmanager").create_secret(
        Name=f"rag-test-session-{secrets.token_hex(4)}", SecretString=shared_secret
    )
    keys = make_keys(tmp_path)
    common = {
        "RAG_DATABASE_URL": _fresh_database(postgres_url),
        "RAG_DATA_DIR": str(tmp_path / "data"),
        "RAG_AUTH": "required",
        "RAG_API_KEYS_FILE": str(keys.file),
    }
    with (
        serve_process(tmp_path / "a.log", **common, RAG_SESSION_SECRET=shared_secret) as a,
        serve_process(tmp_path / "b.log", **common, RAG_SESSION_SECRET_ID=stored["ARN"]) as b,
        serve_process(tmp_path / "c.log", **common, RAG_SESSION_SECRET="another key") as c,
    ):
        signed_in = httpx.post(f"{a}/auth/session", json={"api_key": keys.faa_reader})
        assert signed_in.status_code == 200, signed_in.text
        cookie = {"Cookie": f"rag_session={signed_in.cookies['rag_session']}"}

        # Round-robin over the replicas that share the key: every request is signed in.
        csrf = {httpx.get(f"{u}/auth/session", headers=cookie).json()["csrf_token"] for u in (a, b)}
        assert len(csrf) == 1  # the same session, opened by both
        token = {**cookie, "X-CSRF-Token": csrf.pop()}
        for turn in range(6):
            url = (a, b)[turn % 2]
            assert httpx.get(f"{url}/documents", headers=cookie).status_code == 200, url
            search = httpx.post(f"{url}/search", json={"query": "lease"}, headers=token)
            assert search.status_code == 200, (url, search.text)
            session = httpx.get(f"{url}/auth/session", headers=cookie).json()
            assert session["signed_in"] is True
            assert session["readable"] == ["faa"]

        # A replica keyed otherwise sees no sign-in at all.
        assert httpx.get(f"{c}/auth/session", headers=cookie).json()["signed_in"] is False
        assert httpx.get(f"{c}/documents", headers=cookie).status_code == 401
        refused = httpx.post(f"{c}/search", json={"query": "x"}, headers=token)
        assert refused.status_code == 401
        # ...and what it seals, the others refuse in turn.
        other = httpx.post(f"{c}/auth/session", json={"api_key": keys.faa_reader})
        foreign = {"Cookie": f"rag_session={other.cookies['rag_session']}"}
        for url in (a, b):
            assert httpx.get(f"{url}/documents", headers=foreign).status_code == 401


def test_a_missing_session_secret_stops_the_replica_from_starting(
    postgres_url: str, tmp_path: Path
) -> None:
    """A replica that cannot read its key must not fall back to a key of its own."""
    keys = make_keys(tmp_path)
    port = free_port()
    env = {
        **os.environ,
        "RAG_DATABASE_URL": _fresh_database(postgres_url),
        "RAG_DATA_DIR": str(tmp_path / "data"),
        "RAG_AUTH": "required",
        "RAG_API_KEYS_FILE": str(keys.file),
        "RAG_SESSION_SECRET_ID": "arn:aws:secretsmanager:us-east-1:123456789012:secret:absent",
    }
    result = subprocess.run(
        [RAG_APP, "serve", "--port", str(port)],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode != 0
    assert "ResourceNotFoundException" in result.stderr + result.stdout

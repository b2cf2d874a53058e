"""Authentication and collection grants through the real API: API keys (file and Secrets
Manager stores), OIDC tokens checked against a JWKS served over HTTP, per-caller rate
limits, and a caller never seeing another collection's documents, on both vector stores."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import anyio
import jwt
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from litestar.testing import TestClient

from rag_app.api import create_app
from rag_app.auth.api_keys import ApiKeyVerifier, FileKeyStore, SecretsManagerKeyStore, new_key
from rag_app.cli import main
from rag_app.settings import Settings
from rag_app_dev.local_http import LocalHttpServer
from tests.conftest import (
    CORPUS,
    FAA_PDF,
    STORES,
    _fresh_database,
    local_client,
    store_settings,
    wait_for_job,
)

COURT_PDF = CORPUS / "pdf" / "scotus-transcript-p1.pdf"
ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_test"
AUDIENCE = "rag-app-client"

pytestmark = pytest.mark.anyio


def bearer(credential: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {credential}"}


# -- a JWKS endpoint and tokens ------------------------------------------------------------


class Jwks(LocalHttpServer):
    """Serves one RSA public key as a JWKS, like an OIDC issuer."""

    def __init__(self) -> None:
        super().__init__()
        self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = uuid.uuid4().hex
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private_key.public_key()))
        self.body = json.dumps({"keys": [{**jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}]})
        self.fetches = 0

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        self.fetches += 1
        body = self.body.encode()
        request.send_response(200)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    def token(self, *, key: Any = None, kid: str | None = None, **claims: Any) -> str:
        now = int(time.time())
        payload = {"iss": ISSUER, "aud": AUDIENCE, "sub": "alice", "iat": now, "exp": now + 300}
        payload.update(claims)
        return jwt.encode(
            {k: v for k, v in payload.items() if v is not None},
            key or self.private_key,
            algorithm="RS256",
            headers={"kid": kid or self.kid},
        )


@pytest.fixture(scope="module")
def jwks() -> Iterator[Jwks]:
    server = Jwks().start()
    yield server
    server.stop()


# -- a service with two collections, per store ---------------------------------------------


@pytest.fixture(scope="module", params=STORES)
def secured(
    request: pytest.FixtureRequest,
    postgres_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    jwks: Jwks,
) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("auth")
    keys_file = root / "api-keys.json"
    writer, writer_record = new_key("ingest", read=[], write=["*"])
    reader, reader_record = new_key("faa reader", read=["faa"], write=[])
    anyio.run(FileKeyStore(keys_file).save, [writer_record, reader_record])
    settings = Settings(
        database_url=_fresh_database(postgres_url),
        data_dir=root / "data",
        auth="required",
        api_keys_file=keys_file,
        api_keys_refresh_seconds=0,
        rate_limit_per_minute=100_000,  # the thousand searches below are not a flood
        oidc_issuer=ISSUER,
        oidc_audience=AUDIENCE,
        oidc_jwks_url=f"{jwks.endpoint_url}/jwks.json",
        **store_settings(request.param),
    )
    with TestClient(create_app(settings)) as client:
        ids = {}
        for collection, pdf in (("faa", FAA_PDF), ("court", COURT_PDF)):
            response = client.post(
                "/documents",
                files={"file": (pdf.name, pdf.read_bytes(), "application/pdf")},
                data={"collection": collection},
                headers=bearer(writer),
            )
            assert response.status_code == 202, response.text
            client.headers.update(bearer(writer))
            assert wait_for_job(client, response.json()["job_id"])["status"] == "succeeded"
            client.headers.pop("Authorization")
            ids[collection] = response.json()["document_id"]
        yield {
            "client": client,
            "writer": writer,
            "reader": reader,
            "ids": ids,
            "keys_file": keys_file,
            "reader_id": reader_record.id,
            "store": request.param,
        }


def test_every_endpoint_but_health_needs_credentials(secured: dict[str, Any]) -> None:
    client: TestClient[Any] = secured["client"]
    assert client.get("/health/live").status_code == 200
    assert client.get("/health/ready").status_code == 200
    for method, path in [
        ("GET", "/documents"),
        ("GET", f"/documents/{secured['ids']['faa']}"),
        ("DELETE", f"/documents/{secured['ids']['faa']}"),
        ("GET", "/jobs/x"),
        ("POST", "/search"),
        ("POST", "/ask"),
        ("POST", "/documents"),
        ("GET", "/schema"),
    ]:
        response = client.request(method, path, json={"query": "x"} if method == "POST" else None)
        assert response.status_code == 401, (method, path, response.text)
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert response.headers["content-type"].startswith("application/problem+json")
    for header in [
        {"Authorization": secured["reader"]},  # no scheme
        {"Authorization": f"Basic {base64.b64encode(b'a:b').decode()}"},
        bearer("rag_000000000000_" + "x" * 43),  # well-formed, unknown
        bearer(secured["reader"][:-1] + ("A" if secured["reader"][-1] != "A" else "B")),
        bearer("x" * 10_000),
        bearer(""),
    ]:
        assert client.post("/search", json={"query": "x"}, headers=header).status_code == 401


def test_a_key_reads_only_its_collections_over_thirty_searches(secured: dict[str, Any]) -> None:
    """The guard: ten searches per retrieval path (the thousand below are the evidence)."""
    _reads_only_its_collections(secured, searches=30)


@pytest.mark.slow
def test_a_key_reads_only_its_collections_over_a_thousand_searches(
    secured: dict[str, Any],
) -> None:
    local = secured["client"].app.state.services.settings.vector_store == "pgvector"
    _reads_only_its_collections(secured, searches=1000 if local else 300)


def _reads_only_its_collections(secured: dict[str, Any], *, searches: int) -> None:
    """Queries made of the other collection's own words, the likeliest to pull it in."""
    client: TestClient[Any] = secured["client"]
    court = client.post(
        "/search", json={"query": "oral argument", "top_k": 50}, headers=bearer(secured["writer"])
    ).json()["hits"]
    assert {h["collection"] for h in court} >= {"court"}  # the writer sees both
    words = " ".join(h["text"] for h in court).split()
    leaked = 0
    for i in range(searches):
        query = " ".join(words[(i * 7) % max(1, len(words) - 8) :][:8]) or "court"
        mode = ("hybrid", "keyword", "vector")[i % 3]  # every retrieval path
        hits = client.post(
            "/search",
            json={"query": query, "top_k": 10, "mode": mode},
            headers=bearer(secured["reader"]),
        ).json()["hits"]
        leaked += sum(h["collection"] != "faa" for h in hits)
        if mode != "keyword":  # words of the other collection alone may match nothing here
            assert hits, query  # the reader still gets its own collection's passages
    print(f"{searches} searches by a read:faa key, {leaked} chunks of another collection")
    assert leaked == 0
    answer = client.post(
        "/ask",
        json={"question": "who argued for the petitioner"},
        headers=bearer(secured["reader"]),
    ).json()
    assert all(c["document_id"] == secured["ids"]["faa"] for c in answer["citations"])


def test_a_key_cannot_see_or_touch_another_collections_documents(secured: dict[str, Any]) -> None:
    client: TestClient[Any] = secured["client"]
    reader = bearer(secured["reader"])
    court_id = secured["ids"]["court"]
    listed = client.get("/documents", headers=reader).json()
    assert [d["collection"] for d in listed["items"]] == ["faa"]
    assert listed["total"] == 1
    assert client.get("/documents?collection=court", headers=reader).json()["total"] == 0
    missing = client.get(f"/documents/{court_id}", headers=reader)
    assert missing.status_code == 404
    assert missing.json() == client.get("/documents/nope", headers=reader).json() | {
        "detail": f"no document {court_id!r}"
    }
    assert client.delete(f"/documents/{court_id}", headers=reader).status_code == 404
    faa = client.delete(f"/documents/{secured['ids']['faa']}", headers=reader)
    assert faa.status_code == 403  # readable, but not writable
    upload = client.post(
        "/documents",
        files={"file": ("a.pdf", FAA_PDF.read_bytes(), "application/pdf")},
        data={"collection": "faa"},
        headers=reader,
    )
    assert upload.status_code == 403
    assert "may not write to collection 'faa'" in upload.json()["detail"]
    writer_view = client.get("/documents", headers=bearer(secured["writer"])).json()
    assert writer_view["total"] == 2


def test_oidc_tokens_grant_their_groups_and_nothing_else(
    secured: dict[str, Any], jwks: Jwks
) -> None:
    client: TestClient[Any] = secured["client"]
    good = jwks.token(**{"cognito:groups": ["read:court"]})
    hits = client.post("/search", json={"query": "court", "top_k": 20}, headers=bearer(good))
    assert hits.status_code == 200, hits.text
    assert {h["collection"] for h in hits.json()["hits"]} == {"court"}
    access_token = jwks.token(aud=None, client_id=AUDIENCE, **{"cognito:groups": ["read:faa"]})
    assert client.get("/documents", headers=bearer(access_token)).json()["total"] == 1
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = (
        jwks.private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    header = base64.urlsafe_b64encode(json.dumps({"alg": "none", "kid": jwks.kid}).encode())
    claims = base64.urlsafe_b64encode(
        json.dumps({"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "exp": 2**31}).encode()
    )
    refused = {
        "expired": jwks.token(exp=int(time.time()) - 3600),
        "wrong audience": jwks.token(aud="someone-else"),
        "wrong issuer": jwks.token(iss="https://evil.example"),
        "no expiry": jwks.token(exp=None),
        "other key": jwks.token(key=other_key),
        "unknown key id": jwks.token(kid="nope"),
        "alg none": f"{header.decode().rstrip('=')}.{claims.decode().rstrip('=')}.",
        "HS256 keyed with the public key": _hs256_with(public_pem, jwks.kid),
    }
    for why, token in refused.items():
        response = client.post("/search", json={"query": "x"}, headers=bearer(token))
        assert response.status_code == 401, why


def _hs256_with(secret: str, kid: str) -> str:
    """A token signed with HMAC keyed by the issuer's public key (the algorithm-confusion
    attack); PyJWT itself refuses to make one, so sign it by hand."""
    import hashlib
    import hmac

    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    header = part({"alg": "HS256", "typ": "JWT", "kid": kid})
    claims = part({"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "exp": 2**31})
    signing = f"{header}.{claims}"
    signature = hmac.new(secret.encode(), signing.encode(), hashlib.sha256).digest()
    return f"{signing}.{base64.urlsafe_b64encode(signature).decode().rstrip('=')}"


def test_a_revoked_key_is_refused_at_once(secured: dict[str, Any]) -> None:
    client: TestClient[Any] = secured["client"]
    key, record = new_key("temporary", read=["faa"], write=[])
    store = FileKeyStore(secured["keys_file"])
    records = anyio.run(store.load)
    anyio.run(store.save, [*records, record])
    assert client.get("/documents", headers=bearer(key)).status_code == 200
    anyio.run(store.save, records)
    assert client.get("/documents", headers=bearer(key)).status_code == 401


# -- keys: the CLI and the stores ----------------------------------------------------------


def test_keys_cli_creates_lists_and_revokes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys_file = tmp_path / "keys.json"
    monkeypatch.setenv("RAG_API_KEYS_FILE", str(keys_file))
    runner = CliRunner()
    created = runner.invoke(main, ["keys", "create", "--name", "ops", "--read", "faa"])
    assert created.exit_code == 0, created.output
    key = created.output.strip()
    assert key.startswith("rag_")
    assert key not in keys_file.read_text()  # stored hashed
    assert keys_file.stat().st_mode & 0o777 == 0o600
    listed = runner.invoke(main, ["keys", "list"])
    key_id = key.split("_")[1]
    assert f"{key_id}  ops  read=faa  write=" in listed.output
    bad = runner.invoke(main, ["keys", "create", "--name", "x", "--read", "../etc"])
    assert bad.exit_code != 0
    assert "is not a collection name" in bad.output
    assert runner.invoke(main, ["keys", "revoke", key_id]).exit_code == 0
    assert runner.invoke(main, ["keys", "revoke", key_id]).exit_code != 0
    assert runner.invoke(main, ["keys", "list"]).output == ""


async def test_keys_in_secrets_manager_verify_and_revoke(moto_s3: Any) -> None:
    client = local_client("secretsmanager", moto_s3.meta.endpoint_url)
    secret = client.create_secret(Name=f"rag-api-keys-{uuid.uuid4().hex}", SecretString="[]")
    store = SecretsManagerKeyStore(client, secret["ARN"])
    key, record = new_key("ci", read=["*"], write=[])
    await store.save([record])
    verifier = ApiKeyVerifier(store, refresh_seconds=0)
    principal = await verifier.verify(key)
    assert principal is not None
    assert principal.readable is None  # '*': every collection
    assert await verifier.verify(key + "x") is None
    await store.save([])
    assert await verifier.verify(key) is None


# -- limits and binding --------------------------------------------------------------------


def test_a_caller_over_its_rate_gets_429_with_retry_after(
    database_url: str, tmp_path: Path
) -> None:
    keys_file = tmp_path / "keys.json"
    key, record = new_key("busy", read=["*"], write=[])
    anyio.run(FileKeyStore(keys_file).save, [record])
    settings = Settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        auth="required",
        api_keys_file=keys_file,
        rate_limit_per_minute=5,
    )
    with TestClient(create_app(settings)) as client:
        codes = [client.get("/documents", headers=bearer(key)).status_code for _ in range(6)]
        assert codes == [200] * 5 + [429]
        limited = client.get("/documents", headers=bearer(key))
        assert limited.status_code == 429
        assert 1 <= int(limited.headers["retry-after"]) <= 12
        assert client.get("/health/live").status_code == 200  # health is never limited


def test_binding_beyond_loopback_without_auth_refuses_to_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(ValueError, match=r"binding 0\.0\.0\.0 without authentication"):
        Settings(host="0.0.0.0")
    result = CliRunner().invoke(main, ["serve", "--host", "0.0.0.0"])
    assert result.exit_code != 0
    assert "without authentication would expose every document" in result.output
    with pytest.raises(ValueError, match="needs a credential source"):
        Settings(auth="required")
    Settings(host="0.0.0.0", auth="required", api_keys_file=Path("keys.json"))

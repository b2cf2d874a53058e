"""The server side of the web app through the real API (in-process, embedded PostgreSQL):
page images and quote boxes, Range requests, the sealed sign-in cookie with CSRF, SSO with
authorization code + PKCE against a local identity provider, and the pages' CSP."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import secrets
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import httpx
import jwt
import pypdfium2 as pdfium
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from litestar.testing import TestClient
from PIL import Image

from rag_app.api import create_app
from rag_app.api.byte_ranges import byte_range
from rag_app.settings import Settings
from rag_app_dev.local_http import LocalHttpServer
from tests.conftest import CORPUS, _fresh_database
from tests.web.web_server import (
    Cue,
    bearer,
    make_keys,
    pdf_with_text,
    recording,
    upload_and_wait,
)

BULLETIN = CORPUS / "pdf" / "la-precinct-bulletin-2014-p1.pdf"
CLIENT_ID = "web-client"


# -- a local OpenID provider: discovery, authorize, token (checks PKCE), JWKS ---------------


class IdentityProvider(LocalHttpServer):
    def __init__(self) -> None:
        super().__init__()
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = uuid.uuid4().hex
        self.codes: dict[str, dict[str, str]] = {}

    @property
    def issuer(self) -> str:
        return self.endpoint_url

    def token(self, **claims: Any) -> str:
        now = int(time.time())
        payload = {"iss": self.issuer, "sub": "alice", "iat": now, "exp": now + 300, **claims}
        return jwt.encode(payload, self.key, algorithm="RS256", headers={"kid": self.kid})

    def _send(
        self, request: BaseHTTPRequestHandler, status: int, body: Any, **headers: str
    ) -> None:
        payload = json.dumps(body).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(payload)))
        for name, value in headers.items():
            request.send_header(name, value)
        request.end_headers()
        request.wfile.write(payload)

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        url = urlparse(request.path)
        if url.path == "/.well-known/openid-configuration":
            self._send(
                request,
                200,
                {
                    "issuer": self.issuer,
                    "authorization_endpoint": f"{self.issuer}/authorize",
                    "token_endpoint": f"{self.issuer}/token",
                    "jwks_uri": f"{self.issuer}/jwks.json",
                },
            )
        elif url.path == "/jwks.json":
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
            self._send(request, 200, {"keys": [{**jwk, "kid": self.kid, "alg": "RS256"}]})
        elif url.path == "/authorize":  # the user signed in: back to the app with a code
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            code = secrets.token_urlsafe(16)
            self.codes[code] = query
            location = (
                f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"
            )
            self._send(request, 302, {}, Location=location)
        elif url.path == "/token":
            length = int(request.headers["Content-Length"])
            form = {k: v[0] for k, v in parse_qs(request.rfile.read(length).decode()).items()}
            asked = self.codes.pop(form.get("code", ""), None)  # a code works once
            verifier = form.get("code_verifier", "")
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            if (
                asked is None
                or challenge.decode().rstrip("=") != asked["code_challenge"]
                or form.get("redirect_uri") != asked["redirect_uri"]
            ):
                self._send(request, 400, {"error": "invalid_grant"})
                return
            groups = ["read:faa"]
            self._send(
                request,
                200,
                {
                    "id_token": self.token(
                        aud=CLIENT_ID, nonce=asked["nonce"], **{"cognito:groups": groups}
                    ),
                    "access_token": self.token(client_id=CLIENT_ID, **{"cognito:groups": groups}),
                    "token_type": "Bearer",
                },
            )
        else:
            self._send(request, 404, {})


@pytest.fixture(scope="module")
def idp() -> Iterator[IdentityProvider]:
    with IdentityProvider() as provider:
        yield provider


@pytest.fixture(scope="module")
def web(
    postgres_url: str, tmp_path_factory: pytest.TempPathFactory, idp: IdentityProvider
) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("web-routes")
    keys = make_keys(root)
    settings = Settings(
        database_url=_fresh_database(postgres_url),
        data_dir=root / "data",
        auth="required",
        api_keys_file=keys.file,
        api_keys_refresh_seconds=0,
        rate_limit_per_minute=100_000,
        oidc_issuer=idp.issuer,
        oidc_audience=CLIENT_ID,
        oidc_jwks_url=f"{idp.issuer}/jwks.json",
        oidc_client_id=CLIENT_ID,
    )
    media = recording([Cue(0.5, 2.5, "The lease ends in May.")])
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        yield {
            "client": client,
            "keys": keys,
            "bulletin": upload_and_wait(
                client, keys.writer, BULLETIN.name, BULLETIN.read_bytes(), collection="faa"
            ),
            "court": upload_and_wait(
                client,
                keys.writer,
                "minutes.pdf",
                pdf_with_text("Sealed minutes of the court"),
                collection="court",
            ),
            "hearing": upload_and_wait(
                client,
                keys.writer,
                "hearing.wav",
                media.wav,
                transcript=("hearing.vtt", media.vtt, "text/vtt"),
                collection="faa",
            ),
            "wav": media.wav,
        }


def test_a_page_image_is_a_png_of_the_page_that_revalidates_by_etag(web: dict[str, Any]) -> None:
    client, key, doc = web["client"], web["keys"].faa_reader, web["bulletin"]
    response = client.get(f"/documents/{doc}/pages/1?width=600", headers=bearer(key))
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    width, height = pdfium.PdfDocument(BULLETIN)[0].get_size()
    assert image.size == (600, pytest.approx(600 * height / width, abs=1))
    etag = response.headers["etag"]
    again = client.get(
        f"/documents/{doc}/pages/1?width=600", headers={**bearer(key), "If-None-Match": etag}
    )
    assert again.status_code == 304
    assert again.content == b""
    for bad, status in (
        (f"/documents/{doc}/pages/0", 404),
        (f"/documents/{doc}/pages/2", 404),
        (f"/documents/{doc}/pages/1?width=99999", 400),
        (f"/documents/{doc}/pages/1?width=abc", 400),
        (f"/documents/{web['hearing']}/pages/1", 404),  # media has no pages
        ("/documents/no-such-document/pages/1", 404),
        ("/documents/%00/pages/1", 404),
    ):
        assert client.get(bad, headers=bearer(key)).status_code == status, bad


def _page_line() -> str:
    """A line of the bulletin's first page, read with PDFium: the quote to look for."""
    text = pdfium.PdfDocument(BULLETIN)[0].get_textpage().get_text_range()
    lines = [line.strip() for line in text.splitlines() if len(line.split()) >= 5]
    return lines[len(lines) // 2]


def test_quote_boxes_cover_exactly_the_quoted_characters(web: dict[str, Any]) -> None:
    client, key, doc = web["client"], web["keys"].faa_reader, web["bulletin"]
    quote = _page_line()
    found = client.get(
        f"/documents/{doc}/pages/1/quote", params={"text": quote}, headers=bearer(key)
    ).json()
    assert found["found"] is True
    assert found["pages"] == 1
    page = pdfium.PdfDocument(BULLETIN)[0]
    textpage = page.get_textpage()
    left, bottom, right, top = page.get_bbox()
    start, count = textpage.search(quote, match_case=True).get_next()
    for i in range(start, start + count):
        if not textpage.get_text_range(i, 1).strip():
            continue
        x0, y0, x1, y1 = textpage.get_charbox(i)
        cx = ((x0 + x1) / 2 - left) / (right - left)
        cy = (top - (y0 + y1) / 2) / (top - bottom)
        assert any(
            box["x"] <= cx <= box["x"] + box["w"] and box["y"] <= cy <= box["y"] + box["h"]
            for box in found["boxes"]
        ), (i, textpage.get_text_range(i, 1))
    # A line's worth of text: well under a tenth of the page.
    assert sum(b["w"] * b["h"] for b in found["boxes"]) < 0.1

    missing = client.get(
        f"/documents/{doc}/pages/1/quote",
        params={"text": "no such words at all"},
        headers=bearer(key),
    )
    assert missing.json()["found"] is False
    assert missing.json()["boxes"] == []
    for text in ("", "x" * 4001):
        response = client.get(
            f"/documents/{doc}/pages/1/quote", params={"text": text}, headers=bearer(key)
        )
        assert response.status_code == 400


def test_a_key_without_the_grant_gets_404_for_pages_quotes_and_content(web: dict[str, Any]) -> None:
    client, key, court = web["client"], web["keys"].faa_reader, web["court"]
    for path in (
        f"/documents/{court}/pages/1",
        f"/documents/{court}/pages/1/quote?text=Sealed",
        f"/documents/{court}/content",
    ):
        response = client.get(path, headers=bearer(key))
        assert response.status_code == 404, path
        assert "Sealed" not in response.text
    assert (
        client.get(f"/documents/{court}/pages/1", headers=bearer(web["keys"].writer)).status_code
        == 200
    )
    assert client.get(f"/documents/{court}/pages/1").status_code == 401


def test_content_answers_one_byte_range_with_206(web: dict[str, Any]) -> None:
    client, key, doc, wav = web["client"], web["keys"].faa_reader, web["hearing"], web["wav"]
    size = len(wav)
    url = f"/documents/{doc}/content"
    whole = client.get(url, headers=bearer(key))
    assert whole.status_code == 200
    assert whole.headers["accept-ranges"] == "bytes"
    assert whole.content == wav
    for header, first, last in (
        ("bytes=0-99", 0, 99),
        ("bytes=100-", 100, size - 1),
        ("bytes=-50", size - 50, size - 1),
        (f"bytes=10-{size * 2}", 10, size - 1),
    ):
        response = client.get(url, headers={**bearer(key), "Range": header})
        assert response.status_code == 206, header
        assert response.headers["content-range"] == f"bytes {first}-{last}/{size}"
        assert response.content == wav[first : last + 1]
    past = client.get(url, headers={**bearer(key), "Range": f"bytes={size}-"})
    assert past.status_code == 416
    assert past.headers["content-range"] == f"bytes */{size}"
    for ignored in ("bytes=0-1,5-9", "items=0-5", "bytes=9-2", "bytes=abc", "bytes=-"):
        response = client.get(url, headers={**bearer(key), "Range": ignored})
        assert response.status_code == 200, ignored
        assert response.content == wav


def test_byte_range_parsing_edges() -> None:
    assert byte_range(None, 10) is None
    assert byte_range("bytes=0-0", 10) == (0, 0)
    assert byte_range("bytes=-0", 10) is False
    assert byte_range("bytes=0-", 0) is False
    assert byte_range("bytes=-5", 0) is False
    assert byte_range("BYTES = 2 - 3", 10) == (2, 3)


def test_sign_in_sets_a_sealed_http_only_cookie_and_changes_need_the_csrf_token(
    web: dict[str, Any],
) -> None:
    client, keys = web["client"], web["keys"]
    client.cookies.clear()
    assert client.get("/auth/session").json()["signed_in"] is False
    assert client.post("/auth/session", json={"api_key": "rag_wrong"}).status_code == 401
    for body in ({}, {"api_key": ""}, {"api_key": "x" * 600}, {"api_key": keys.writer, "more": 1}):
        assert client.post("/auth/session", json=body).status_code == 400, body
    assert (
        client.post(
            "/auth/session", content=b"{not json", headers={"Content-Type": "application/json"}
        ).status_code
        == 400
    )

    signed_in = client.post("/auth/session", json={"api_key": keys.faa_reader})
    assert signed_in.status_code == 200
    cookie = signed_in.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "samesite=strict" in cookie.lower()
    assert keys.faa_reader not in cookie  # sealed, not stored in clear
    session = client.get("/auth/session").json()
    assert session["signed_in"] is True
    assert session["readable"] == ["faa"]
    assert session["writable"] == []
    csrf = session["csrf_token"]

    # Reads work on the cookie alone; changes need the token too.
    assert client.get(f"/documents/{web['bulletin']}").status_code == 200
    assert client.get(f"/documents/{web['court']}").status_code == 404
    assert client.post("/search", json={"query": "precinct"}).status_code == 403
    assert (
        client.post(
            "/search", json={"query": "precinct"}, headers={"X-CSRF-Token": "wrong"}
        ).status_code
        == 403
    )
    assert (
        client.post(
            "/search", json={"query": "precinct"}, headers={"X-CSRF-Token": csrf}
        ).status_code
        == 200
    )
    assert (
        client.delete(f"/documents/{web['bulletin']}", headers={"X-CSRF-Token": csrf}).status_code
        == 403
    )

    # A tampered cookie is no sign-in at all.
    value = client.cookies["rag_session"]
    client.cookies.set(
        "rag_session", value[:-4] + ("AAAA" if not value.endswith("AAAA") else "BBBB")
    )
    assert client.get("/documents").status_code == 401
    client.cookies.set("rag_session", value)

    assert client.delete("/auth/session").status_code == 403  # sign-out needs the token too
    signed_out = client.delete("/auth/session", headers={"X-CSRF-Token": csrf})
    assert signed_out.status_code == 204
    assert (
        'rag_session=""' in signed_out.headers["set-cookie"]
        or "Max-Age=0" in signed_out.headers["set-cookie"]
    )
    client.cookies.clear()
    assert client.get("/documents").status_code == 401


def test_sso_signs_in_with_authorization_code_and_pkce(
    web: dict[str, Any], idp: IdentityProvider
) -> None:
    client = web["client"]
    client.cookies.clear()
    assert client.get("/auth/session").json()["sso"] is True
    start = client.get("/auth/oidc/start", follow_redirects=False)
    assert start.status_code == 303
    authorize = urlparse(start.headers["location"])
    assert authorize.netloc == urlparse(idp.issuer).netloc
    asked = {k: v[0] for k, v in parse_qs(authorize.query).items()}
    assert asked["code_challenge_method"] == "S256"
    assert asked["client_id"] == CLIENT_ID
    assert "code_verifier" not in asked

    # The provider sends the browser back; a wrong state is refused, the right one signs in.
    with httpx.Client() as browser:
        back = browser.get(start.headers["location"], follow_redirects=False).headers["location"]
    callback = urlparse(back)
    forged = callback.query.replace(asked["state"], "forged-state")
    assert client.get(f"/auth/oidc/callback?{forged}", follow_redirects=False).status_code == 401
    done = client.get(f"/auth/oidc/callback?{callback.query}", follow_redirects=False)
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/app/ask"
    session = client.get("/auth/session").json()
    assert session["signed_in"] is True
    assert session["name"].endswith("alice")
    assert session["readable"] == ["faa"]
    assert client.get(f"/documents/{web['bulletin']}").status_code == 200
    assert client.get(f"/documents/{web['court']}").status_code == 404
    # The code was used: replaying the callback does not sign in again.
    client.cookies.clear()
    assert (
        client.get(f"/auth/oidc/callback?{callback.query}", follow_redirects=False).status_code
        == 401
    )


def test_pages_come_with_a_strict_csp_and_assets_from_this_origin(web: dict[str, Any]) -> None:
    client = web["client"]
    client.cookies.clear()
    assert client.get("/", follow_redirects=False).headers["location"] == "/app/ask"
    for name in ("ask", "search", "library", "viewer", "sign-in"):
        page = client.get(f"/app/{name}")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        csp = page.headers["content-security-policy"]
        assert "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert "http" not in page.text.replace('lang="en"', "")  # no absolute URL to elsewhere
    assert client.get("/app/nothing").status_code == 404
    script = client.get("/app/static/ask.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert client.get("/app/static/../../settings.py").status_code == 404


def test_local_mode_needs_no_sign_in(tmp_path: Path, database_url: str) -> None:
    with TestClient(create_app(Settings(database_url=database_url, data_dir=tmp_path))) as client:
        session = client.get("/auth/session").json()
        assert session["auth_required"] is False
        assert session["signed_in"] is True
        assert client.post("/auth/session", json={"api_key": "rag_x"}).status_code == 400
        assert client.get("/app/ask").status_code == 200


def test_the_openapi_page_loads_swagger_ui_from_this_service(web: dict[str, Any]) -> None:
    client, key = web["client"], web["keys"].faa_reader
    client.cookies.clear()
    assert client.get("/schema").status_code == 401  # the API's shape is for callers only
    page = client.get("/schema", headers=bearer(key))
    assert page.status_code == 200
    assets = re.findall(r"(?:src|href)=[\"']([^\"']+)[\"']", page.text)
    assert len(assets) >= 3
    for asset in assets:
        assert asset.startswith("/"), asset  # nothing from a CDN
        assert client.get(asset).status_code == 200, asset
    assert client.get("/schema/openapi.json", headers=bearer(key)).status_code == 200

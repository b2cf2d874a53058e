"""Property-based fuzzing of the API against its own OpenAPI schema (schemathesis, calling
the ASGI app in process), with authentication on and a valid key on every case, on both
vector stores: no server error and no response outside the schema, for inputs the schema
allows and inputs it forbids."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from rag_app.api import create_app
from rag_app.auth.api_keys import FileKeyStore, new_key
from rag_app.settings import Settings
from tests.conftest import CORPUS, _fresh_database, store_settings, upload, wait_for_job

SMALL_PDF = CORPUS / "pdf" / "la-precinct-bulletin-2014-p1.pdf"
EXAMPLES_PER_OPERATION = 80
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


# The API layer is the same over either store: S3 Vectors' runs (half a minute) are slow.
@pytest.fixture(
    scope="module", params=["pgvector", pytest.param("s3vectors", marks=pytest.mark.slow)]
)
def fuzzed(
    request: pytest.FixtureRequest, postgres_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Any, str]]:
    """The schema of a running app with one document, and a key that may read and write
    every collection (so cases get past authentication and reach the handlers)."""
    root = tmp_path_factory.mktemp("fuzz")
    key, record = new_key("fuzzer", read=["*"], write=["*"])
    anyio.run(FileKeyStore(root / "api-keys.json").save, [record])
    settings = Settings(
        database_url=_fresh_database(postgres_url),
        data_dir=root / "data",
        auth="required",
        api_keys_file=root / "api-keys.json",
        rate_limit_per_minute=1_000_000,
        **store_settings(request.param),
    )
    app = create_app(settings)
    bearer = {"Authorization": f"Bearer {key}"}  # the schema itself needs credentials
    try:
        # schemathesis runs the app's lifespan itself, on its own event loop thread.
        with asgi.get_client(app) as client:
            client.headers.update(bearer)
            status, body = upload(client, SMALL_PDF, collection="bulletins")  # type: ignore[arg-type]
            assert status == 202, body
            job = wait_for_job(client, body["job_id"])  # type: ignore[arg-type]
            assert job["status"] == "succeeded", job
        yield schemathesis.openapi.from_asgi("/schema/openapi.json", app, headers=bearer), key
    finally:
        asgi.shutdown_lifespans()


# When a form field after a file fails to decode, Litestar's parser drops the file it had
# spooled without closing it (the garbage collector does); the answer is a clean 400.
@pytest.mark.filterwarnings(
    "ignore:Exception ignored in.*SpooledTemporaryFile:pytest.PytestUnraisableExceptionWarning"
)
# schemathesis's own strategies call the `random` module (generation/dictionaries.py); when a
# run's draw reaches that path, Hypothesis warns, and our warnings-are-errors made it a failure
# of one CI run in many. The warning is about the library's code, not about the API.
@pytest.mark.filterwarnings(
    "ignore:Do not use the `random` module inside strategies:hypothesis.errors.HypothesisDeprecationWarning"
)
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_server_error_and_no_response_outside_the_schema(
    fuzzed: tuple[Any, str], mode: GenerationMode
) -> None:
    schema, key = fuzzed
    cases: dict[str, int] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        if mode is GenerationMode.NEGATIVE and not [*operation.query, *operation.body]:
            continue  # nothing to make invalid: no input, or only a string in the path

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.explicit, Phase.generate, Phase.shrink],
        )
        def run(case: Any) -> None:
            cases[case.operation.label] = cases.get(case.operation.label, 0) + 1
            case.call_and_validate(headers={"Authorization": f"Bearer {key}"}, checks=CHECKS)

        run()
    print(f"\n{mode.value}: {sum(cases.values())} cases, no failure: {cases}")
    assert sum(cases.values()) >= EXAMPLES_PER_OPERATION

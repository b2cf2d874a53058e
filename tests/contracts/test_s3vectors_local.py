"""The local S3 Vectors server through the real boto3 client.

Every test runs against the local server; the same tests run against AWS when
S3VECTORS_LIVE_REGION is set (with credentials in the default chain), so each rule here can
be re-checked against the real service. Fault injection is local-only.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError

from rag_app_dev.s3vectors_local import LocalS3Vectors
from tests.conftest import local_client, s3vectors_client

LIVE_REGION = os.environ.get("S3VECTORS_LIVE_REGION")


@pytest.fixture(params=["local", pytest.param("aws", marks=pytest.mark.aws_live)])
def client(request: pytest.FixtureRequest, s3vectors_server: LocalS3Vectors) -> Any:
    if request.param == "local":
        return s3vectors_client(s3vectors_server, max_attempts=1)
    return boto3.client(
        "s3vectors",
        region_name=LIVE_REGION,
        endpoint_url=f"https://s3vectors.{LIVE_REGION}.api.aws",
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
    )


@pytest.fixture
def bucket(client: Any) -> Iterator[str]:
    name = f"rag-test-{uuid.uuid4().hex[:10]}"
    client.create_vector_bucket(vectorBucketName=name)
    yield name
    for page in client.get_paginator("list_indexes").paginate(vectorBucketName=name):
        for index in page["indexes"]:
            client.delete_index(vectorBucketName=name, indexName=index["indexName"])
    client.delete_vector_bucket(vectorBucketName=name)


@pytest.fixture
def index(client: Any, bucket: str) -> dict[str, str]:
    client.create_index(
        vectorBucketName=bucket,
        indexName="idx",
        dataType="float32",
        dimension=3,
        distanceMetric="cosine",
        metadataConfiguration={"nonFilterableMetadataKeys": ["text"]},
    )
    return {"vectorBucketName": bucket, "indexName": "idx"}


def error(call: Any) -> tuple[str, int, str, Any]:
    with pytest.raises(ClientError) as info:
        call()
    response = info.value.response
    return (
        response["Error"]["Code"],
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Message"],
        response.get("fieldList"),
    )


def put(
    client: Any, index: dict[str, str], *records: tuple[str, list[float], dict[str, Any]]
) -> None:
    client.put_vectors(
        **index,
        vectors=[{"key": k, "data": {"float32": v}, "metadata": m} for k, v, m in records],
    )


def test_creates_return_arns_and_get_index_describes_the_index(
    client: Any, bucket: str, index: dict[str, str]
) -> None:
    described = client.get_index(**index)["index"]
    assert described["indexArn"].endswith(f":bucket/{bucket}/index/idx")
    assert described["indexArn"].startswith("arn:aws:s3vectors:")
    assert (described["dimension"], described["distanceMetric"], described["dataType"]) == (
        3,
        "cosine",
        "float32",
    )
    assert described["metadataConfiguration"] == {"nonFilterableMetadataKeys": ["text"]}
    assert described["encryptionConfiguration"] == {"sseType": "AES256"}


def test_duplicate_creates_conflict(client: Any, bucket: str, index: dict[str, str]) -> None:
    code, status, message, _ = error(lambda: client.create_vector_bucket(vectorBucketName=bucket))
    assert (code, status, message) == (
        "ConflictException",
        409,
        "A vector bucket with the specified name already exists",
    )
    code, status, message, _ = error(
        lambda: client.create_index(
            **index, dataType="float32", dimension=3, distanceMetric="cosine"
        )
    )
    assert (code, status, message) == (
        "ConflictException",
        409,
        "An index with the specified name already exists",
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"dimension": 4097}, "Member must be between 1 and 4096, inclusive"),
        ({"distanceMetric": "dot"}, "Member must satisfy enum value set: [euclidean, cosine]"),
        ({"indexName": "Bad_Name"}, "Invalid index name"),
    ],
)
def test_index_settings_the_model_forbids_are_refused(
    client: Any, bucket: str, changes: dict[str, Any], message: str
) -> None:
    request = {
        "vectorBucketName": bucket,
        "indexName": "ok-name",
        "dataType": "float32",
        "dimension": 3,
        "distanceMetric": "cosine",
        **changes,
    }
    code, status, text, _ = error(lambda: client.create_index(**request))
    assert (code, status) == ("ValidationException", 400)
    assert message in text


def test_bucket_name_rules(client: Any) -> None:
    code, _, message, _ = error(lambda: client.create_vector_bucket(vectorBucketName="bad_name"))
    assert (code, message) == ("ValidationException", "Invalid vector bucket name")


def test_missing_index_is_404_and_missing_bucket_delete_is_not(client: Any, bucket: str) -> None:
    code, status, message, _ = error(
        lambda: client.get_index(vectorBucketName=bucket, indexName="nope")
    )
    assert (code, status, message) == (
        "NotFoundException",
        404,
        "The specified index could not be found",
    )
    client.delete_vector_bucket(vectorBucketName=f"absent-{uuid.uuid4().hex[:8]}")


def test_put_query_get_and_delete(client: Any, index: dict[str, str]) -> None:
    put(
        client,
        index,
        ("a", [1, 0, 0], {"d": "x", "text": "alpha"}),
        ("b", [0, 1, 0], {"d": "y"}),
        ("c", [1, 1, 0], {"d": "x"}),
    )
    result = client.query_vectors(
        **index,
        topK=3,
        queryVector={"float32": [1, 0, 0]},
        returnDistance=True,
        returnMetadata=True,
    )
    assert result["distanceMetric"] == "cosine"
    assert [v["key"] for v in result["vectors"]] == ["a", "c", "b"]
    assert [round(v["distance"], 4) for v in result["vectors"]] == [0.0, 0.2929, 1.0]
    assert result["vectors"][0]["metadata"] == {"d": "x", "text": "alpha"}
    got = client.get_vectors(**index, keys=["c", "zz", "a"], returnData=True, returnMetadata=True)
    assert {v["key"] for v in got["vectors"]} == {"a", "c"}  # absent keys are left out
    client.delete_vectors(**index, keys=["a", "absent"])
    assert {v["key"] for v in client.list_vectors(**index)["vectors"]} == {"b", "c"}


def test_values_are_stored_as_float32(client: Any, index: dict[str, str]) -> None:
    put(client, index, ("a", [0.1, 0.2, 0.3], {}))
    (vector,) = client.get_vectors(**index, keys=["a"], returnData=True)["vectors"]
    assert vector["data"]["float32"] == [
        float(__import__("numpy").float32(x)) for x in (0.1, 0.2, 0.3)
    ]


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (
            ("k", [1, 0], {}),
            "Invalid record for key 'k': vector must have length 3, but has length 2",
        ),
        (
            ("k", [0, 0, 0], {}),
            "Invalid record for key 'k': cosine distance does not support vectors with zero norm",
        ),
        (("k", [1e39, 0, 0], {}), "Invalid record for key 'k': vector contains NaNs or Infs"),
        (
            ("k", [1, 0, 0], {"a": []}),
            "Invalid record for key 'k': Empty arrays are not allowed in metadata",
        ),
        (
            ("k", [1, 0, 0], {"a": [1, "x"]}),
            "Invalid record for key 'k': Metadata array values must be strings or numbers",
        ),
        (
            ("k", [1, 0, 0], {"a": {"b": 1}}),
            "Invalid record for key 'k': Metadata values must be strings, numbers, booleans, or arrays",
        ),
        (
            ("k", [1, 0, 0], {f"k{i}": i for i in range(51)}),
            "Invalid record for key 'k': Metadata object must have at most 50 keys",
        ),
        (
            ("k", [1, 0, 0], {"a": "x" * 2040}),
            "Invalid record for key 'k': Filterable metadata must have at most 2048 bytes",
        ),
        (
            ("k", [1, 0, 0], {"text": "x" * 40950}),
            "Invalid record for key 'k': Metadata object must have at most 40960 bytes",
        ),
        (("k" * 1025, [1, 0, 0], {}), "1024"),
    ],
)
def test_records_aws_refuses(client: Any, index: dict[str, str], record: Any, message: str) -> None:
    put(client, index, ("good", [1, 0, 0], {}))
    code, status, text, _ = error(lambda: put(client, index, ("ok", [0, 1, 0], {}), record))
    assert (code, status) == ("ValidationException", 400)
    assert message in text
    # A batch with one bad record writes nothing.
    assert {v["key"] for v in client.list_vectors(**index)["vectors"]} == {"good"}


def test_filterable_budget_uses_the_aws_size_model(client: Any, index: dict[str, str]) -> None:
    # 4 + (8 + 1 + 2031) = 2044 bytes: fits, although its JSON is longer than 2048 bytes.
    put(client, index, ("k", [1, 0, 0], {"a": "é" * 1015 + "x", "text": "t" * 30000}))


def test_too_many_vectors_in_one_put(client: Any, index: dict[str, str]) -> None:
    records = [{"key": f"k{i}", "data": {"float32": [1, 0, 0]}} for i in range(501)]
    code, _, message, _ = error(lambda: client.put_vectors(**index, vectors=records))
    assert code == "ValidationException"
    assert "Member must have length between 1 and 500, inclusive" in message


@pytest.mark.parametrize(
    "bad_filter",
    [
        {},
        {"a": "x", "b": "y"},
        {"$and": []},
        {"a": {"$eg": 1}},
        {"a": {}},
        {"$not": {"a": 1}},
        {"a": {"$gt": "x"}},
        {"a": {"$in": []}},
        {"a": None},
        {"$and": [{"a": 1}], "b": 2},
    ],
)
def test_invalid_filters(client: Any, index: dict[str, str], bad_filter: dict[str, Any]) -> None:
    code, _, message, fields = error(
        lambda: client.query_vectors(
            **index, topK=1, queryVector={"float32": [1, 0, 0]}, filter=bad_filter
        )
    )
    assert (code, message, fields) == (
        "ValidationException",
        "Invalid filter",
        [{"path": "filter", "message": "Invalid filter"}],
    )


def test_filter_on_a_non_filterable_key(client: Any, index: dict[str, str]) -> None:
    _, _, message, _ = error(
        lambda: client.query_vectors(
            **index, topK=1, queryVector={"float32": [1, 0, 0]}, filter={"text": "alpha"}
        )
    )
    assert message == "Invalid use of non-filterable metadata in filter"


def test_filter_semantics(client: Any, index: dict[str, str]) -> None:
    put(
        client,
        index,
        ("a", [1, 0, 0], {"n": 1, "s": "x", "b": True, "tags": ["p", "q"]}),
        ("b", [1, 0.1, 0], {"n": 5, "s": "y", "b": False}),
        ("c", [1, 0.2, 0], {"n": 9, "s": "1"}),
    )

    def keys(condition: dict[str, Any]) -> set[str]:
        result = client.query_vectors(
            **index, topK=10, queryVector={"float32": [1, 0, 0]}, filter=condition
        )
        return {v["key"] for v in result["vectors"]}

    assert keys({"s": "x"}) == {"a"}
    assert keys({"tags": "q"}) == {"a"}  # $eq on an array: any element
    assert keys({"n": {"$gte": 2, "$lt": 9}}) == {"b"}
    assert keys({"$and": [{"n": {"$gt": 0}}, {"b": False}]}) == {"b"}
    assert keys({"$or": [{"s": "x"}, {"n": 9}]}) == {"a", "c"}
    assert keys({"s": {"$in": ["x", "y"]}}) == {"a", "b"}
    assert keys({"b": {"$exists": False}}) == {"c"}
    assert keys({"s": 1}) == set()  # a type mismatch matches nothing
    assert keys({"b": 1}) == set()  # booleans are not numbers
    assert keys({"missing": "x"}) == set()


def test_query_rules(client: Any, index: dict[str, str]) -> None:
    put(client, index, ("a", [1, 0, 0], {}))
    code, _, message, _ = error(
        lambda: client.query_vectors(**index, topK=101, queryVector={"float32": [1, 0, 0]})
    )
    assert code == "ValidationException"
    assert "'/topK'" in message
    for vector in ([1, 0], [0, 0, 0]):
        _, _, message, fields = error(
            lambda v=vector: client.query_vectors(**index, topK=1, queryVector={"float32": v})
        )
        assert message == "Query vector contains invalid values or is invalid for this index"
        assert fields == [{"path": "vector", "message": message}]


def test_list_vectors_pages_and_segments_cover_every_key_once(
    client: Any, index: dict[str, str]
) -> None:
    for start in range(0, 1200, 500):
        client.put_vectors(
            **index,
            vectors=[
                {"key": f"k{i}", "data": {"float32": [1, i, 0]}}
                for i in range(start, min(start + 500, 1200))
            ],
        )
    paged = [
        v["key"]
        for page in client.get_paginator("list_vectors").paginate(
            **index, PaginationConfig={"PageSize": 300}
        )
        for v in page["vectors"]
    ]
    assert sorted(paged) == sorted(f"k{i}" for i in range(1200))
    segmented = [
        v["key"]
        for segment in range(4)
        for page in client.get_paginator("list_vectors").paginate(
            **index, segmentCount=4, segmentIndex=segment
        )
        for v in page["vectors"]
    ]
    assert sorted(segmented) == sorted(paged)


# -- full-text and hybrid search ---------------------------------------------------------


@pytest.fixture
def text_index(client: Any, bucket: str) -> dict[str, str]:
    client.create_index(
        vectorBucketName=bucket,
        indexName="fts",
        dataType="float32",
        dimension=3,
        distanceMetric="cosine",
        metadataConfiguration={
            "nonFilterableMetadataKeys": ["text"],
            "textSearchConfigurations": [{"metadataKey": "text", "language": "en"}],
        },
    )
    ids = {"vectorBucketName": bucket, "indexName": "fts"}
    put(
        client,
        ids,
        ("lease", [1, 0, 0], {"text": "The lessee shall terminate the lease on notice.", "c": "a"}),
        ("rent", [0.9, 0.1, 0], {"text": "Rent is due on the first day of the month.", "c": "a"}),
        ("seat", [0, 1, 0], {"text": "The seat of arbitration is Geneva.", "c": "b"}),
        (
            "mixed",
            [0, 0, 1],
            {"text": "Arbitration of lease disputes; the lease governs.", "c": "b"},
        ),
    )
    return ids


def keys(response: dict[str, Any]) -> list[str]:
    return [v["key"] for v in response["vectors"]]


def test_new_buckets_make_enhanced_indexes_with_active_text_search(
    client: Any, bucket: str, text_index: dict[str, str]
) -> None:
    assert (
        client.get_vector_bucket(vectorBucketName=bucket)["vectorBucket"]["defaultIndexMode"]
        == "ENHANCED"
    )
    described = client.get_index(**text_index)["index"]
    assert described["indexMode"] == "ENHANCED"
    assert described["metadataConfiguration"]["textSearchConfigurations"] == [
        {"metadataKey": "text", "language": "en", "status": "ACTIVE"}
    ]


def test_text_query_ranks_by_bm25_with_the_english_analyzer(
    client: Any, text_index: dict[str, str]
) -> None:
    query = {"text": "terminating leases", "metadataKey": "text"}
    found = client.query_vectors(
        **text_index, topK=5, queryTexts=[query], returnScores=True, returnMetadata=True
    )
    # "terminating" stems to the first chunk's "terminate"; "leases" to "lease" in both.
    assert keys(found) == ["lease", "mixed"]
    first = found["vectors"][0]
    assert [s["metadataKey"] for s in first["scores"]["bm25Scores"]] == ["text"]
    assert (
        first["scores"]["bm25Scores"][0]["score"]
        > found["vectors"][1]["scores"]["bm25Scores"][0]["score"]
    )
    assert "fused" not in first["scores"]
    assert "distance" not in first
    # A filter applies before the search (ENHANCED); words that occur nowhere find nothing.
    filtered = client.query_vectors(**text_index, topK=5, queryTexts=[query], filter={"c": "b"})
    assert keys(filtered) == ["mixed"]
    none = {"text": "indemnification", "metadataKey": "text"}
    assert client.query_vectors(**text_index, topK=5, queryTexts=[none])["vectors"] == []


def test_hybrid_query_fuses_text_and_vector_rankings(
    client: Any, text_index: dict[str, str]
) -> None:
    found = client.query_vectors(
        **text_index,
        topK=3,
        queryVector={"float32": [0, 1, 0.1]},
        queryTexts=[{"text": "arbitration lease", "metadataKey": "text"}],
        returnScores=True,
        returnDistance=True,
    )
    # "seat" is nearest and matches a word, "mixed" matches both words and is second
    # nearest: both lists rank them high, so they lead the fused list.
    assert keys(found)[:2] in (["seat", "mixed"], ["mixed", "seat"])
    fused = [v["scores"]["fused"] for v in found["vectors"]]
    assert fused == sorted(fused, reverse=True)
    assert all("vectorDistance" in v["scores"] for v in found["vectors"])


def test_text_search_follows_writes_and_deletes(client: Any, text_index: dict[str, str]) -> None:
    query = [{"text": "geneva", "metadataKey": "text"}]
    assert keys(client.query_vectors(**text_index, topK=5, queryTexts=query)) == ["seat"]
    put(client, text_index, ("seat", [0, 1, 0], {"text": "The seat is Paris.", "c": "b"}))
    assert keys(client.query_vectors(**text_index, topK=5, queryTexts=query)) == []
    client.delete_vectors(**text_index, keys=["lease"])
    lease = [{"text": "lease", "metadataKey": "text"}]
    assert keys(client.query_vectors(**text_index, topK=5, queryTexts=lease)) == ["mixed"]


def test_text_query_rules(client: Any, index: dict[str, str], text_index: dict[str, str]) -> None:
    text = {"text": "lease", "metadataKey": "text"}
    cases = [
        (lambda: client.query_vectors(**text_index, topK=1), "queryVector, queryTexts"),
        (lambda: client.query_vectors(**index, topK=1, queryTexts=[text]), "not configured"),
        (
            lambda: client.query_vectors(**text_index, topK=1, queryTexts=[text, text]),
            "distinct",
        ),
        (
            lambda: client.query_vectors(
                **text_index, topK=1, queryTexts=[text], queryMode="CLASSIC"
            ),
            "CLASSIC",
        ),
        (
            lambda: client.query_vectors(
                **text_index, topK=1, queryTexts=[{"text": "x" * 1025, "metadataKey": "text"}]
            ),
            "1024",
        ),
        (
            lambda: client.update_metadata_configuration(
                **text_index,
                add={"textSearchConfigurations": [{"metadataKey": "title"}]},
                delete={"textSearchConfigurations": [{"metadataKey": "text"}]},
            ),
            "not both",
        ),
    ]
    for call, words in cases:
        code, status, message, _ = error(call)
        assert (code, status) == ("ValidationException", 400), message
        assert words in message


def test_text_search_added_to_an_existing_index_covers_its_vectors(
    client: Any, index: dict[str, str]
) -> None:
    put(client, index, ("a", [1, 0, 0], {"text": "force majeure"}))
    client.update_metadata_configuration(
        **index, add={"textSearchConfigurations": [{"metadataKey": "text"}]}
    )
    query = [{"text": "majeure", "metadataKey": "text"}]
    assert keys(client.query_vectors(**index, topK=1, queryTexts=query)) == ["a"]
    client.update_metadata_configuration(
        **index, delete={"textSearchConfigurations": [{"metadataKey": "text"}]}
    )
    assert error(lambda: client.query_vectors(**index, topK=1, queryTexts=query))[0] == (
        "ValidationException"
    )


def test_classic_indexes_refuse_text_queries(s3vectors_server: LocalS3Vectors) -> None:
    """Local only: a bucket created before 2026-09-30 (backdated) makes CLASSIC indexes."""
    client = s3vectors_client(s3vectors_server, max_attempts=1)
    name = f"rag-test-{uuid.uuid4().hex[:10]}"
    client.create_vector_bucket(vectorBucketName=name)
    s3vectors_server.state.backdate_bucket(name, 1_750_000_000.0)  # June 2025
    ids = {"vectorBucketName": name, "indexName": "old"}
    client.create_index(**ids, dataType="float32", dimension=3, distanceMetric="cosine")
    assert client.get_index(**ids)["index"]["indexMode"] == "CLASSIC"
    text = [{"text": "lease", "metadataKey": "text"}]
    code, _, message, _ = error(lambda: client.query_vectors(**ids, topK=1, queryTexts=text))
    assert (code, "ENHANCED" in message) == ("ValidationException", True)
    add = {"textSearchConfigurations": [{"metadataKey": "text"}]}
    assert "ENHANCED" in error(lambda: client.update_metadata_configuration(**ids, add=add))[2]
    client.update_index_mode(**ids, indexMode="ENHANCED")
    client.update_metadata_configuration(**ids, add=add)
    assert client.query_vectors(**ids, topK=1, queryTexts=text)["vectors"] == []
    # A bucket from after the cutoff cannot go back to CLASSIC.
    fresh = f"rag-test-{uuid.uuid4().hex[:10]}"
    client.create_vector_bucket(vectorBucketName=fresh)
    code, _, message, _ = error(
        lambda: client.put_vector_bucket_default_index_mode(
            vectorBucketName=fresh, defaultIndexMode="CLASSIC"
        )
    )
    assert (code, "September 30, 2026" in message) == ("ValidationException", True)


# -- local-only: fault injection ------------------------------------------------------------


@pytest.fixture
def local(s3vectors_server: LocalS3Vectors) -> Iterator[LocalS3Vectors]:
    yield s3vectors_server
    s3vectors_server.faults.clear()


def test_injected_throttling_is_retried_by_botocore(local: LocalS3Vectors) -> None:
    client = s3vectors_client(local, max_attempts=3)
    name = f"fault-{uuid.uuid4().hex[:8]}"
    local.faults.fail_next("CreateVectorBucket", "TooManyRequestsException", times=2)
    client.create_vector_bucket(vectorBucketName=name)
    assert (
        client.get_vector_bucket(vectorBucketName=name)["vectorBucket"]["vectorBucketName"] == name
    )


def test_injected_errors_reach_the_caller_as_aws_errors(local: LocalS3Vectors) -> None:
    client = s3vectors_client(local, max_attempts=1)
    for code, status in [
        ("TooManyRequestsException", 429),
        ("ServiceUnavailableException", 503),
        ("InternalServerException", 500),
    ]:
        local.faults.fail_next("ListVectorBuckets", code)
        assert error(client.list_vector_buckets)[:2] == (code, status)


def test_oversized_request_is_refused(local: LocalS3Vectors) -> None:
    client = s3vectors_client(local, max_attempts=1)
    code, _, message, _ = error(
        lambda: client.create_vector_bucket(vectorBucketName="x" * 3, tags={"k": "v" * 21_000_000})
    )
    assert (code, message) == ("ValidationException", "Request body exceeds max allowed size")


def test_the_cli_command_serves_the_protocol() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    rag_app = str(Path(sys.executable).parent / "rag-app")
    process = subprocess.Popen(
        [rag_app, "s3vectors-local", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        client = local_client("s3vectors", f"http://127.0.0.1:{port}", region="eu-central-1")
        deadline = time.monotonic() + 30
        while True:
            try:
                arn = client.create_vector_bucket(vectorBucketName="cli-bucket")["vectorBucketArn"]
                break
            except EndpointConnectionError:
                assert time.monotonic() < deadline
                time.sleep(0.2)
        assert arn.startswith("arn:aws:s3vectors:eu-central-1:")
    finally:
        process.terminate()
        process.wait(timeout=10)

"""The state and operations of the local S3 Vectors server (one region, one account).

Search is exact (brute force over float32 vectors), so results are what AWS's approximate
search returns at best; distances are cosine ``1 - cos`` or euclidean L2 (AWS does not say
whether it returns L2 or L2 squared). Writes are visible at once, as on AWS.
Rows marked inferred in the notes below were not observed live: the index-name message, the
non-empty-bucket conflict message, the order of checks within one request, and that a batch
with one bad record writes nothing.

Index modes and full-text search (``fulltext.py`` for BM25 and RRF): a bucket's
``defaultIndexMode`` is ``ENHANCED`` (AWS's default for buckets created from 2026-09-30 on;
``backdate_bucket`` makes an older, ``CLASSIC`` one) and an index takes its bucket's mode
when created. Documented and followed: full-text and hybrid queries need an ENHANCED index;
``queryMode=CLASSIC`` is refused on an ENHANCED index; a request needs ``queryVector``,
``queryTexts`` or both; each query text targets a distinct searchable key;
``UpdateMetadataConfiguration`` takes ``add`` or ``delete``, not both, on an ENHANCED index;
``CLASSIC`` can be set only on indexes of buckets created before 2026-09-30; ENHANCED
filters before the search. Inferred, unverified: every refusal above is a
``ValidationException`` and its message; a new text configuration is ``ACTIVE`` at once
(AWS backfills it, ``BUILDING`` meanwhile); text queries take no ``nextToken`` here.
"""

from __future__ import annotations

import base64
import json
import re
import time
import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from rag_app.aws import s3vectors_rules as rules
from rag_app_dev.s3vectors_local.errors import ServiceError, not_found, validation
from rag_app_dev.s3vectors_local.filters import check_filter, matches
from rag_app_dev.s3vectors_local.fulltext import RRF_DEPTH, TextField, rrf
from rag_app_dev.s3vectors_local.shapes import check_range

BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
INDEX_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
ARN = re.compile(
    r"^arn:aws[-a-z0-9]*:s3vectors:([a-z0-9-]+):([0-9]{12}):bucket/([^/]+)(?:/index/(.+))?$"
)
DEFAULT_ENCRYPTION = {"sseType": "AES256"}
# Buckets created before this default to CLASSIC indexes, and only their indexes can be set
# back to CLASSIC (AWS user guide, "Index modes").
ENHANCED_DEFAULT_FROM = 1_790_726_400.0  # 2026-09-30T00:00:00Z
MODES = ("CLASSIC", "ENHANCED")


@dataclass
class Index:
    bucket: str
    name: str
    arn: str
    created: float
    dimension: int
    metric: str
    non_filterable: tuple[str, ...]
    encryption: dict[str, str]
    mode: str = "ENHANCED"
    text_fields: dict[str, TextField] = field(default_factory=dict)
    vectors: dict[str, NDArray[np.float32]] = field(default_factory=dict)
    metadata: dict[str, dict[str, Any]] = field(default_factory=dict)

    def index_text(self, key: str, metadata: dict[str, Any] | None) -> None:
        for name, text_field in self.text_fields.items():
            if metadata is None:
                text_field.remove(key)
            else:
                text_field.put(key, metadata.get(name))

    def describe(self) -> dict[str, Any]:
        description: dict[str, Any] = {
            "vectorBucketName": self.bucket,
            "indexName": self.name,
            "indexArn": self.arn,
            "creationTime": self.created,
            "dataType": "float32",
            "dimension": self.dimension,
            "distanceMetric": self.metric,
            "encryptionConfiguration": self.encryption,
        }
        configuration: dict[str, Any] = {}
        if self.non_filterable:
            configuration["nonFilterableMetadataKeys"] = list(self.non_filterable)
        if self.text_fields:
            configuration["textSearchConfigurations"] = [
                {"metadataKey": name, **({"language": f.language} if f.language else {}),
                 "status": "ACTIVE"}
                for name, f in self.text_fields.items()
            ]  # fmt: skip
        if configuration:
            description["metadataConfiguration"] = configuration
        description["indexMode"] = self.mode
        return description


@dataclass
class Bucket:
    name: str
    arn: str
    created: float
    encryption: dict[str, str]
    default_mode: str = "ENHANCED"
    indexes: dict[str, Index] = field(default_factory=dict)

    @property
    def legacy(self) -> bool:
        return self.created < ENHANCED_DEFAULT_FROM


def _token(position: str) -> str:
    return base64.urlsafe_b64encode(position.encode()).decode()


def _untoken(token: str | None) -> str | None:
    if token is None:
        return None
    try:
        return base64.urlsafe_b64decode(token.encode()).decode()
    except (ValueError, UnicodeDecodeError):
        raise validation("Invalid nextToken", "nextToken") from None


def _page(names: list[str], body: dict[str, Any], default: int) -> tuple[list[str], str | None]:
    """Sorted names from after ``nextToken``, at most ``maxResults``, and the next token."""
    after = _untoken(body.get("nextToken"))
    remaining = [n for n in sorted(names) if after is None or n > after]
    limit = body.get("maxResults", default)
    page = remaining[:limit]
    return page, _token(page[-1]) if len(remaining) > limit else None


def _listing(field: str, token: str | None, items: list[dict[str, Any]]) -> dict[str, Any]:
    """A list response: the items under ``field``, and ``nextToken`` when there is more."""
    return {field: items, **({"nextToken": token} if token else {})}


def _encryption(given: dict[str, str] | None, inherited: dict[str, str]) -> dict[str, str]:
    if given is None:
        return inherited
    sse, key = given.get("sseType", "AES256"), given.get("kmsKeyArn")
    if sse == "AES256" and key is not None:
        raise validation("kmsKeyArn must not be specified when sseType is AES256.")
    if sse == "aws:kms" and key is None:
        raise validation("kmsKeyArn must be specified when sseType is set to aws:kms")
    return {"sseType": sse, **({"kmsKeyArn": key} if key else {})}


def _float32(values: Any) -> NDArray[np.float32] | None:
    """The float32 rounding AWS stores; None if not a list of numbers."""
    if not isinstance(values, list) or not all(
        isinstance(v, int | float | str) and not isinstance(v, bool) for v in values
    ):
        return None
    try:
        with np.errstate(over="ignore"):
            return np.array([float(v) for v in values], dtype=np.float64).astype(np.float32)
    except ValueError:
        return None


class S3VectorsState:
    def __init__(self, *, region: str = "us-east-1", account: str = "123456789012") -> None:
        self.region = region
        self.account = account
        self.buckets: dict[str, Bucket] = {}

    # -- identifiers -------------------------------------------------------------------

    def _bucket_arn(self, name: str) -> str:
        return f"arn:aws:s3vectors:{self.region}:{self.account}:bucket/{name}"

    def _bucket_of(self, body: dict[str, Any]) -> str:
        name, arn = body.get("vectorBucketName"), body.get("vectorBucketArn")
        if (name is None) == (arn is None):
            raise validation("Must specify either vectorBucketName or vectorBucketArn but not both")
        if arn is not None:
            match = ARN.match(arn)
            if not match or match.group(4):
                raise validation("Invalid vector bucket ARN", "vectorBucketArn")
            return match.group(3)
        return str(name)

    def _existing_bucket(self, body: dict[str, Any]) -> Bucket:
        bucket = self.buckets.get(self._bucket_of(body))
        if bucket is None:
            raise not_found("vector bucket")
        return bucket

    def _index(self, body: dict[str, Any]) -> Index:
        arn, bucket_name, index_name = (
            body.get("indexArn"),
            body.get("vectorBucketName"),
            body.get("indexName"),
        )
        if (arn is not None and (bucket_name is not None or index_name is not None)) or (
            arn is None and (bucket_name is None or index_name is None)
        ):
            raise validation("Must specify either indexArn or both vectorBucketName and indexName")
        if arn is not None:
            match = ARN.match(arn)
            if not match or not match.group(4):
                raise validation("Invalid index ARN", "indexArn")
            bucket_name, index_name = match.group(3), match.group(4)
        bucket = self.buckets.get(str(bucket_name))
        index = bucket.indexes.get(str(index_name)) if bucket else None
        if index is None:  # also when the bucket is missing, as AWS answers
            raise not_found("index")
        return index

    # -- buckets -----------------------------------------------------------------------

    def CreateVectorBucket(self, body: dict[str, Any]) -> dict[str, Any]:
        name = body["vectorBucketName"]
        if not BUCKET_NAME.match(name):
            raise validation("Invalid vector bucket name", "vectorBucketName")
        if name in self.buckets:
            raise ServiceError(
                "ConflictException", "A vector bucket with the specified name already exists"
            )
        encryption = _encryption(body.get("encryptionConfiguration"), DEFAULT_ENCRYPTION)
        bucket = Bucket(name, self._bucket_arn(name), time.time(), encryption)
        self.buckets[name] = bucket
        return {"vectorBucketArn": bucket.arn}

    def GetVectorBucket(self, body: dict[str, Any]) -> dict[str, Any]:
        bucket = self._existing_bucket(body)
        return {
            "vectorBucket": {
                "vectorBucketName": bucket.name,
                "vectorBucketArn": bucket.arn,
                "creationTime": bucket.created,
                "encryptionConfiguration": bucket.encryption,
                "defaultIndexMode": bucket.default_mode,
            }
        }

    def backdate_bucket(self, name: str, created: float) -> None:
        """Not an AWS operation: make ``name`` a bucket created at ``created`` (before
        2026-09-30 it defaults to CLASSIC indexes), to test what older accounts see."""
        bucket = self.buckets[name]
        bucket.created = created
        bucket.default_mode = "CLASSIC" if bucket.legacy else "ENHANCED"

    def PutVectorBucketDefaultIndexMode(self, body: dict[str, Any]) -> dict[str, Any]:
        bucket = self._existing_bucket(body)
        mode = self._mode(body["defaultIndexMode"], bucket)
        bucket.default_mode = mode
        return {}

    @staticmethod
    def _mode(mode: str, bucket: Bucket) -> str:
        if mode == "CLASSIC" and not bucket.legacy:
            raise validation(
                "CLASSIC index mode is only supported for vector buckets created before "
                "September 30, 2026"
            )
        return mode

    def DeleteVectorBucket(self, body: dict[str, Any]) -> dict[str, Any]:
        name = self._bucket_of(body)
        bucket = self.buckets.get(name)
        if bucket is None:
            return {}  # AWS answers 200 for a bucket that is not there
        if bucket.indexes:
            raise ServiceError("ConflictException", "The specified vector bucket is not empty")
        del self.buckets[name]
        return {}

    def ListVectorBuckets(self, body: dict[str, Any]) -> dict[str, Any]:
        prefix = body.get("prefix", "")
        names = [n for n in self.buckets if n.startswith(prefix)]
        page, token = _page(names, body, 500)
        return _listing(
            "vectorBuckets",
            token,
            [
                {
                    "vectorBucketName": n,
                    "vectorBucketArn": self.buckets[n].arn,
                    "creationTime": self.buckets[n].created,
                }
                for n in page
            ],
        )

    # -- indexes -----------------------------------------------------------------------

    def CreateIndex(self, body: dict[str, Any]) -> dict[str, Any]:
        bucket = self._existing_bucket(body)
        name = body["indexName"]
        if not INDEX_NAME.match(name):
            raise validation("Invalid index name", "indexName")
        if name in bucket.indexes:
            raise ServiceError(
                "ConflictException", "An index with the specified name already exists"
            )
        config = body.get("metadataConfiguration") or {}
        text_fields = self._text_fields(config.get("textSearchConfigurations", []), {})
        if text_fields and bucket.default_mode != "ENHANCED":
            raise validation(
                "Full-text search requires a vector index in ENHANCED mode",
                "metadataConfiguration",
            )
        index = Index(
            bucket=bucket.name,
            name=name,
            arn=f"{bucket.arn}/index/{name}",
            created=time.time(),
            dimension=body["dimension"],
            metric=body["distanceMetric"],
            non_filterable=tuple(config.get("nonFilterableMetadataKeys", ())),
            encryption=_encryption(body.get("encryptionConfiguration"), bucket.encryption),
            mode=bucket.default_mode,
            text_fields=text_fields,
        )
        bucket.indexes[name] = index
        return {"indexArn": index.arn}

    @staticmethod
    def _text_fields(
        configurations: list[dict[str, Any]], existing: dict[str, TextField]
    ) -> dict[str, TextField]:
        fields = dict(existing)
        for configuration in configurations:
            name = configuration["metadataKey"]
            if name in fields:
                raise validation(
                    f"Duplicate text search configuration for metadata key '{name}'",
                    "textSearchConfigurations",
                )
            fields[name] = TextField(configuration.get("language"))
        return fields

    def UpdateIndexMode(self, body: dict[str, Any]) -> dict[str, Any]:
        index = self._index(body)
        bucket = self.buckets[index.bucket]
        mode = self._mode(body["indexMode"], bucket)
        if mode == "CLASSIC" and index.text_fields:
            raise validation("An index with full-text search configured must be ENHANCED")
        index.mode = mode
        return {}

    def UpdateMetadataConfiguration(self, body: dict[str, Any]) -> dict[str, Any]:
        index = self._index(body)
        add, delete = body.get("add"), body.get("delete")
        if (add is None) == (delete is None):
            raise validation("Specify either add or delete, but not both")
        if index.mode != "ENHANCED":
            raise validation("The vector index must be in ENHANCED mode")
        if add is not None:
            fields = self._text_fields(add.get("textSearchConfigurations", []), index.text_fields)
            for name in set(fields) - set(index.text_fields):  # the backfill, done at once
                for key, metadata in index.metadata.items():
                    fields[name].put(key, metadata.get(name))
        else:
            fields = dict(index.text_fields)
            for configuration in (delete or {}).get("textSearchConfigurations", []):
                if fields.pop(configuration["metadataKey"], None) is None:
                    raise validation(
                        f"No text search configuration for metadata key "
                        f"'{configuration['metadataKey']}'"
                    )
        index.text_fields = fields
        return {"indexArn": index.arn}

    def GetIndex(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"index": self._index(body).describe()}

    def DeleteIndex(self, body: dict[str, Any]) -> dict[str, Any]:
        index = self._index(body)
        del self.buckets[index.bucket].indexes[index.name]
        return {}

    def ListIndexes(self, body: dict[str, Any]) -> dict[str, Any]:
        bucket = self._existing_bucket(body)
        prefix = body.get("prefix", "")
        page, token = _page([n for n in bucket.indexes if n.startswith(prefix)], body, 500)
        return _listing(
            "indexes",
            token,
            [
                {
                    "vectorBucketName": bucket.name,
                    "indexName": n,
                    "indexArn": bucket.indexes[n].arn,
                    "creationTime": bucket.indexes[n].created,
                }
                for n in page
            ],
        )

    # -- vectors -----------------------------------------------------------------------

    @staticmethod
    def _check_keys(keys: list[str]) -> None:
        if any(len(k.encode("utf-8")) > rules.MAX_KEY_BYTES for k in keys):
            raise validation("Record key length exceeds the maximum allowed")

    def PutVectors(self, body: dict[str, Any]) -> dict[str, Any]:
        index = self._index(body)
        records = body["vectors"]
        self._check_keys([r["key"] for r in records])
        staged: list[tuple[str, NDArray[np.float32], dict[str, Any]]] = []
        for i, record in enumerate(records):  # validate every record, then write all
            key = record["key"]
            vector = _float32((record.get("data") or {}).get("float32"))
            if vector is None:
                raise validation(
                    f"Invalid record for key '{key}': vector data must be float32",
                    f"vectors[{i}].data",
                )
            if len(vector) != index.dimension:
                raise validation(
                    f"Invalid record for key '{key}': vector must have length "
                    f"{index.dimension}, but has length {len(vector)}",
                    f"vectors[{i}].data",
                )
            if not np.all(np.isfinite(vector)):
                raise validation(
                    f"Invalid record for key '{key}': vector contains NaNs or Infs",
                    f"vectors[{i}].data",
                )
            if index.metric == "cosine" and not np.any(vector):
                raise validation(
                    f"Invalid record for key '{key}': cosine distance does not support vectors "
                    "with zero norm",
                    f"vectors[{i}]",
                )
            metadata = record.get("metadata", {})
            problem = rules.metadata_problem(metadata, index.non_filterable)
            if problem:
                raise validation(
                    f"Invalid record for key '{key}': {problem}", f"vectors[{i}].metadata"
                )
            staged.append((key, vector, metadata))
        for key, vector, metadata in staged:
            index.vectors[key] = vector
            index.metadata[key] = metadata
            index.index_text(key, metadata)
        return {}

    def GetVectors(self, body: dict[str, Any]) -> dict[str, Any]:
        index = self._index(body)
        self._check_keys(body["keys"])
        # AWS omits absent keys and does not keep the request's order; neither do we.
        found = sorted({k for k in body["keys"] if k in index.vectors})
        return {"vectors": [self._describe(index, k, body) for k in found]}

    def DeleteVectors(self, body: dict[str, Any]) -> dict[str, Any]:
        index = self._index(body)
        self._check_keys(body["keys"])
        for key in body["keys"]:
            index.vectors.pop(key, None)
            if index.metadata.pop(key, None) is not None:
                index.index_text(key, None)
        return {}

    @staticmethod
    def _describe(index: Index, key: str, body: dict[str, Any]) -> dict[str, Any]:
        item: dict[str, Any] = {"key": key}
        if body.get("returnData"):
            item["data"] = {"float32": index.vectors[key].tolist()}
        if body.get("returnMetadata"):
            item["metadata"] = index.metadata[key]
        return item

    def ListVectors(self, body: dict[str, Any]) -> dict[str, Any]:
        index = self._index(body)
        count, segment = body.get("segmentCount"), body.get("segmentIndex")
        if (count is None) != (segment is None):
            raise validation("segmentCount and segmentIndex must be specified together")
        keys = list(index.vectors)
        if count is not None:
            if segment >= count:
                raise validation("segmentIndex must be less than segmentCount", "segmentIndex")
            keys = [k for k in keys if zlib.crc32(k.encode()) % count == segment]
        page, token = _page(keys, body, 500)
        return _listing("vectors", token, [self._describe(index, k, body) for k in page])

    def QueryVectors(self, body: dict[str, Any]) -> dict[str, Any]:
        if "nextToken" in body:
            raise validation("nextToken is not supported by this local server")
        index = self._index(body)
        check_range(body["topK"], 1, rules.MAX_TOP_K, "/topK")
        texts = body.get("queryTexts")
        if body.get("queryVector") is None and texts is None:
            raise validation("A request must include queryVector, queryTexts, or both")
        if body.get("queryMode", index.mode) == "CLASSIC" and index.mode == "ENHANCED":
            raise validation("You can't specify CLASSIC for an ENHANCED index.", "queryMode")
        if texts is not None:
            if index.mode != "ENHANCED" or body.get("queryMode") == "CLASSIC":
                raise validation(
                    "Full-text and hybrid searches require a vector index in ENHANCED mode",
                    "queryTexts",
                )
            keys_searched = [t["metadataKey"] for t in texts]
            if len(set(keys_searched)) != len(keys_searched):
                raise validation(
                    "Each entry must target a distinct searchable metadata key", "queryTexts"
                )
            for name in keys_searched:
                if name not in index.text_fields:
                    raise validation(
                        f"Metadata key '{name}' is not configured for full-text search",
                        "queryTexts",
                    )
        vector = None
        if body.get("queryVector") is not None:
            vector = _float32(body["queryVector"].get("float32"))
            if (
                vector is None
                or len(vector) != index.dimension
                or not np.all(np.isfinite(vector))
                or (index.metric == "cosine" and not np.any(vector))
            ):
                raise validation(
                    "Query vector contains invalid values or is invalid for this index", "vector"
                )
        node = body.get("filter")
        if node is not None:
            check_filter(node, index.non_filterable)
        top_k = body["topK"]

        def allowed(key: str) -> bool:
            return node is None or matches(node, index.metadata[key])

        if texts is None:
            assert vector is not None
            order = self._nearest(index, vector, allowed, top_k)
            return self._results(index, body, [(k, d, None, None) for k, d in order])
        depth = max(top_k, RRF_DEPTH)
        by_text = {
            t["metadataKey"]: index.text_fields[t["metadataKey"]].search(t["text"], allowed, depth)
            for t in texts
        }
        if vector is None:  # full text only: by BM25 (of the one key, or summed over keys)
            totals: dict[str, dict[str, float]] = {}
            for name, ranking in by_text.items():
                for key, score in ranking:
                    totals.setdefault(key, {})[name] = score
            ranked = sorted(totals, key=lambda key: (-sum(totals[key].values()), key))[:top_k]
            return self._results(index, body, [(k, None, totals[k], None) for k in ranked])
        nearest = self._nearest(index, vector, allowed, depth)
        fused = rrf([[k for k, _ in nearest]] + [[k for k, _ in r] for r in by_text.values()])
        distance = dict(nearest)
        bm25 = {
            key: {name: score for name, r in by_text.items() for k, score in r if k == key}
            for key in fused
        }
        ranked = sorted(fused, key=lambda key: (-fused[key], key))[:top_k]
        return self._results(index, body, [(k, distance.get(k), bm25[k], fused[k]) for k in ranked])

    @staticmethod
    def _nearest(
        index: Index, vector: NDArray[np.float32], allowed: Any, depth: int
    ) -> list[tuple[str, float]]:
        """The ``depth`` nearest keys that pass the filter (ENHANCED and CLASSIC alike: exact
        search returns what a pre-filter would), with their distances."""
        keys = [k for k in index.vectors if allowed(k)]
        if not keys:
            return []
        matrix = np.stack([index.vectors[k] for k in keys]).astype(np.float64)
        query = vector.astype(np.float64)
        if index.metric == "cosine":
            distances = 1.0 - (matrix @ query) / (
                np.linalg.norm(matrix, axis=1) * np.linalg.norm(query)
            )
        else:
            distances = np.linalg.norm(matrix - query, axis=1)
        order = np.lexsort((np.array(keys), distances))[:depth]
        return [(keys[i], float(np.float32(distances[i]))) for i in order]

    @staticmethod
    def _results(
        index: Index,
        body: dict[str, Any],
        ranked: list[tuple[str, float | None, dict[str, float] | None, float | None]],
    ) -> dict[str, Any]:
        """The response items: ``distance`` when the key was found by the vector search,
        ``scores`` (``returnScores``) for text and hybrid requests only."""
        hits = []
        for key, distance, bm25, fused in ranked:
            item: dict[str, Any] = {"key": key}
            if body.get("returnDistance") and distance is not None:
                item["distance"] = distance
            if body.get("returnMetadata"):
                item["metadata"] = index.metadata[key]
            if body.get("returnScores") and bm25 is not None:
                scores: dict[str, Any] = {
                    "bm25Scores": [{"metadataKey": n, "score": v} for n, v in bm25.items()]
                }
                if fused is not None:
                    scores["fused"] = fused
                    if distance is not None:
                        scores["vectorDistance"] = distance
                item["scores"] = scores
            hits.append(item)
        return {"vectors": hits, "distanceMetric": index.metric}


OPERATIONS = frozenset(
    {
        "CreateVectorBucket", "GetVectorBucket", "DeleteVectorBucket", "ListVectorBuckets",
        "CreateIndex", "GetIndex", "DeleteIndex", "ListIndexes",
        "PutVectors", "GetVectors", "ListVectors", "DeleteVectors", "QueryVectors",
        "PutVectorBucketDefaultIndexMode", "UpdateIndexMode", "UpdateMetadataConfiguration",
    }
)  # fmt: skip


def dumps(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()

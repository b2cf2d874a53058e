"""The documents bucket and the S3 Vectors index: where the app keeps originals (and, on
Option 1, its catalog) and vectors."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from rag_app.vectorstores.base import index_name
from rag_app.vectorstores.records import NON_FILTERABLE_FIELDS


@dataclass(frozen=True)
class DocumentBucketArgs:
    kms_key_arn: pulumi.Input[str] | None = None
    noncurrent_version_days: int = 90
    force_destroy: bool = False
    # Data an operator cannot recreate: `protect` (pulumi up/destroy refuse to delete it) and
    # retain_on_delete (removed from the program, it stays in the account).
    protect: bool = False
    expire_days: int | None = None  # current objects too (logs), not only old versions
    # More bucket-policy statements, from the bucket's ARN (a log-delivery service's write).
    extra_statements: Callable[[str], list[dict[str, Any]]] | None = None


def tls_only_statement(arn: str) -> dict[str, Any]:
    """The bucket-policy statement that refuses every request not made over TLS."""
    return {
        "Sid": "TlsOnly",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [arn, f"{arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def harden_bucket(
    name: str,
    bucket: aws.s3.Bucket,
    *,
    kms_key_arn: pulumi.Input[str] | None,
    parent: pulumi.Resource,
    bucket_key: bool = True,
) -> None:
    """What every bucket of the stack has: no public access, no ACLs (owner enforced),
    encryption at rest (the KMS key when given, else SSE-S3) and versioning. ``bucket_key``
    records S3 Bucket Keys in the encryption rule (fewer KMS requests); the audit bucket's
    rule was made without that field and keeps it absent."""
    child = pulumi.ResourceOptions(parent=parent)
    aws.s3.BucketPublicAccessBlock(
        name,
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=child,
    )
    aws.s3.BucketOwnershipControls(
        name, bucket=bucket.id, rule={"object_ownership": "BucketOwnerEnforced"}, opts=child
    )
    sse: dict[str, Any] = (
        {"sse_algorithm": "aws:kms", "kms_master_key_id": kms_key_arn}
        if kms_key_arn
        else {"sse_algorithm": "AES256"}
    )
    rule: dict[str, Any] = {"apply_server_side_encryption_by_default": sse}
    if bucket_key:
        rule["bucket_key_enabled"] = bool(kms_key_arn)
    aws.s3.BucketServerSideEncryptionConfiguration(name, bucket=bucket.id, rules=[rule], opts=child)
    aws.s3.BucketVersioning(
        name, bucket=bucket.id, versioning_configuration={"status": "Enabled"}, opts=child
    )


def tls_only_policy(
    name: str,
    bucket: aws.s3.Bucket,
    *,
    parent: pulumi.Resource,
    more: Callable[[str], list[dict[str, Any]]] | None = None,
) -> aws.s3.BucketPolicy:
    """The bucket's policy: ``tls_only_statement`` then the statements ``more`` makes from
    the bucket's ARN."""
    return aws.s3.BucketPolicy(
        name,
        bucket=bucket.id,
        policy=bucket.arn.apply(
            lambda arn: json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [tls_only_statement(arn), *(more(arn) if more else [])],
                }
            )
        ),
        opts=pulumi.ResourceOptions(parent=parent),
    )


class DocumentBucket(pulumi.ComponentResource):
    """Private, encrypted, versioned, TLS-only; old versions expire."""

    def __init__(
        self, name: str, args: DocumentBucketArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("rag:components:DocumentBucket", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.bucket = aws.s3.Bucket(
            name,
            force_destroy=args.force_destroy and not args.protect,
            opts=pulumi.ResourceOptions(
                parent=self, protect=args.protect, retain_on_delete=args.protect
            ),
        )
        harden_bucket(name, self.bucket, kms_key_arn=args.kms_key_arn, parent=self)
        aws.s3.BucketLifecycleConfiguration(
            name,
            bucket=self.bucket.id,
            rules=[
                {
                    "id": "expire-noncurrent-versions",
                    "status": "Enabled",
                    "filter": {},
                    "noncurrent_version_expiration": {
                        "noncurrent_days": args.noncurrent_version_days
                    },
                    "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
                    **(
                        {"expiration": {"days": args.expire_days}}
                        if args.expire_days is not None
                        else {}
                    ),
                }
            ],
            opts=child,
        )
        tls_only_policy(name, self.bucket, parent=self, more=args.extra_statements)
        self.register_outputs({"bucket": self.bucket.bucket, "arn": self.bucket.arn})


def vector_index_name(model_id: str, dimension: int) -> str:
    """The app's index name for a model and dimension (S3 Vectors allows no underscores)."""
    return index_name(model_id, dimension).replace("_", "-")


@dataclass(frozen=True)
class S3VectorIndexArgs:
    embedding_model_id: str
    dimension: int
    kms_key_arn: pulumi.Input[str] | None = None
    protect: bool = False
    # Indexes of earlier embedding models, kept (protected) until their vectors are copied
    # (`rag-app migrate copy`) or re-embedded: docs/deploy.md, "Changing the embedding model".
    previous_indexes: tuple[tuple[str, int], ...] = ()


class S3VectorIndex(pulumi.ComponentResource):
    """A vector bucket and the app's index: its name, dimension, metric and non-filterable
    keys come from the app's own code, so the two cannot disagree."""

    def __init__(
        self, name: str, args: S3VectorIndexArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("rag:components:S3VectorIndex", name, None, opts)
        encryption: list[dict[str, Any]] = (
            [{"sse_type": "aws:kms", "kms_key_arn": args.kms_key_arn}]
            if args.kms_key_arn
            else [{"sse_type": "AES256"}]
        )
        keep = pulumi.ResourceOptions(
            parent=self, protect=args.protect, retain_on_delete=args.protect
        )
        self.bucket = aws.s3.VectorsVectorBucket(
            name,
            vector_bucket_name=f"{pulumi.get_stack()}-{name}".lower()[:63],
            encryption_configurations=encryption,
            opts=keep,
        )

        def index(model_id: str, dimension: int) -> tuple[str, aws.s3.VectorsIndex]:
            # The Pulumi name is the index name: a new model or dimension declares a new
            # index beside the old one, never a replacement of it (which would delete every
            # vector); the old one stays while previous_indexes lists it, and protect makes
            # `pulumi up` stop rather than delete it when it is dropped from the list.
            index_name = vector_index_name(model_id, dimension)
            return index_name, aws.s3.VectorsIndex(
                index_name,
                vector_bucket_name=self.bucket.vector_bucket_name,
                index_name=index_name,
                data_type="float32",
                dimension=dimension,
                distance_metric="cosine",
                metadata_configuration={
                    "non_filterable_metadata_keys": list(NON_FILTERABLE_FIELDS)
                },
                encryption_configurations=encryption,
                opts=keep,
            )

        self.index_name, self.index = index(args.embedding_model_id, args.dimension)
        self.previous = [index(m, d)[1] for m, d in args.previous_indexes]
        self.register_outputs(
            {
                "vector_bucket_name": self.bucket.vector_bucket_name,
                "index_arn": self.index.index_arn,
            }
        )

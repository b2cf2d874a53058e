"""The audit trail's bucket on Option 1 (no database): S3 Object Lock in compliance mode.

Every object the app writes there is kept, unchangeable and undeletable by anyone (root
included), for ``retention_days``; versioning (which Object Lock needs) keeps an
overwritten key's earlier version. The app's role may only put and read objects under the
audit prefix (``app_policy_document(audit_bucket_arn=...)``); the bucket policy denies
everyone the actions that remove versions or loosen their retention. The policy rule
``audit-store-append-only`` (components/policies.py) holds every stack to this.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.storage import tls_only_statement

AUDIT_TAG = "rag:audit-trail"
# What no one may do to the audit objects (compliance mode refuses most of it anyway).
DENIED_TO_ALL = [
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:PutObjectRetention",
    "s3:PutObjectLegalHold",
    "s3:BypassGovernanceRetention",
]


@dataclass(frozen=True)
class AuditBucketArgs:
    retention_days: int = 2555  # seven years, a common legal hold period
    kms_key_arn: str | None = None


class AuditBucket(pulumi.ComponentResource):
    """Private, encrypted, versioned, TLS-only, Object Lock (compliance) by default."""

    def __init__(
        self, name: str, args: AuditBucketArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("rag:components:AuditBucket", name, None, opts)
        if args.retention_days < 1:
            raise ValueError("the audit retention must be at least one day")
        child = pulumi.ResourceOptions(parent=self)
        self.bucket = aws.s3.Bucket(
            name, object_lock_enabled=True, tags={AUDIT_TAG: "true"}, opts=child
        )
        aws.s3.BucketPublicAccessBlock(
            name,
            bucket=self.bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        aws.s3.BucketOwnershipControls(
            name,
            bucket=self.bucket.id,
            rule={"object_ownership": "BucketOwnerEnforced"},
            opts=child,
        )
        sse = (
            {"sse_algorithm": "aws:kms", "kms_master_key_id": args.kms_key_arn}
            if args.kms_key_arn
            else {"sse_algorithm": "AES256"}
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            name,
            bucket=self.bucket.id,
            rules=[{"apply_server_side_encryption_by_default": sse}],
            opts=child,
        )
        aws.s3.BucketVersioning(
            name, bucket=self.bucket.id, versioning_configuration={"status": "Enabled"}, opts=child
        )
        aws.s3.BucketObjectLockConfiguration(
            name,
            bucket=self.bucket.id,
            object_lock_enabled="Enabled",
            rule={"default_retention": {"mode": "COMPLIANCE", "days": args.retention_days}},
            opts=child,
        )
        aws.s3.BucketPolicy(
            name,
            bucket=self.bucket.id,
            policy=self.bucket.arn.apply(
                lambda arn: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            tls_only_statement(arn),
                            {
                                "Sid": "AppendOnly",
                                "Effect": "Deny",
                                "Principal": "*",
                                "Action": DENIED_TO_ALL,
                                "Resource": [f"{arn}/*"],
                            },
                        ],
                    }
                )
            ),
            opts=child,
        )
        self.register_outputs({"bucket": self.bucket.bucket, "arn": self.bucket.arn})

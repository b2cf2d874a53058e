"""The audit trail's bucket on Option 1 (no database): S3 Object Lock in compliance mode.

Every object the app writes there is kept, unchangeable and undeletable by anyone (root
included), for ``retention_days``; versioning (which Object Lock needs) keeps an
overwritten key's earlier version. The app's role may only put and read objects under the
audit prefix (``app_policy_document(audit_bucket_arn=...)``); the bucket policy denies
everyone the actions that remove versions or loosen their retention. The policy rule
``audit-store-append-only`` (components/policies.py) holds every stack to this.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.storage import harden_bucket, tls_only_policy

AUDIT_TAG = "rag:audit-trail"
# What no one may do to the audit objects (compliance mode refuses most of it anyway).
DENIED_TO_ALL = [
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:PutObjectRetention",
    "s3:PutObjectLegalHold",
    "s3:BypassGovernanceRetention",
]


def _append_only(arn: str) -> list[dict[str, Any]]:
    return [
        {
            "Sid": "AppendOnly",
            "Effect": "Deny",
            "Principal": "*",
            "Action": DENIED_TO_ALL,
            "Resource": [f"{arn}/*"],
        }
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
        harden_bucket(
            name, self.bucket, kms_key_arn=args.kms_key_arn, parent=self, bucket_key=False
        )
        aws.s3.BucketObjectLockConfiguration(
            name,
            bucket=self.bucket.id,
            object_lock_enabled="Enabled",
            rule={"default_retention": {"mode": "COMPLIANCE", "days": args.retention_days}},
            opts=child,
        )
        tls_only_policy(name, self.bucket, parent=self, more=_append_only)
        self.register_outputs({"bucket": self.bucket.bucket, "arn": self.bucket.arn})

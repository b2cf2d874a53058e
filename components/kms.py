"""The stack's customer-managed KMS key, when rag:documents.createKmsKey asks the program to
make one: rotating, administered by the account, and usable by S3 Vectors' background
indexing, which decrypts the index's data as the service principal
``indexing.s3vectors.amazonaws.com`` (without it CreateIndex/PutVectors fail with
"Insufficient access to perform asynchronous indexing":
https://docs.aws.amazon.com/AmazonS3/latest/userguide/s3-vectors-data-encryption.html).

An existing key given as rag:documents.kmsKeyArn keeps its own policy: the program cannot
edit it, so docs/deploy.md lists the statement (``indexing_statement``) to add to it."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws

INDEXING_PRINCIPAL = "indexing.s3vectors.amazonaws.com"


def indexing_statement(region: str, account: str) -> dict[str, Any]:
    return {
        "Sid": "S3VectorsIndexing",
        "Effect": "Allow",
        "Principal": {"Service": INDEXING_PRINCIPAL},
        "Action": "kms:Decrypt",
        "Resource": "*",  # in a key policy, "*" is this key
        "Condition": {
            "ArnLike": {"aws:SourceArn": f"arn:aws:s3vectors:{region}:{account}:bucket/*"},
            "StringEquals": {"aws:SourceAccount": account},
            "ForAnyValue:StringEquals": {
                "kms:EncryptionContextKeys": ["aws:s3vectors:arn", "aws:s3vectors:resource-id"]
            },
        },
    }


def key_policy(region: str, account: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AccountAdministers",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                },
                indexing_statement(region, account),
                {
                    "Sid": "CloudWatchLogsAndSns",
                    "Effect": "Allow",
                    "Principal": {"Service": [f"logs.{region}.amazonaws.com", "sns.amazonaws.com"]},
                    "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                    "Resource": "*",
                    "Condition": {"StringEquals": {"aws:SourceAccount": account}},
                },
            ],
        }
    )


class DataKey(pulumi.ComponentResource):
    """The stack's customer-managed key (rag:documents.createKmsKey)."""

    def __init__(
        self,
        name: str,
        region: str,
        account: str,
        *,
        protect: bool,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("rag:components:DataKey", name, None, opts)
        self.key = aws.kms.Key(
            name,
            description=f"rag-app {pulumi.get_stack()}: documents, vectors, secrets, database",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=key_policy(region, account),
            opts=pulumi.ResourceOptions(parent=self, protect=protect, retain_on_delete=protect),
        )
        self.arn: pulumi.Output[str] = self.key.arn
        self.register_outputs({"arn": self.arn})

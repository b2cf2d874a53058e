"""The app's IAM permissions, one shape for both options: what the app does, on exactly the
resources it does it to. Option 1 adds the S3 Vectors index; Option 2 adds the database
secret. The ECS task role and the EKS Pod Identity role both take this document."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi

# The app's RAG_BEDROCK_RERANK_MODEL_ID default; the one Rerank model offered in us-east-1.
RERANK_MODEL_ID = "cohere.rerank-v3-5:0"


@dataclass(frozen=True)
class AppGrants:
    region: str
    documents_bucket_arn: pulumi.Input[str]
    model_arns: pulumi.Input[list[str]]
    api_keys_secret_arn: pulumi.Input[str]
    vector_bucket_arn: pulumi.Input[str] | None = None  # Option 1
    vector_index_arn: pulumi.Input[str] | None = None  # Option 1
    database_secret_arn: pulumi.Input[str] | None = None  # the master login (init step only)
    # Option 2: arn:aws:rds-db:<region>:<account>:dbuser:<cluster-resource-id>/<user>
    database_user_arn: pulumi.Input[str] | None = None
    kms_key_arn: pulumi.Input[str] | None = None  # a customer-managed key for the data
    audit_bucket_arn: pulumi.Input[str] | None = None  # Option 1: the Object Lock bucket
    catalog_table_arn: pulumi.Input[str] | None = None  # Option 1: the DynamoDB catalog
    # Option 2: the web sign-in key the pods read (RAG_SESSION_SECRET_ID); Option 1's tasks
    # get it from the execution role instead (components/ecs_service.py).
    session_secret_arn: pulumi.Input[str] | None = None


# What DynamoDbCatalog calls (rag_app/catalog/dynamodb.py): single-item reads and
# conditional writes, and queries of its indexes. No Scan, no batch or transaction calls.
CATALOG_ACTIONS = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:Query")


def app_policy_document(
    region: str,
    documents_bucket_arn: str,
    model_arns: list[str],
    api_keys_secret_arn: str,
    vector_bucket_arn: str | None = None,
    vector_index_arn: str | None = None,
    database_secret_arn: str | None = None,
    database_user_arn: str | None = None,
    kms_key_arn: str | None = None,
    audit_bucket_arn: str | None = None,
    catalog_table_arn: str | None = None,
    session_secret_arn: str | None = None,
) -> str:
    statements: list[dict[str, Any]] = [
        {
            "Sid": "Documents",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
            "Resource": [f"{documents_bucket_arn}/*"],
        },
        {
            "Sid": "DocumentsList",
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": [documents_bucket_arn],
        },
        {
            "Sid": "Models",
            "Effect": "Allow",
            "Action": ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
            "Resource": model_arns,
        },
        {
            "Sid": "ApiKeys",
            "Effect": "Allow",
            "Action": ["secretsmanager:GetSecretValue"],
            "Resource": [api_keys_secret_arn],
        },
    ]
    # Textract's text detection and Transcribe's batch jobs have no resource-level
    # permissions: "*", held to the stack's region. They read the original from the
    # documents bucket with this role's own S3 access (the Documents statement).
    statements.append(
        {
            "Sid": "DocumentAnalysis",
            "Effect": "Allow",
            "Action": [
                "textract:StartDocumentTextDetection",
                "textract:GetDocumentTextDetection",
                "transcribe:StartTranscriptionJob",
                "transcribe:GetTranscriptionJob",
                "transcribe:DeleteTranscriptionJob",
            ],
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:RequestedRegion": region}},
        }
    )
    # Bedrock Rerank (RAG_RERANKER=bedrock): the standalone Rerank API needs bedrock:Rerank,
    # which has no resource type ("*", held to the region), and bedrock:InvokeModel on the
    # rerank model (docs: bedrock/latest/userguide/rerank-prereq).
    statements += [
        {
            "Sid": "Rerank",
            "Effect": "Allow",
            "Action": ["bedrock:Rerank"],
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:RequestedRegion": region}},
        },
        {
            "Sid": "RerankModel",
            "Effect": "Allow",
            "Action": ["bedrock:InvokeModel"],
            "Resource": [f"arn:aws:bedrock:{region}::foundation-model/{RERANK_MODEL_ID}"],
        },
    ]
    if vector_index_arn is not None and vector_bucket_arn is not None:
        statements += [
            {
                "Sid": "Vectors",
                "Effect": "Allow",
                "Action": [
                    "s3vectors:PutVectors",
                    "s3vectors:GetVectors",
                    "s3vectors:DeleteVectors",
                    "s3vectors:QueryVectors",
                    "s3vectors:ListVectors",
                    "s3vectors:GetIndex",
                    # The app turns on full-text search on its index at start (ENHANCED mode,
                    # ``text`` searchable): no Pulumi provider can declare it yet.
                    "s3vectors:UpdateIndexMode",
                    "s3vectors:UpdateMetadataConfiguration",
                ],
                "Resource": [vector_index_arn],
            },
            {
                "Sid": "VectorBucket",
                "Effect": "Allow",
                "Action": ["s3vectors:GetVectorBucket"],
                "Resource": [vector_bucket_arn],
            },
        ]
    if database_secret_arn is not None:
        statements.append(
            {
                "Sid": "DatabaseLogin",
                "Effect": "Allow",
                "Action": ["secretsmanager:GetSecretValue"],
                "Resource": [database_secret_arn],
            }
        )
    if session_secret_arn is not None:
        statements.append(
            {
                "Sid": "SessionSecret",
                "Effect": "Allow",
                "Action": ["secretsmanager:GetSecretValue"],
                "Resource": [session_secret_arn],
            }
        )
    if database_user_arn is not None:
        statements.append(
            {
                "Sid": "DatabaseConnect",
                "Effect": "Allow",
                "Action": ["rds-db:connect"],
                "Resource": [database_user_arn],
            }
        )
    if catalog_table_arn is not None:
        statements.append(
            {
                "Sid": "Catalog",
                "Effect": "Allow",
                "Action": list(CATALOG_ACTIONS),
                "Resource": [catalog_table_arn, f"{catalog_table_arn}/index/*"],
            }
        )
    if kms_key_arn is not None:
        via = KMS_VIA + (("dynamodb",) if catalog_table_arn is not None else ())
        statements.append(kms_statement(kms_key_arn, region, via))
    if audit_bucket_arn is not None:
        # Append and read only: no delete, no retention or legal-hold change, no bypass.
        statements += [
            {
                "Sid": "AuditAppend",
                "Effect": "Allow",
                "Action": ["s3:PutObject", "s3:GetObject"],
                "Resource": [f"{audit_bucket_arn}/audit/*"],
            },
            {
                "Sid": "AuditList",
                "Effect": "Allow",
                "Action": ["s3:ListBucket"],
                "Resource": [audit_bucket_arn],
            },
        ]
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


# The services that use the data key on the app's behalf: only through them may the role
# use the key (kms:ViaService), never directly.
KMS_VIA = ("s3", "s3vectors", "secretsmanager")


def kms_statement(key_arn: str, region: str, via: tuple[str, ...] = KMS_VIA) -> dict[str, Any]:
    return {
        "Sid": "DataKey",
        "Effect": "Allow",
        "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
        "Resource": [key_arn],
        "Condition": {
            "StringEquals": {
                "kms:ViaService": [f"{service}.{region}.amazonaws.com" for service in via]
            }
        },
    }


def allow(sid: str, actions: list[str], resources: list[str]) -> str:
    """A policy document of one Allow statement."""
    statement = {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def assume_role_policy(service: str, *, tag_session: bool = False) -> str:
    """A role's trust in one AWS service principal (Pod Identity also tags the session)."""
    actions = ["sts:AssumeRole", "sts:TagSession"] if tag_session else "sts:AssumeRole"
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": service}, "Action": actions}
            ],
        }
    )


def app_policy(grants: AppGrants) -> pulumi.Output[str]:
    return pulumi.Output.all(
        grants.region,
        grants.documents_bucket_arn,
        grants.model_arns,
        grants.api_keys_secret_arn,
        grants.vector_bucket_arn,
        grants.vector_index_arn,
        grants.database_secret_arn,
        grants.database_user_arn,
        grants.kms_key_arn,
        grants.audit_bucket_arn,
        grants.catalog_table_arn,
        grants.session_secret_arn,
    ).apply(lambda a: app_policy_document(*a))

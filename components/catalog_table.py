"""Option 1's catalog: one DynamoDB table (rag_app/catalog/dynamodb.py), on demand, with
point-in-time recovery, encryption and deletion protection, and the app's access to exactly
that table and its indexes."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from rag_app.catalog.dynamodb import table_definition

# What DynamoDbCatalog calls: single-item reads and conditional writes, and index queries.
CATALOG_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:DeleteItem",
    "dynamodb:Query",
)


@dataclass(frozen=True)
class CatalogReach:
    """Private subnets without internet reach DynamoDB through a gateway endpoint (free)."""

    region: str
    vpc_id: pulumi.Input[str]
    route_table_id: pulumi.Input[str]
    app_security_group_id: pulumi.Input[str]


@dataclass(frozen=True)
class CatalogTableArgs:
    kms_key_arn: str | None = None  # None: the AWS-owned key (still encrypted at rest)
    deletion_protection: bool = True
    reach: CatalogReach | None = None


class CatalogTable(pulumi.ComponentResource):
    """The table the app's catalog code defines (``table_definition``), declared here."""

    def __init__(
        self, name: str, args: CatalogTableArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("rag:components:CatalogTable", name, None, opts)
        definition = table_definition(name)
        self.table = aws.dynamodb.Table(
            name,
            billing_mode="PAY_PER_REQUEST",
            hash_key="pk",
            attributes=[
                {"name": a["AttributeName"], "type": a["AttributeType"]}
                for a in definition["AttributeDefinitions"]
            ],
            global_secondary_indexes=[
                {
                    "name": index["IndexName"],
                    "hash_key": index["KeySchema"][0]["AttributeName"],
                    "range_key": index["KeySchema"][1]["AttributeName"],
                    "projection_type": index["Projection"]["ProjectionType"],
                }
                for index in definition["GlobalSecondaryIndexes"]
            ],
            point_in_time_recovery={"enabled": True},
            server_side_encryption={
                "enabled": True,
                **({"kms_key_arn": args.kms_key_arn} if args.kms_key_arn else {}),
            },
            deletion_protection_enabled=args.deletion_protection,
            opts=pulumi.ResourceOptions(parent=self),
        )
        if args.reach is not None:
            self._reach(name, args.reach)
        self.register_outputs({"name": self.table.name, "arn": self.table.arn})

    def _reach(self, name: str, reach: CatalogReach) -> None:
        child = pulumi.ResourceOptions(parent=self)
        service = f"com.amazonaws.{reach.region}.dynamodb"
        aws.ec2.VpcEndpoint(
            f"{name}-dynamodb",
            vpc_id=reach.vpc_id,
            service_name=service,
            vpc_endpoint_type="Gateway",
            route_table_ids=[reach.route_table_id],
            opts=child,
        )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-app-to-dynamodb",
            security_group_id=reach.app_security_group_id,
            prefix_list_id=aws.ec2.get_managed_prefix_list_output(name=service).id,
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            opts=child,
        )

    def access_policy(self) -> pulumi.Output[str]:
        """The app's grant: the catalog's actions on this table and its indexes only."""
        policy: pulumi.Output[str] = self.table.arn.apply(catalog_policy_document)
        return policy


def catalog_policy_document(table_arn: str) -> str:
    statement = {
        "Sid": "Catalog",
        "Effect": "Allow",
        "Action": list(CATALOG_ACTIONS),
        "Resource": [table_arn, f"{table_arn}/index/*"],
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})

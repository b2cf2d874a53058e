"""Option 1's catalog: one DynamoDB table (rag_app/catalog/dynamodb.py), on demand, with
point-in-time recovery, encryption with the stack's data key (as the buckets and the vector
index are), deletion protection, and a gateway endpoint so the app's private subnets reach
it without NAT. The app's access (the table and its indexes only) is in its IAM policy
(components/app_policy.py, ``AppGrants.catalog_table_arn``). Option 2 keeps its catalog in
PostgreSQL: no table."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from rag_app.catalog.dynamodb import table_definition


@dataclass(frozen=True)
class CatalogReach:
    """Private subnets without internet reach DynamoDB through a gateway endpoint (free)."""

    region: str
    vpc_id: pulumi.Input[str]
    route_table_id: pulumi.Input[str]
    app_security_group_id: pulumi.Input[str]


@dataclass(frozen=True)
class CatalogTableArgs:
    kms_key_arn: pulumi.Input[str] | None = None  # None: the AWS managed key (aws/dynamodb)
    # Data an operator cannot recreate: deletion protection, `protect` and retain_on_delete
    # (off only on dev stacks, as for the buckets and the vector index).
    protect: bool = True
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
                **({"kms_key_arn": args.kms_key_arn} if args.kms_key_arn is not None else {}),
            },
            deletion_protection_enabled=args.protect,
            opts=pulumi.ResourceOptions(
                parent=self, protect=args.protect, retain_on_delete=args.protect
            ),
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

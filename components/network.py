"""The VPC: public subnets for the load balancer only, private subnets for tasks, pods and
the database, and VPC endpoints for every AWS API the app calls, so no NAT is needed."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

# Every option calls these; each option adds its own (components/deploy.py). S3 itself goes
# through the gateway endpoint (free); S3 Vectors needs its own interface endpoint
# (s3vectors.<region>.api.aws is not covered by the gateway).
COMMON_ENDPOINTS = (
    "bedrock-runtime",
    "secretsmanager",
    "ecr.api",
    "ecr.dkr",
    "logs",
    "sts",
    "textract",  # OCR of scanned pages
    "transcribe",  # speech to text for audio and video
    "sqs",  # the ingestion queue: the API sends, workers (and KEDA on Option 2) receive
)


@dataclass(frozen=True)
class NetworkArgs:
    region: str
    cidr_block: str
    availability_zones: list[str]
    nat_gateway: bool = False
    app_port: int = 8000
    interface_endpoints: tuple[str, ...] = COMMON_ENDPOINTS
    load_balanced_app: bool = True  # Option 1's ALB and task security groups
    tags: dict[str, str] = field(default_factory=dict)


class Network(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("rag:components:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        subnets = list(ipaddress.ip_network(args.cidr_block).subnets(new_prefix=20))
        self.vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=args.cidr_block,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags={**args.tags, "Name": f"{name}-vpc"},
            opts=child,
        )
        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=self.vpc.id, opts=child)
        public_routes = aws.ec2.RouteTable(
            f"{name}-public",
            vpc_id=self.vpc.id,
            routes=[{"cidr_block": "0.0.0.0/0", "gateway_id": igw.id}],
            opts=child,
        )
        self.public_subnets: list[aws.ec2.Subnet] = []
        self.private_subnets: list[aws.ec2.Subnet] = []
        for i, zone in enumerate(args.availability_zones):
            public = aws.ec2.Subnet(
                f"{name}-public-{i}",
                vpc_id=self.vpc.id,
                cidr_block=str(subnets[i]),
                availability_zone=zone,
                map_public_ip_on_launch=False,
                tags={**args.tags, "Name": f"{name}-public-{i}", "kubernetes.io/role/elb": "1"},
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-public-{i}",
                subnet_id=public.id,
                route_table_id=public_routes.id,
                opts=child,
            )
            private = aws.ec2.Subnet(
                f"{name}-private-{i}",
                vpc_id=self.vpc.id,
                cidr_block=str(subnets[8 + i]),
                availability_zone=zone,
                map_public_ip_on_launch=False,
                tags={
                    **args.tags,
                    "Name": f"{name}-private-{i}",
                    "kubernetes.io/role/internal-elb": "1",
                },
                opts=child,
            )
            self.public_subnets.append(public)
            self.private_subnets.append(private)
        self.private_route_table = aws.ec2.RouteTable(
            f"{name}-private", vpc_id=self.vpc.id, opts=child
        )
        if args.nat_gateway:
            eip = aws.ec2.Eip(f"{name}-nat", domain="vpc", opts=child)
            nat = aws.ec2.NatGateway(
                f"{name}-nat",
                subnet_id=self.public_subnets[0].id,
                allocation_id=eip.id,
                opts=child,
            )
            aws.ec2.Route(
                f"{name}-private-nat",
                route_table_id=self.private_route_table.id,
                destination_cidr_block="0.0.0.0/0",
                nat_gateway_id=nat.id,
                opts=child,
            )
        for i, private in enumerate(self.private_subnets):
            aws.ec2.RouteTableAssociation(
                f"{name}-private-{i}",
                subnet_id=private.id,
                route_table_id=self.private_route_table.id,
                opts=child,
            )

        self.endpoint_security_group = aws.ec2.SecurityGroup(
            f"{name}-endpoints",
            vpc_id=self.vpc.id,
            description="VPC endpoints: 443 from the app",
            opts=child,
        )
        self._app_groups: tuple[aws.ec2.SecurityGroup, aws.ec2.SecurityGroup] | None = None
        if args.load_balanced_app:
            self._app_groups = self._load_balanced_app_groups(name, args, child)
        self.s3_endpoint = aws.ec2.VpcEndpoint(
            f"{name}-s3",
            vpc_id=self.vpc.id,
            service_name=f"com.amazonaws.{args.region}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=[self.private_route_table.id],
            opts=child,
        )
        self.interface_endpoints = [
            aws.ec2.VpcEndpoint(
                f"{name}-{service.replace('.', '-')}",
                vpc_id=self.vpc.id,
                service_name=f"com.amazonaws.{args.region}.{service}",
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=[s.id for s in self.private_subnets],
                security_group_ids=[self.endpoint_security_group.id],
                opts=child,
            )
            for service in args.interface_endpoints
        ]
        self.register_outputs(
            {
                "vpc_id": self.vpc.id,
                "private_subnet_ids": [s.id for s in self.private_subnets],
                "public_subnet_ids": [s.id for s in self.public_subnets],
            }
        )

    @property
    def load_balancer_security_group(self) -> aws.ec2.SecurityGroup:
        assert self._app_groups is not None, "NetworkArgs.load_balanced_app is off"
        return self._app_groups[0]

    @property
    def app_security_group(self) -> aws.ec2.SecurityGroup:
        assert self._app_groups is not None, "NetworkArgs.load_balanced_app is off"
        return self._app_groups[1]

    def _load_balanced_app_groups(
        self, name: str, args: NetworkArgs, child: pulumi.ResourceOptions
    ) -> tuple[aws.ec2.SecurityGroup, aws.ec2.SecurityGroup]:
        """Option 1: the load balancer's group, and the tasks' group that admits only it and
        reaches only the endpoints and S3. (Option 2's ALB and pods get groups from EKS.)"""
        # Rules are standalone resources only (never inline ingress/egress blocks, which
        # would fight them over the group's rule set on every `pulumi up`).
        alb_security_group = aws.ec2.SecurityGroup(
            f"{name}-alb",
            vpc_id=self.vpc.id,
            description="Load balancer: HTTPS from clients",
            opts=child,
        )
        for port, what in ((443, "HTTPS"), (80, "HTTP, redirected to HTTPS")):
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-alb-{port}",
                security_group_id=alb_security_group.id,
                cidr_ipv4="0.0.0.0/0",
                ip_protocol="tcp",
                from_port=port,
                to_port=port,
                description=f"{what} from clients",
                opts=child,
            )
        app_security_group = aws.ec2.SecurityGroup(
            f"{name}-app",
            vpc_id=self.vpc.id,
            description="App: its port from the load balancer",
            opts=child,
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-app-from-alb",
            security_group_id=app_security_group.id,
            referenced_security_group_id=alb_security_group.id,
            ip_protocol="tcp",
            from_port=args.app_port,
            to_port=args.app_port,
            description="the app's port from the load balancer",
            opts=child,
        )
        if args.nat_gateway:
            # The minimal network profile: AWS APIs through the NAT gateway, HTTPS only.
            aws.vpc.SecurityGroupEgressRule(
                f"{name}-app-to-nat",
                security_group_id=app_security_group.id,
                cidr_ipv4="0.0.0.0/0",
                ip_protocol="tcp",
                from_port=443,
                to_port=443,
                description="AWS APIs over HTTPS through the NAT gateway",
                opts=child,
            )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-alb-to-app",
            security_group_id=alb_security_group.id,
            referenced_security_group_id=app_security_group.id,
            ip_protocol="tcp",
            from_port=args.app_port,
            to_port=args.app_port,
            opts=child,
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-endpoints-from-app",
            security_group_id=self.endpoint_security_group.id,
            referenced_security_group_id=app_security_group.id,
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            opts=child,
        )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-app-to-endpoints",
            security_group_id=app_security_group.id,
            referenced_security_group_id=self.endpoint_security_group.id,
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            opts=child,
        )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-app-to-s3",
            security_group_id=app_security_group.id,
            prefix_list_id=aws.ec2.get_managed_prefix_list_output(
                name=f"com.amazonaws.{args.region}.s3"
            ).id,
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            opts=child,
        )
        return alb_security_group, app_security_group

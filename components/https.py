"""The service's HTTPS: an ACM certificate validated by DNS in the Route 53 zone named in
config (or an existing certificate's ARN), and a DNS record pointing the service's name at
its load balancer. TLS 1.3 listener policy and the HTTP -> HTTPS redirect are the load
balancer's (ecs_service.py; the Ingress's on EKS)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.config import HttpsConfig

TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"


@dataclass(frozen=True)
class HttpsArgs:
    config: HttpsConfig


class Https(pulumi.ComponentResource):
    """``certificate_arn`` is usable (validated) once set; ``domain_name`` may be None when
    only a certificate ARN is given (then the operator points DNS at the service)."""

    def __init__(
        self, name: str, args: HttpsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("rag:components:Https", name, None, opts)
        cfg = args.config
        child = pulumi.ResourceOptions(parent=self)
        self.domain_name = cfg.domain_name
        self.zone_id: pulumi.Output[str] | None = None
        if cfg.hosted_zone:
            self.zone_id = aws.route53.get_zone_output(
                name=cfg.hosted_zone, private_zone=False
            ).zone_id
        if cfg.certificate_arn:
            self.certificate_arn: pulumi.Output[str] = pulumi.Output.from_input(cfg.certificate_arn)
        else:
            # HttpsConfig.configured: a name and its zone when no certificate is given.
            assert cfg.domain_name is not None
            assert self.zone_id is not None
            certificate = aws.acm.Certificate(
                name,
                domain_name=cfg.domain_name,
                validation_method="DNS",
                opts=child,
            )
            option = certificate.domain_validation_options.apply(lambda options: options[0])
            record = aws.route53.Record(
                f"{name}-validation",
                zone_id=self.zone_id,
                name=option.apply(lambda o: o.resource_record_name or ""),
                type=option.apply(lambda o: o.resource_record_type or "CNAME"),
                records=[option.apply(lambda o: o.resource_record_value or "")],
                ttl=60,
                allow_overwrite=True,
                opts=child,
            )
            validation = aws.acm.CertificateValidation(
                name,
                certificate_arn=certificate.arn,
                validation_record_fqdns=[record.fqdn],
                opts=child,
            )
            self.certificate_arn = validation.certificate_arn
        self.register_outputs({"certificate_arn": self.certificate_arn})

    def alias(
        self, name: str, dns_name: pulumi.Input[str], zone_id: pulumi.Input[str]
    ) -> aws.route53.Record | None:
        """An A alias from the service's name to a load balancer (when a zone is set)."""
        if self.zone_id is None or self.domain_name is None:
            return None
        return aws.route53.Record(
            name,
            zone_id=self.zone_id,
            name=self.domain_name,
            type="A",
            aliases=[{"name": dns_name, "zone_id": zone_id, "evaluate_target_health": True}],
            opts=pulumi.ResourceOptions(parent=self),
        )

    def cname(self, name: str, hostname: pulumi.Input[str]) -> aws.route53.Record | None:
        """A CNAME from the service's name to a hostname the program does not own (the ALB
        EKS Auto Mode creates for the Ingress)."""
        if self.zone_id is None or self.domain_name is None:
            return None
        return aws.route53.Record(
            name,
            zone_id=self.zone_id,
            name=self.domain_name,
            type="CNAME",
            records=[hostname],
            ttl=60,
            opts=pulumi.ResourceOptions(parent=self),
        )

"""Edge protection for the internet-facing ALB: an AWS WAF web ACL (regional) with a
rate-based rule per client IP (the app's own rate limit is per process, so it cannot hold
a flood across tasks) and AWS's managed rule groups: IP reputation, known bad inputs and
the core rule set.

The core rule set's SizeRestrictions_BODY blocks any body over 8 KB, i.e. every PDF upload;
it is set to count, and a rule after it blocks what it labels unless the request is an
upload (POST /documents), whose size the app limits itself (RAG_MAX_UPLOAD_BYTES).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.config import WafConfig

MANAGED_GROUPS = (
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesCommonRuleSet",
)
BODY_SIZE_RULE = "SizeRestrictions_BODY"
BODY_SIZE_LABEL = "awswaf:managed:aws:core-rule-set:SizeRestrictions_Body"
UPLOAD_PATH = "/documents"


def _visibility(name: str) -> dict[str, Any]:
    return {
        "cloudwatch_metrics_enabled": True,
        "metric_name": name,
        "sampled_requests_enabled": True,
    }


def web_acl_rules(config: WafConfig) -> list[dict[str, Any]]:
    """The web ACL's rules, in priority order (pure, for the tests)."""
    rules: list[dict[str, Any]] = [
        {
            "name": "rate-limit-per-ip",
            "priority": 0,
            "action": {"block": {}},
            "statement": {
                "rate_based_statement": {
                    "limit": config.rate_limit,
                    "aggregate_key_type": "IP",
                    "evaluation_window_sec": config.evaluation_window_seconds,
                }
            },
            "visibility_config": _visibility("rate-limit-per-ip"),
        }
    ]
    for priority, group in enumerate(MANAGED_GROUPS, start=1):
        statement: dict[str, Any] = {"name": group, "vendor_name": "AWS"}
        if group == "AWSManagedRulesCommonRuleSet":
            statement["rule_action_overrides"] = [
                {"name": BODY_SIZE_RULE, "action_to_use": {"count": {}}}
            ]
        rules.append(
            {
                "name": group,
                "priority": priority,
                "override_action": {"none": {}},
                "statement": {"managed_rule_group_statement": statement},
                "visibility_config": _visibility(group),
            }
        )
    rules.append(
        {
            "name": "body-size-outside-uploads",
            "priority": len(rules),
            "action": {"block": {}},
            "statement": {
                "and_statement": {
                    "statements": [
                        {"label_match_statement": {"scope": "LABEL", "key": BODY_SIZE_LABEL}},
                        {
                            "not_statement": {
                                "statements": [
                                    {
                                        "byte_match_statement": {
                                            "field_to_match": {"uri_path": {}},
                                            "positional_constraint": "STARTS_WITH",
                                            "search_string": UPLOAD_PATH,
                                            "text_transformations": [
                                                {"priority": 0, "type": "NONE"}
                                            ],
                                        }
                                    }
                                ]
                            }
                        },
                    ]
                }
            },
            "visibility_config": _visibility("body-size-outside-uploads"),
        }
    )
    return rules


@dataclass(frozen=True)
class EdgeProtectionArgs:
    config: WafConfig


class EdgeProtection(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: EdgeProtectionArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("rag:components:EdgeProtection", name, None, opts)
        self.web_acl = aws.wafv2.WebAcl(
            name,
            scope="REGIONAL",
            default_action={"allow": {}},
            rules=web_acl_rules(args.config),
            visibility_config=_visibility(f"{pulumi.get_stack()}-{name}"),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.arn: pulumi.Output[str] = self.web_acl.arn
        self.register_outputs({"arn": self.arn})

    def protect(self, name: str, load_balancer_arn: pulumi.Input[str]) -> None:
        """Associate the web ACL with a load balancer the program owns (ECS)."""
        aws.wafv2.WebAclAssociation(
            name,
            resource_arn=load_balancer_arn,
            web_acl_arn=self.arn,
            opts=pulumi.ResourceOptions(parent=self),
        )

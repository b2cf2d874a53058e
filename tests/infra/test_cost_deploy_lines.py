"""The cost model's lines for the deploy-true stacks, each against a figure worked by hand
from the price table: WAF, alarms, AWS Backup, the EKS support tier, both network profiles."""

from __future__ import annotations

from decimal import Decimal

import pytest

from rag_app.cost import estimate, load_prices
from rag_app.cost.lines import OptionEstimate, cents
from rag_app.cost.scenario import Scenario


def _lines(scenario: Scenario, option: int) -> dict[str, Decimal]:
    result: OptionEstimate = estimate(scenario, load_prices())[option - 1]
    return {x.item: cents(x.usd) for x in result.monthly}


@pytest.mark.parametrize("option", [1, 2])
def test_waf_is_the_web_acl_its_five_rules_and_its_requests(option: int) -> None:
    lines = _lines(Scenario(), option)
    # $5.00 per web ACL + 5 rules x $1.00 + 0.1 million requests x $0.60 = $10.06
    assert lines["WAF web ACL"] + lines["WAF rules"] + lines["WAF requests"] == Decimal("10.06")


def test_alarms_and_backup_per_option() -> None:
    one, two = _lines(Scenario(), 1), _lines(Scenario(), 2)
    assert one["CloudWatch alarms"] == Decimal("0.90")  # 9 x $0.10
    assert two["CloudWatch alarms"] == Decimal("0.80")  # 8 x $0.10
    assert one["AWS Backup"] == Decimal("0.05")  # 1 GB of S3 backup x $0.05
    assert two["AWS Backup"] == Decimal("0.02")  # 1 GB of Aurora snapshot x $0.021


def test_extended_support_adds_365_dollars_a_month() -> None:
    standard = _lines(Scenario(), 2)["EKS control plane"]
    extended = _lines(Scenario.model_validate({"eks": {"extended_support": True}}), 2)[
        "EKS control plane"
    ]
    assert standard == Decimal("73.00")  # 730 h x $0.10
    assert extended == Decimal("438.00")  # 730 h x $0.60
    assert extended - standard == Decimal("365.00")


def test_the_minimal_network_trades_endpoints_for_one_nat_gateway() -> None:
    full = _lines(Scenario(), 1)
    minimal = _lines(Scenario.model_validate({"network": {"endpoints": "minimal"}}), 1)
    assert full["VPC interface endpoints"] == Decimal("160.60")  # 11 x 2 AZs x 730 h x $0.01
    assert "NAT gateway" not in full
    assert minimal["VPC interface endpoints"] == Decimal("0.00")
    assert minimal["NAT gateway"] == Decimal("32.85")  # 730 h x $0.045
    # The NAT gateway's public address: 3 instead of 2 x 730 h x $0.005.
    assert minimal["Public IPv4 addresses"] - full["Public IPv4 addresses"] == Decimal("3.65")
    eks_full = _lines(Scenario(), 2)["VPC interface endpoints"]
    assert eks_full == Decimal("189.80")  # 13 x 2 AZs x 730 h x $0.01

"""The cost model's lines for the deploy-true stacks, each against a figure worked by hand
from the price table: WAF, alarms, AWS Backup, the EKS support tier, both network profiles."""

from __future__ import annotations

from decimal import Decimal

import pytest

from rag_app.cost import estimate, load_prices
from rag_app.cost.lines import OptionEstimate, cents
from rag_app.cost.scenario import Scenario
from rag_app.errors import InvalidInputError


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
    assert one["CloudWatch alarms"] == Decimal("1.20")  # 12 x $0.10
    assert two["CloudWatch alarms"] == Decimal("1.30")  # 13 x $0.10
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


def test_cognito_bills_only_users_beyond_the_free_allowance() -> None:
    few = _lines(Scenario(), 1)
    assert few["Cognito user pool (Essentials)"] == Decimal("0.00")  # 20 MAU of 10,000 free
    many = _lines(Scenario.model_validate({"auth": {"monthly_active_users": 12_000}}), 2)
    assert many["Cognito user pool (Essentials)"] == Decimal("30.00")  # 2,000 x $0.015
    off = _lines(Scenario.model_validate({"auth": {"cognito": False}}), 1)
    assert "Cognito user pool (Essentials)" not in off


def test_workers_are_paid_for_the_hours_jobs_keep_them_running() -> None:
    one, two = _lines(Scenario(), 1), _lines(Scenario(), 2)
    # 20 documents x 2 min + 20 bursts x 15 min = 340 min = 5.667 h of a 2 vCPU / 8 GB task:
    # 11.33 vCPU-h x $0.03238 = $0.37 and 45.33 GB-h x $0.00356 = $0.16 (ARM64).
    assert one["Ingestion workers' vCPU"] == Decimal("0.37")
    assert one["Ingestion workers' memory"] == Decimal("0.16")
    # The same hours of an m6a.large ($0.0864) and its Auto Mode fee ($0.010368).
    assert two["Ingestion worker nodes"] == Decimal("0.49")
    assert two["Ingestion worker nodes' Auto Mode fee"] == Decimal("0.06")
    none = _lines(Scenario.model_validate({"corpus": {"documents_added_per_month": 0}}), 1)
    assert none["Ingestion workers' vCPU"] == Decimal("0.00")


def test_sqs_counts_jobs_worker_hours_and_kedas_polls() -> None:
    one = estimate(Scenario(), load_prices())[0]
    two = estimate(Scenario(), load_prices())[1]
    (sqs1,) = [x for x in one.monthly if x.item == "SQS requests"]
    (sqs2,) = [x for x in two.monthly if x.item == "SQS requests"]
    # 20 jobs x (3 + 3 renewals in 2 min) + 5.667 h x 480 = 2,840 requests;
    # Option 2 adds KEDA's 240 an hour x 730 h = 175,200.
    assert sqs1.quantity * 1_000_000 == Decimal(2_840)
    assert sqs2.quantity * 1_000_000 == Decimal(2_840 + 175_200)


def test_a_worker_pod_that_fits_no_node_is_refused() -> None:
    big = Scenario.model_validate(
        {"workers": {"pod_memory": "8Gi", "node_instance_type": "m6a.large"}}
    )
    with pytest.raises(InvalidInputError, match="does not fit"):
        estimate(big, load_prices())

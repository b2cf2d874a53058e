"""The cost model: AWS's S3 Vectors worked examples to the cent, hand-checked Fargate and
Aurora lines, the defaults against what the ecs and eks stacks deploy, bad inputs refused with a
message naming them, and the README's estimate equal to the command's output."""

from __future__ import annotations

import dataclasses
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from rag_app.api.schemas import AskIn
from rag_app.cli import main
from rag_app.cost import estimate, load_prices, load_scenario, markdown
from rag_app.cost.lines import OptionEstimate, cents
from rag_app.cost.prices import PriceTable, RegionPrices
from rag_app.cost.s3vectors import VectorShape, monthly_usage, storage_and_query_lines
from rag_app.cost.scenario import Indexing, Scenario, cpu_quantity, memory_gib
from rag_app.cost.workload import chunks_of, embedded_characters, workload
from rag_app.errors import InvalidInputError

ROOT = Path(__file__).resolve().parents[2]
D = Decimal


@pytest.fixture(scope="module")
def table() -> PriceTable:
    return load_prices()


@pytest.fixture(scope="module")
def prices(table: PriceTable) -> RegionPrices:
    return table.region("us-east-1")


def line_usd(option: OptionEstimate, item: str) -> Decimal:
    (found,) = [x for x in option.monthly if x.item == item]
    return cents(found.usd)


def options(scenario: Scenario, table: PriceTable) -> dict[str, OptionEstimate]:
    return {e.option: e for e in estimate(scenario, table)}


# --- S3 Vectors: the two worked examples of the S3 pricing page (Vectors tab), as copied in
# forattini-dev/s3db.js docs/attachments/aws-s3-costs-3-vectors.md. Both use vectors of
# 4 KB data (1,024 dimensions) + 1 KB filterable + 1 KB non-filterable metadata + a 0.17 KB
# key = 6.17 KB, in 40 indexes, with a sixth of the data re-uploaded each month.
EXAMPLE_SHAPE = VectorShape(
    dimension=1024,
    key_bytes=D("0.17") * 1024,
    filterable_bytes=D(1024),
    non_filterable_bytes=D(1024),
)


def example_lines(prices: RegionPrices, vectors_per_index: int, queries: int) -> list[Decimal]:
    usage = monthly_usage(
        prices,
        EXAMPLE_SHAPE,
        indexes=40,
        vectors_per_index=D(vectors_per_index),
        vectors_put=40 * D(vectors_per_index) / 6,
        queries=D(queries),
    )
    return [x.usd for x in storage_and_query_lines(prices, usage)]


def test_s3_vectors_reproduces_aws_example_2_line_by_line(prices: RegionPrices) -> None:
    # 40 indexes x 10 M vectors, 10 M queries a month. The page: storage $141.22, PUT
    # $78.46, tier 1 $19.26, tier 2 $953.36, API $25.00 (queries $997.62), total $1,217.29.
    # Its lines sum to $1,217.30; its total is the rounded sum of the exact lines, as ours.
    storage, put, calls, tier1, tier2 = example_lines(prices, 10_000_000, 10_000_000)
    assert [cents(x) for x in (storage, put, tier1, tier2, calls)] == [
        D("141.22"),
        D("78.46"),
        D("19.26"),
        D("953.36"),
        D("25.00"),
    ]
    assert cents(calls + tier1 + tier2) == D("997.62")
    assert cents(storage + put + calls + tier1 + tier2) == D("1217.29")


def test_s3_vectors_reproduces_aws_example_1_from_the_pages_59_gb(
    prices: RegionPrices,
) -> None:
    # 40 indexes x 250,000 vectors, 1 M queries a month. The page: storage $3.54, PUT $1.97,
    # tier 1 $1.93, tier 2 $1.44, API $2.50, total $11.38. Its storage and PUT lines price
    # "59 GB": 10 M x 6.17 KB is 58.84 GB, which the page rounds before multiplying (in
    # example 2 it prints 2,354 GB but prices 2,353.67). The query lines need no rounding.
    usage = monthly_usage(
        prices,
        EXAMPLE_SHAPE,
        indexes=40,
        vectors_per_index=D(250_000),
        vectors_put=D(10_000_000) / 6,
        queries=D(1_000_000),
    )
    assert round(usage.stored_gb, 2) == D("58.84")
    exact = storage_and_query_lines(prices, usage)
    assert [cents(x.usd) for x in exact[2:]] == [D("2.50"), D("1.93"), D("1.44")]
    assert cents(sum((x.usd for x in exact), D(0))) == D("11.36")

    as_the_page = dataclasses.replace(usage, stored_gb=D(59), put_gb=D(59) / 6)
    lines = storage_and_query_lines(prices, as_the_page)
    assert [cents(x.usd) for x in lines[:2]] == [D("3.54"), D("1.97")]
    assert cents(sum((x.usd for x in lines), D(0))) == D("11.38")


def test_s3_vectors_query_processing_is_tiered_by_index_size(prices: RegionPrices) -> None:
    small = monthly_usage(
        prices,
        EXAMPLE_SHAPE,
        indexes=1,
        vectors_per_index=D(80_000),
        vectors_put=D(0),
        queries=D(1),
    )
    assert small.processed_tb_rest == 0
    assert small.processed_tb_first == 80_000 * EXAMPLE_SHAPE.query_bytes / D(2**40)
    big = monthly_usage(
        prices,
        EXAMPLE_SHAPE,
        indexes=1,
        vectors_per_index=D(300_000),
        vectors_put=D(0),
        queries=D(1),
    )
    assert big.processed_tb_first * 2 == big.processed_tb_rest  # 100k in tier 1, 200k beyond


def test_s3_vectors_refuses_more_vectors_than_one_index_holds(prices: RegionPrices) -> None:
    with pytest.raises(InvalidInputError, match="2,000,000,000"):
        monthly_usage(
            prices,
            EXAMPLE_SHAPE,
            indexes=1,
            vectors_per_index=D(2_000_000_001),
            vectors_put=D(0),
            queries=D(0),
        )


# --- Hand-checked lines.


def test_fargate_lines_by_hand(table: PriceTable) -> None:
    # The ecs stack's task: 1 vCPU (1024 units), 2 GB (2048 MiB), ARM64, 1 task, 730 h.
    # vCPU: 1 x 730 x $0.03238 = $23.6374 -> $23.64; memory: 2 x 730 x $0.00356 = $5.1976
    # -> $5.20; together $28.835 -> $28.84.
    option_1 = options(Scenario(), table)["1"]
    assert line_usd(option_1, "Fargate vCPU") == D("23.64")
    assert line_usd(option_1, "Fargate memory") == D("5.20")
    both = [x.usd for x in option_1.monthly if x.item.startswith("Fargate")]
    assert cents(sum(both, D(0))) == D("28.84")


def test_fargate_reproduces_the_research_notes_half_vcpu_task(table: PriceTable) -> None:
    # Notes A2: 0.5 vCPU / 1 GB all month is $18.02 on x86 and $14.42 on ARM.
    # x86: (0.5 x $0.04048 + 1 x $0.004445) x 730 = $0.024685 x 730 = $18.02005.
    # ARM: (0.5 x $0.03238 + 1 x $0.00356) x 730 = $0.01975 x 730 = $14.4175.
    for arch, expected in (("X86_64", "18.02"), ("ARM64", "14.42")):
        scenario = load_scenario(
            overrides=["ecs.cpu=512", "ecs.memory=1024", f"ecs.cpu_architecture={arch}"]
        )
        option_1 = options(scenario, table)["1"]
        fargate = [x.usd for x in option_1.monthly if x.item.startswith("Fargate")]
        assert cents(sum(fargate, D(0))) == D(expected)


def test_aurora_serverless_v2_line_by_hand(table: PriceTable) -> None:
    # Never paused at the 0.5 ACU floor: 0.5 x 730 h x $0.12 = $43.80 (notes A2: 43.8).
    option_2 = options(Scenario(), table)["2"]
    assert line_usd(option_2, "Aurora Serverless v2 capacity") == D("43.80")
    # Auto-pause, awake 220 h a month at 1.5 ACU: 1.5 x 220 x $0.12 = $39.60.
    paused = load_scenario(
        overrides=[
            "eks.aurora_min_acu=0",
            "eks.aurora_average_acu=1.5",
            "eks.aurora_active_hours_per_month=220",
        ]
    )
    assert line_usd(options(paused, table)["2"], "Aurora Serverless v2 capacity") == D("39.60")


def test_fixed_lines_by_hand(table: PriceTable) -> None:
    both = options(Scenario(), table)
    # 11 interface endpoints x 2 AZs x 730 h x $0.01 = $160.60; EKS 730 x $0.10 = $73.00;
    # c6a.large 730 x $0.0765 = $55.845 -> $55.85; ALB 730 x $0.0225 = $16.425 -> $16.43.
    assert line_usd(both["1"], "VPC interface endpoints") == D("160.60")
    assert line_usd(both["2"], "EKS control plane") == D("73.00")
    assert line_usd(both["2"], "EC2 nodes") == D("55.85")
    assert line_usd(both["1"], "Load balancer (ALB)") == D("16.43")
    # Option 2's 13 endpoints: 13 x 2 x 730 x $0.01 = $189.80.
    assert line_usd(both["2"], "VPC interface endpoints") == D("189.80")


def test_option_2_fixed_extras_by_hand(table: PriceTable) -> None:
    option_2 = options(Scenario(), table)["2"]
    # 12 GB of control-plane logs x $0.50 = $6.00, kept 30 days: 12 GB-months x $0.03.
    assert line_usd(option_2, "CloudWatch Logs ingestion, EKS control plane") == D("6.00")
    assert line_usd(option_2, "CloudWatch Logs storage, EKS control plane") == D("0.36")
    assert line_usd(option_2, "KMS keys") == D("1.00")
    # The RDS-managed database login, the API keys and the web sign-in key: 3 x $0.40;
    # Option 1 holds three too (the API keys, the one-off migration's source URL, sign-in).
    assert line_usd(option_2, "Secrets Manager") == D("1.20")
    assert line_usd(options(Scenario(), table)["1"], "Secrets Manager") == D("1.20")
    # Auto Mode's fee: 730 h x $0.00918 = $6.7014; the 80 GB node volume: $6.40.
    assert line_usd(option_2, "EKS Auto Mode management") == D("6.70")
    assert line_usd(option_2, "Node volumes (gp3)") == D("6.40")


def test_aurora_backups_cost_only_what_is_written_in_the_window(table: PriceTable) -> None:
    def backup_gb(*overrides: str) -> Decimal:
        option_2 = options(load_scenario(overrides=list(overrides)), table)["2"]
        (found,) = [x for x in option_2.monthly if x.item == "Aurora backups"]
        return found.quantity

    assert (
        backup_gb("corpus.documents_added_per_month=0", "corpus.media_hours_added_per_month=0") == 0
    )
    week = backup_gb()
    assert week > 0
    # Five times the retention window, five times the billed backup.
    assert round(backup_gb("eks.aurora_backup_retention_days=35"), 12) == round(5 * week, 12)


# --- The workload.


def test_chunk_counts_follow_the_chunker_rules() -> None:
    ix = Indexing(chunk_size=1000, chunk_overlap=150)
    assert chunks_of(D(0), ix) == 0
    assert chunks_of(D(1000), ix) == 1
    assert chunks_of(D(1001), ix) == 2
    assert chunks_of(D(1850), ix) == 2
    assert chunks_of(D(1851), ix) == 3
    # Three chunks of one page embed the page plus two overlaps.
    assert embedded_characters(D(2350), ix) == 2350 + 2 * 150
    assert embedded_characters(D(0), ix) == 0


def test_the_seed_scenario_in_billing_units() -> None:
    work = workload(Scenario())
    # 40,000 pages of 2,350 characters: 3 chunks each; 100 h of 42,300 characters: 50 each.
    assert work.vectors == 40_000 * 3 + 100 * 50
    # A record as the S3 Vectors store writes it: key "<32 hex>#<n>", filterable
    # document_id, collection and page.
    assert work.shape.key_bytes == 36
    assert work.shape.filterable_bytes == 4 + (8 + 11 + 32) + (8 + 10 + 7) + (8 + 4 + 4)
    assert work.queries == 4400


def test_more_questions_cost_more_only_per_question(table: PriceTable) -> None:
    base = options(Scenario(), table)["1"]
    busy = options(load_scenario(overrides=["usage.queries_per_month=44000"]), table)["1"]
    changed = {a.item for a, b in zip(base.monthly, busy.monthly, strict=True) if a.usd != b.usd}
    assert changed == {
        "S3 Vectors query calls",
        "S3 Vectors data processed, first tier",
        "S3 Vectors data processed, beyond the first tier",
        "Bedrock embeddings",
        "Bedrock answers, input",
        "Bedrock answers, output",
        "S3 requests",  # each question's conversation records (Option 1 keeps them in S3)
    }
    assert busy.monthly_usd > base.monthly_usd
    assert busy.one_off_usd == base.one_off_usd


def test_bedrock_rerank_costs_one_query_per_question_only_when_chosen(table: PriceTable) -> None:
    base = options(Scenario(), table)["1"]
    assert not [x for x in base.monthly if x.item == "Bedrock Rerank"]  # RAG_RERANKER=none
    for model, per_thousand in (("cohere.rerank-v3-5:0", "2.00"), ("amazon.rerank-v1:0", "1.00")):
        scenario = load_scenario(
            overrides=["usage.reranker=bedrock", f"usage.rerank_model={model}"]
        )
        reranked = options(scenario, table)["1"]
        (rerank,) = [x for x in reranked.monthly if x.item == "Bedrock Rerank"]
        assert rerank.quantity == Decimal("4.4")  # 4,400 questions a month, per 1,000
        assert rerank.unit_usd == Decimal(per_thousand)
        assert rerank.basis == "recalled"
        assert reranked.monthly_usd - base.monthly_usd == cents(Decimal("4.4") * rerank.unit_usd)
    with pytest.raises(InvalidInputError, match="reranker"):
        load_scenario(overrides=["usage.reranker=local"])


def test_an_empty_corpus_costs_only_what_runs_all_month(table: PriceTable) -> None:
    empty = load_scenario(
        overrides=[
            "corpus.documents=0",
            "corpus.media_hours=0",
            "corpus.documents_added_per_month=0",
            "corpus.media_hours_added_per_month=0",
            "usage.queries_per_month=0",
        ]
    )
    for option in estimate(empty, table):
        assert option.one_off_usd == 0
        assert option.monthly_usd > 0
        assert all(x.usd == 0 for x in option.monthly if x.item.startswith("S3 Vectors"))


def test_a_huge_corpus_is_priced_or_refused_clearly(table: PriceTable) -> None:
    # 100 M PDFs make 12 billion vectors: more than one S3 Vectors index holds.
    with pytest.raises(InvalidInputError, match="vectors in one index"):
        estimate(load_scenario(overrides=["corpus.documents=100000000"]), table)
    big = estimate(load_scenario(overrides=["corpus.documents=1000000"]), table)
    assert all(option.monthly_usd > 0 for option in big)


def test_nat_gateway_adds_its_hours_data_and_address(table: PriceTable) -> None:
    nat = options(load_scenario(overrides=["network.nat_gateway=true"]), table)["1"]
    # 730 x $0.045 = $32.85; 5 GB x $0.045 = $0.225; 3 addresses x 730 x $0.005 = $10.95.
    assert line_usd(nat, "NAT gateway") == D("32.85")
    assert line_usd(nat, "NAT gateway data") == D("0.23")
    assert line_usd(nat, "Public IPv4 addresses") == D("10.95")


def test_an_inference_profile_is_priced_as_its_model(table: PriceTable) -> None:
    plain = options(Scenario(), table)["1"]
    profile = options(
        load_scenario(overrides=["usage.answer_model=us.amazon.nova-lite-v1:0"]), table
    )["1"]
    assert profile.monthly_usd == plain.monthly_usd


# --- The defaults are what the stacks deploy (their recorded plans) and what the app uses.


def test_the_defaults_match_the_recorded_ecs_plan() -> None:
    plan = json.loads((ROOT / "docs" / "plan-ecs.json").read_text())

    def of(type_: str) -> list[dict[str, Any]]:
        return [r["inputs"] for r in plan if r["type"] == type_]

    # The service's task definition (the one-off task's is not running).
    (task,) = [t for t in of("aws:ecs/taskDefinition:TaskDefinition") if t["family"] == "app"]
    # The API's service (the ingestion workers scale from zero on the queue: priced by the
    # hours their jobs keep them running).
    (service,) = [
        r["inputs"] for r in plan if r["type"] == "aws:ecs/service:Service" and r["name"] == "app"
    ]
    (logs,) = [
        g
        for r in plan
        if r["type"] == "aws:cloudwatch/logGroup:LogGroup" and r["name"] == "app"
        for g in [r["inputs"]]
    ]
    interface = [
        e for e in of("aws:ec2/vpcEndpoint:VpcEndpoint") if e["vpcEndpointType"] == "Interface"
    ]
    parameters = {
        r["name"]: r["inputs"]["value"] for r in plan if r["type"] == "aws:ssm/parameter:Parameter"
    }

    def parameter(name: str) -> str:
        value = parameters[name]
        return str(value["value"] if isinstance(value, dict) else value)

    s = Scenario()
    assert (str(s.ecs.cpu), str(s.ecs.memory)) == (task["cpu"], task["memory"])
    assert task["runtimePlatform"] == {
        "cpuArchitecture": s.ecs.cpu_architecture,
        "operatingSystemFamily": "LINUX",
    }
    assert s.ecs.tasks == D(str(service["desiredCount"]))
    assert s.operations.log_retention_days == logs["retentionInDays"]
    assert s.ecs.interface_endpoints == len(interface)
    # An interface endpoint is billed per AZ it has a network interface in: its subnets.
    assert {len(e["subnetIds"]) for e in interface} == {s.network.availability_zones}
    assert s.network.nat_gateway is bool(of("aws:ec2/natGateway:NatGateway"))
    # the API keys and the one-off migration's source URL
    assert s.ecs.secrets == len(of("aws:secretsmanager/secret:Secret"))
    assert s.indexing.embedding_model == parameter("app-rag-bedrock-embedding-model-id")
    assert str(s.indexing.embedding_dimension) == parameter("app-rag-bedrock-embedding-dimensions")
    # The stack calls the model through its us. inference profile, priced as the model.
    assert s.usage.answer_model == parameter("app-rag-bedrock-answer-model-id").removeprefix("us.")
    assert s.usage.passages_per_answer == AskIn(question="q").top_k
    # The ingestion workers' task size, the catalog table, the user pool and the alarms.
    (worker,) = [t for t in of("aws:ecs/taskDefinition:TaskDefinition") if t["family"] == "worker"]
    assert (str(s.workers.ecs_cpu), str(s.workers.ecs_memory)) == (worker["cpu"], worker["memory"])
    assert worker["runtimePlatform"]["cpuArchitecture"] == s.ecs.cpu_architecture
    (table,) = of("aws:dynamodb/table:Table")
    assert table["billingMode"] == "PAY_PER_REQUEST"
    assert s.auth.cognito is bool(of("aws:cognito/userPool:UserPool"))
    assert s.operations.alarms_option_1 == len(of("aws:cloudwatch/metricAlarm:MetricAlarm"))


def test_the_defaults_match_the_recorded_eks_plan() -> None:
    plan = json.loads((ROOT / "docs" / "plan-eks.json").read_text())

    def of(type_: str) -> list[dict[str, Any]]:
        return [r["inputs"] for r in plan if r["type"] == type_]

    (chart,) = [
        r["inputs"]
        for r in plan
        if r["type"] == "kubernetes:helm.sh/v4:Chart" and r["name"] == "app"
    ]
    values = chart["values"]
    (database,) = of("aws:rds/cluster:Cluster")
    instance, *_readers = of("aws:rds/clusterInstance:ClusterInstance")
    (cluster,) = of("eks:index:Cluster")
    interface = [
        e for e in of("aws:ec2/vpcEndpoint:VpcEndpoint") if e["vpcEndpointType"] == "Interface"
    ]
    s = Scenario()
    eks = s.eks
    assert eks.interface_endpoints == len(interface)
    assert {len(e["subnetIds"]) for e in interface} == {s.network.availability_zones}
    assert s.network.nat_gateway is bool(of("aws:ec2/natGateway:NatGateway"))
    # The pods: the chart's replicas and requests.
    assert eks.replicas == values["replicaCount"]
    requests = values["resources"]["requests"]
    assert eks.pod_vcpu == cpu_quantity(requests["cpu"])
    assert eks.pod_memory_gib == memory_gib(requests["memory"])
    # One ALB: the chart's Ingress, on Auto Mode's ALB class.
    assert (values["ingress"]["className"], values["ingress"]["https"]) == ("alb", True)
    assert cluster["autoMode"]["enabled"] is True
    # Aurora Serverless v2: capacity range, backups, its log.
    assert instance["instanceClass"] == "db.serverless"
    scaling = database["serverlessv2ScalingConfiguration"]
    assert (eks.aurora_min_acu, eks.aurora_max_acu) == (
        D(str(scaling["minCapacity"])),
        D(str(scaling["maxCapacity"])),
    )
    assert eks.aurora_backup_retention_days == database["backupRetentionPeriod"]
    assert database["enabledCloudwatchLogsExports"] == ["postgresql"]
    # Logs: the control plane's five types and the database's log, both kept as priced.
    assert len(cluster["enabledClusterLogTypes"]) == 5
    groups = {
        g["name"]: g["retentionInDays"]
        for g in of("aws:cloudwatch/logGroup:LogGroup")
        if "name" in g  # the image build's log group is named by Pulumi
    }
    assert sorted(groups) == ["/aws/eks/rag-eks/cluster", "/aws/rds/cluster/rag-eks-db/postgresql"]
    assert set(groups.values()) == {s.operations.log_retention_days}
    # Keys and secrets: the EKS secrets key (and the stack's data key, rag:documents.
    # createKmsKey, priced as "your own keys"); the API-keys secret and the RDS login.
    assert eks.kms_keys + 1 == len(of("aws:kms/key:Key"))
    api_keys = of("aws:secretsmanager/secret:Secret")
    assert eks.secrets == len(api_keys) + database["manageMasterUserPassword"]
    # The worker pods' requests, the user pool and the alarms.
    requests = values["worker"]["resources"]["requests"]
    assert (s.workers.pod_cpu, s.workers.pod_memory) == (requests["cpu"], requests["memory"])
    assert s.auth.cognito is bool(of("aws:cognito/userPool:UserPool"))
    assert s.operations.alarms_option_2 == len(of("aws:cloudwatch/metricAlarm:MetricAlarm"))


# --- Bad input: a clear error naming what is wrong, nothing guessed.


def test_a_region_the_table_lacks_is_refused(table: PriceTable) -> None:
    with pytest.raises(InvalidInputError, match=r"'eu-west-1'.*it has: us-east-1"):
        estimate(load_scenario(overrides=["region=eu-west-1"]), table)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("usage.answer_model=openai.gpt-9", "no input token price for Bedrock model"),
        ("indexing.embedding_model=cohere.embed-v9", "no input token price"),
        ("eks.node_instance_type=t3.nano", r"no EC2 price for 't3.nano'.*c6a\.large"),
    ],
)
def test_a_model_or_instance_the_table_lacks_is_refused(
    table: PriceTable, override: str, message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message):
        estimate(load_scenario(overrides=[override]), table)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["ecs.cpu=300"], r"ecs\.cpu: Input should be 256, 512"),
        (["corpus.documents=-1"], r"corpus\.documents: Input should be greater than or equal"),
        (["corpus.documnets=5"], r"corpus\.documnets: Extra inputs are not permitted"),
        (["indexing.chunk_overlap=1000"], "chunk_overlap must be smaller than chunk_size"),
        (["indexing.chunk_size=1000000000"], r"indexing\.chunk_size: Input should be less"),
        (["indexing.characters_per_token=0"], r"indexing\.characters_per_token"),
        (["eks.aurora_min_acu=8", "eks.aurora_max_acu=4"], "must not exceed aurora_max_acu"),
        (["eks.aurora_average_acu=0.2"], "must lie between the running floor"),
        (["eks.aurora_active_hours_per_month=100"], "only with auto-pause"),
        (["usage.queries_per_month=many"], r"usage\.queries_per_month: Input should be"),
        (["documents"], "is not KEY=VALUE"),
        (["a.b.c=1"], "is not KEY=VALUE"),
        (["region.x=1"], "region: Input should be a valid string"),
        (["region=us-east-1", "region.x=1"], "'region' is not a section"),
    ],
)
def test_invalid_inputs_name_the_key(overrides: list[str], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        load_scenario(overrides=overrides)


def test_pod_sizes_read_as_kubernetes_quantities() -> None:
    eks = load_scenario(overrides=["eks.pod_cpu=2", "eks.pod_memory=512Mi"]).eks
    assert (eks.pod_vcpu, eks.pod_memory_gib) == (D(2), D("0.5"))
    eks = load_scenario(overrides=["eks.pod_cpu=250m", "eks.pod_memory=3Gi"]).eks
    assert (eks.pod_vcpu, eks.pod_memory_gib) == (D("0.25"), D(3))
    for bad in ("eks.pod_cpu=0.5", "eks.pod_cpu=half", "eks.pod_memory=1G", "eks.pod_memory=1"):
        with pytest.raises(InvalidInputError, match=r"eks\.pod_(cpu|memory): String should match"):
            load_scenario(overrides=[bad])


def test_pods_that_do_not_fit_the_nodes_are_refused(table: PriceTable) -> None:
    # 5 pods of 500m / 1Gi need 2.5 vCPU: more than one c6a.large's 2.
    with pytest.raises(InvalidInputError, match=r"5 pods .* 2\.5 vCPU .* raise eks\.nodes"):
        estimate(load_scenario(overrides=["eks.replicas=5"]), table)
    # 2 pods of 3Gi need 6 GiB: more than 4 GiB.
    with pytest.raises(InvalidInputError, match="6 GiB"):
        estimate(load_scenario(overrides=["eks.pod_memory=3Gi"]), table)
    two = options(load_scenario(overrides=["eks.replicas=5", "eks.nodes=2"]), table)["2"]
    assert line_usd(two, "EC2 nodes") == D("111.69")  # 2 x 730 x $0.0765


def test_more_active_hours_than_a_month_is_refused(table: PriceTable) -> None:
    scenario = load_scenario(
        overrides=["eks.aurora_min_acu=0", "eks.aurora_active_hours_per_month=800"]
    )
    with pytest.raises(InvalidInputError, match="more than a month"):
        estimate(scenario, table)


def test_an_inputs_file_sets_keys_and_overrides_win(tmp_path: Path) -> None:
    path = tmp_path / "inputs.toml"
    path.write_text('[corpus]\ndocuments = 5000\n[usage]\nanswer_model = "amazon.nova-pro-v1:0"\n')
    scenario = load_scenario(path, ["corpus.documents=7"])
    assert scenario.corpus.documents == 7
    assert scenario.usage.answer_model == "amazon.nova-pro-v1:0"
    assert scenario.corpus.pages_per_document == Scenario().corpus.pages_per_document
    assert load_scenario(tmp_path / "inputs.toml").corpus.documents == 5000
    (tmp_path / "empty.toml").write_text("")
    assert load_scenario(tmp_path / "empty.toml") == Scenario()


@pytest.mark.parametrize("content", ["[corpus\n", "corpus = 3\n", "\x00\xff", "[corpus]\nx = 1\n"])
def test_a_malformed_inputs_file_is_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_bytes(content.encode("utf-8", "surrogateescape"))
    with pytest.raises(InvalidInputError):
        load_scenario(path)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ('"x" = { usd = 1, unit = "u", basis = "recalled" }', "source"),
        ('"x" = { usd = -1, unit = "u", source = "https://a.b/", basis = "recalled" }', "usd"),
        ('"x" = { usd = 1, unit = "u", source = "https://a.b/", basis = "guess" }', "basis"),
        ('"x" = { usd = 1, unit = "u", source = "not a url", basis = "recalled" }', "source"),
    ],
)
def test_a_price_without_a_source_or_basis_is_refused(
    tmp_path: Path, entry: str, message: str
) -> None:
    path = tmp_path / "prices.toml"
    path.write_text(
        'taken = 2026-11-27\ncurrency = "USD"\nhours_per_month = 730\n'
        f'[regions.r]\nlabel = "R"\n[regions.r.prices]\n{entry}\n'
    )
    with pytest.raises(InvalidInputError, match=message):
        load_prices(path)


def test_every_price_in_the_table_is_dated_sourced_and_used(table: PriceTable) -> None:
    assert table.taken.isoformat() == "2026-11-27"
    used: set[str] = set()
    for scenario in (
        Scenario(),
        load_scenario(overrides=["network.nat_gateway=true", "operations.kms_keys=1"]),
        load_scenario(overrides=["ecs.cpu_architecture=X86_64"]),
        load_scenario(overrides=["eks.extended_support=true"]),
    ):
        for option in estimate(scenario, table):
            used |= {x.price_id for x in option.monthly + option.one_off}
    region = table.region("us-east-1")
    assert region.options("ec2.") == region.options("eks.auto_mode.")
    for price_id, price in region.prices.items():
        assert str(price.source).startswith("https://aws.amazon.com/"), price_id
        if price_id.startswith(("bedrock.", "ec2.", "eks.auto_mode.")):
            continue  # alternatives: one model or instance type is used at a time
        assert price_id in used, f"{price_id} is in the table but priced nowhere"


# --- The command and the README.


def test_the_command_prints_markdown_and_json_that_agree() -> None:
    runner = CliRunner()
    md = runner.invoke(main, ["cost"])
    assert md.exit_code == 0, md.output
    js = runner.invoke(main, ["cost", "--format", "json"])
    assert js.exit_code == 0, js.output
    document = json.loads(js.output)
    assert document["price_table"]["region"] == "us-east-1"
    assert document["inputs"]["corpus"]["documents"] == 1000
    for option in document["options"]:
        assert f"**${option['monthly_usd']:,.2f} a month**" in md.output
        lines = sum(x["usd"] for x in option["monthly"])
        assert abs(lines - option["monthly_usd"]) <= 0.01 * len(option["monthly"])


def test_the_command_reports_bad_input_without_a_traceback(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["cost", "--region", "ap-south-1"])
    assert result.exit_code == 1
    assert "no prices for region 'ap-south-1'" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    result = runner.invoke(main, ["cost", "--set", "ecs.cpu=3"])
    assert result.exit_code == 1
    assert "ecs.cpu" in result.output


README_BLOCK = re.compile(r"<!-- cost:begin \(rag-app cost\) -->\n(.*?)\n<!-- cost:end -->", re.S)


def test_the_readme_estimate_is_the_commands_output(table: PriceTable) -> None:
    (block,) = README_BLOCK.findall((ROOT / "docs" / "cost.md").read_text())
    printed = CliRunner().invoke(main, ["cost"]).output.rstrip("\n")
    assert block == printed, "docs/cost.md is stale: paste the output of `rag-app cost` into it"
    assert block == markdown(estimate(Scenario(), table), table, Scenario())


def test_the_readme_inputs_example_loads(table: PriceTable, tmp_path: Path) -> None:
    readme = (ROOT / "docs" / "cost.md").read_text()
    (example,) = re.findall(r"```toml\n(# my-numbers\.toml.*?)```", readme, re.S)
    path = tmp_path / "my-numbers.toml"
    path.write_text(example)
    scenario = load_scenario(path)
    assert scenario.corpus.documents == 5000
    assert len(estimate(scenario, table)) == 2


NAT_INSTEAD_OF_ENDPOINTS = [
    "network.nat_gateway=true",
    "ecs.interface_endpoints=0",
    "eks.interface_endpoints=0",
]
IDLE = [
    "usage.queries_per_month=0",
    "corpus.documents_added_per_month=0",
    "corpus.media_hours_added_per_month=0",
]


@pytest.mark.parametrize(
    ("overrides", "option", "quoted"),
    [
        (NAT_INSTEAD_OF_ENDPOINTS, "1", "$109.85"),
        (NAT_INSTEAD_OF_ENDPOINTS, "2", "$273.98"),
        (["eks.aurora_min_acu=1"], "2", "$470.85"),
        (IDLE, "1", "$229.29"),
        (IDLE, "2", "$422.70"),
    ],
)
def test_the_readmes_variants_are_the_commands_figures(
    table: PriceTable, overrides: list[str], option: str, quoted: str
) -> None:
    readme = "\n".join((ROOT / "docs" / page).read_text() for page in ("cost.md", "deploy-eks.md"))
    figure = options(load_scenario(overrides=overrides), table)[option].monthly_usd
    assert f"${figure:,.2f}" == quoted
    assert quoted in readme
    assert all(f"--set {o}" in " ".join(readme.split()) for o in overrides)

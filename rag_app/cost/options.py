"""The two options as line items: what each runs all month, what it pays per use, and what
the first ingestion costs once.

Option 1: ECS Fargate + ALB + S3 Vectors + S3 + Bedrock (the `ecs` stack).
Option 2: EKS Auto Mode + Aurora PostgreSQL Serverless v2 with pgvector + S3 + Bedrock.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from rag_app.cost import s3vectors
from rag_app.cost.lines import Line, OptionEstimate, line
from rag_app.cost.prices import PriceTable, RegionPrices
from rag_app.cost.scenario import Scenario
from rag_app.cost.workload import MILLION, Workload, workload
from rag_app.errors import InvalidInputError

MIB_PER_GB = Decimal(1024)
# A pgvector row holds the vector, the chunk's text and metadata and ~200 bytes of tuple
# overhead; the HNSW index about the vector again plus its graph links (~300 bytes at m=16).
PG_ROW_OVERHEAD_BYTES = 200
HNSW_LINK_BYTES = 300
GIB = Decimal(2**30)


def estimate(scenario: Scenario, table: PriceTable) -> list[OptionEstimate]:
    """Both options for ``scenario``, priced from ``table``. InvalidInputError for a region,
    model or instance type the table does not price."""
    prices = table.region(scenario.region)
    work = workload(scenario)
    return [
        option_1(scenario, prices, table.hours_per_month, work),
        option_2(scenario, prices, table.hours_per_month, work),
    ]


def _network(scenario: Scenario, prices: RegionPrices, hours: Decimal) -> list[Line]:
    net = scenario.network
    lines = [
        line(prices, "alb.hour", "Load balancer (ALB)", hours, f"1 ALB x {hours} h"),
        line(
            prices,
            "alb.lcu",
            "Load balancer capacity units",
            net.load_balancer_lcu * hours,
            f"{net.load_balancer_lcu} LCU on average",
        ),
        line(
            prices,
            "ipv4.hour",
            "Public IPv4 addresses",
            (net.availability_zones + (1 if net.nat_gateway else 0)) * hours,
            f"the ALB's, one per AZ ({net.availability_zones})"
            + (", and the NAT gateway's" if net.nat_gateway else ""),
        ),
        line(
            prices,
            "endpoint.hour",
            "VPC interface endpoints",
            net.interface_endpoints * net.availability_zones * hours,
            f"{net.interface_endpoints} endpoints x {net.availability_zones} AZs x {hours} h",
        ),
    ]
    if net.nat_gateway:
        lines += [
            line(prices, "nat.hour", "NAT gateway", hours, f"1 gateway x {hours} h"),
            line(
                prices,
                "nat.data",
                "NAT gateway data",
                net.nat_gigabytes_per_month,
                "GB processed",
            ),
        ]
    return lines


def _shared(scenario: Scenario, prices: RegionPrices, work: Workload) -> list[Line]:
    """Lines both options pay the same: documents, registry, models, transcription, logs."""
    usage, ops = scenario.usage, scenario.operations
    embed = scenario.indexing.embedding_model
    lines = [
        line(
            prices,
            "s3.storage",
            "S3 documents storage",
            work.stored_document_gb,
            "originals and media",
        ),
        line(
            prices,
            "s3.put_requests",
            "S3 requests",
            work.documents_added_per_month * 10 / 1000,
            "~10 writes per added document: original and catalog records",
        ),
        line(
            prices,
            "ecr.storage",
            "ECR image storage",
            ops.image_gigabytes * ops.images_kept,
            f"{ops.images_kept} images x {ops.image_gigabytes} GB",
        ),
        _tokens(prices, embed, "input", work.embedding_tokens_per_month, "Bedrock embeddings"),
        _tokens(
            prices,
            usage.answer_model,
            "input",
            work.queries * work.answer_input_tokens,
            "Bedrock answers, input",
        ),
        _tokens(
            prices,
            usage.answer_model,
            "output",
            work.queries * work.answer_output_tokens,
            "Bedrock answers, output",
        ),
        line(
            prices,
            "transcribe.minute",
            "Transcribe (added media)",
            work.media_minutes_per_month,
            "audio minutes",
        ),
        line(
            prices,
            "logs.ingest",
            "CloudWatch Logs ingestion",
            ops.log_gigabytes_per_month,
            "GB",
        ),
        line(
            prices,
            "logs.storage",
            "CloudWatch Logs storage",
            ops.log_gigabytes_per_month * ops.log_retention_days / 30,
            f"{ops.log_retention_days} days retained",
        ),
    ]
    if ops.kms_keys:
        lines.append(line(prices, "kms.key", "KMS keys", Decimal(ops.kms_keys), "keys"))
    return lines


def _tokens(
    prices: RegionPrices,
    model_id: str,
    direction: Literal["input", "output"],
    tokens: Decimal,
    item: str,
) -> Line:
    price = prices.model_price(model_id, direction)
    return Line(
        item,
        tokens / MILLION,
        f"bedrock.{model_id}.{direction}",
        price.unit,
        price.usd,
        price.basis,
        f"{tokens:,.0f} tokens ({model_id})",
    )


def _one_off(scenario: Scenario, prices: RegionPrices, work: Workload) -> list[Line]:
    return [
        _tokens(
            prices,
            scenario.indexing.embedding_model,
            "input",
            work.embedding_tokens_one_off,
            "Bedrock embeddings, whole corpus",
        ),
        line(
            prices,
            "transcribe.minute",
            "Transcribe, all media",
            work.media_minutes_one_off,
            "audio minutes",
        ),
        line(
            prices,
            "s3.put_requests",
            "S3 uploads",
            Decimal(scenario.corpus.documents) * 10 / 1000,
            "~10 writes per document",
        ),
    ]


def _common_assumptions(scenario: Scenario, work: Workload, hours: Decimal) -> list[str]:
    c, ix, u = scenario.corpus, scenario.indexing, scenario.usage
    return [
        f"Corpus: {c.documents:,} PDFs x {c.pages_per_document} pages x {c.tokens_per_page} "
        f"tokens, plus {c.media_hours} h of media ({c.transcript_tokens_per_hour:,} transcript "
        f"tokens/h); each month {c.documents_added_per_month} documents and "
        f"{c.media_hours_added_per_month} h of media are added.",
        f"Chunks of {ix.chunk_size} characters with {ix.chunk_overlap} overlap (the app's "
        f"RAG_CHUNK_SIZE/RAG_CHUNK_OVERLAP), {ix.characters_per_token} characters per token, "
        f"chunks never cross a page: {work.vectors:,} vectors of {ix.embedding_dimension} "
        f"dimensions ({ix.embedding_model}), {work.vectors_added_per_month:,} more a month.",
        f"{u.queries_per_month:,} questions a month, each one query embedding, one vector "
        f"search and one answer from {u.answer_model} over {u.passages_per_answer} passages: "
        f"{work.answer_input_tokens:,} input tokens (the app's prompt) and "
        f"{u.output_tokens} output tokens.",
        f"Always-on resources run {hours} h a month. Media is transcribed with Amazon "
        "Transcribe (video ingestion is not built yet).",
        "Not priced: data transfer out (the first 100 GB a month are free), CloudWatch "
        "metrics and Container Insights, endpoint and ALB data processing at this volume, "
        "taxes, support plans, free tiers and savings plans.",
    ]


def option_1(
    scenario: Scenario, prices: RegionPrices, hours: Decimal, work: Workload
) -> OptionEstimate:
    ecs = scenario.ecs
    vcpu = Decimal(ecs.cpu) / 1024
    memory_gb = Decimal(ecs.memory) / MIB_PER_GB
    arch = ecs.cpu_architecture
    task_hours = ecs.tasks * hours
    usage = s3vectors.monthly_usage(
        prices,
        work.shape,
        indexes=1,
        vectors_per_index=work.vectors + work.vectors_added_per_month,
        vectors_put=work.vectors_added_per_month,
        queries=work.queries,
    )
    monthly = [
        line(
            prices,
            f"fargate.{arch}.vcpu",
            "Fargate vCPU",
            vcpu * task_hours,
            f"{ecs.tasks} x {vcpu} vCPU x {hours} h, {arch}",
        ),
        line(
            prices,
            f"fargate.{arch}.memory",
            "Fargate memory",
            memory_gb * task_hours,
            f"{ecs.tasks} x {memory_gb} GB x {hours} h",
        ),
        *_network(scenario, prices, hours),
        *s3vectors.storage_and_query_lines(prices, usage),
        *_shared(scenario, prices, work),
    ]
    initial_put = work.vectors * work.shape.logical_bytes / s3vectors.GB
    one_off = [
        *_one_off(scenario, prices, work),
        s3vectors.put_line(prices, initial_put, "the whole corpus, once"),
    ]
    shape = work.shape
    assumptions = [
        *_common_assumptions(scenario, work, hours),
        f"Fargate: {ecs.tasks} task(s) of {vcpu} vCPU / {memory_gb} GB ({arch}) running all "
        "month (the stack's minimum; scale-out hours are extra). The catalog lives in S3; "
        "settings are SSM standard parameters (free).",
        f"S3 Vectors: one index; a vector is {shape.logical_bytes:,} logical bytes "
        f"(4 x {shape.dimension} + key {shape.key_bytes} + filterable metadata "
        f"{shape.filterable_bytes} + non-filterable {shape.non_filterable_bytes}, measured "
        f"as the app's records are) and a query processes {shape.query_bytes:,} bytes per "
        "vector in the index, AWS's published method.",
    ]
    return OptionEstimate(
        "1", "ECS Fargate + ALB + S3 Vectors + Bedrock", monthly, one_off, assumptions
    )


def option_2(
    scenario: Scenario, prices: RegionPrices, hours: Decimal, work: Workload
) -> OptionEstimate:
    eks = scenario.eks
    node = eks.node_instance_type
    if f"ec2.{node}" not in prices.prices:
        known = ", ".join(prices.options("ec2."))
        raise InvalidInputError(
            f"the price table has no EC2 price for {node!r} in {prices.region}; priced: {known}"
        )
    node_hours = eks.nodes * hours
    if eks.aurora_min_acu == 0 and eks.aurora_active_hours_per_month is not None:
        active = eks.aurora_active_hours_per_month
        if active > hours:
            raise InvalidInputError(
                f"eks.aurora_active_hours_per_month is {active}, more than a month ({hours} h)"
            )
    else:
        active = hours
    vectors = work.vectors + work.vectors_added_per_month
    row = 4 * work.shape.dimension + work.chunk_characters + PG_ROW_OVERHEAD_BYTES
    index = 4 * work.shape.dimension + HNSW_LINK_BYTES
    db_gb = vectors * (row + index) / GIB
    monthly = [
        line(prices, "eks.cluster", "EKS control plane", hours, f"1 cluster x {hours} h"),
        line(
            prices,
            f"ec2.{node}",
            "EC2 nodes",
            node_hours,
            f"{eks.nodes} x {node} x {hours} h",
        ),
        line(
            prices,
            f"eks.auto_mode.{node}",
            "EKS Auto Mode management",
            node_hours,
            f"{eks.nodes} x {node}",
        ),
        line(
            prices,
            "ebs.gp3",
            "Node volumes (gp3)",
            Decimal(eks.nodes * eks.node_volume_gigabytes),
            f"{eks.nodes} x {eks.node_volume_gigabytes} GB",
        ),
        *_network(scenario, prices, hours),
        line(
            prices,
            "aurora.acu",
            "Aurora Serverless v2 capacity",
            eks.aurora_running_acu * active,
            f"{eks.aurora_running_acu} ACU x {active} h",
        ),
        line(prices, "aurora.storage", "Aurora storage", db_gb, "GB: rows and HNSW index"),
        line(
            prices,
            "aurora.io",
            "Aurora I/O",
            eks.aurora_io_millions_per_month,
            "million requests",
        ),
        *_shared(scenario, prices, work),
    ]
    if eks.secrets:
        monthly.append(
            line(
                prices,
                "secretsmanager.secret",
                "Secrets Manager",
                Decimal(eks.secrets),
                "the database credentials",
            )
        )
    pause = (
        f"auto-pause (0 ACU) outside {active} active hours"
        if eks.aurora_min_acu == 0
        else f"never paused (minimum {eks.aurora_min_acu} ACU)"
    )
    assumptions = [
        *_common_assumptions(scenario, work, hours),
        f"EKS Auto Mode: {eks.nodes} x {node} On-Demand, with Auto Mode's per-instance fee, "
        f"for the app pod sized as the ECS task ({Decimal(scenario.ecs.cpu) / 1024} vCPU / "
        f"{Decimal(scenario.ecs.memory) / MIB_PER_GB} GB); the load balancer is an ALB as on "
        "Option 1, and the VPC is the same (its interface endpoints included).",
        f"Aurora Serverless v2 (Aurora Standard): averages {eks.aurora_running_acu} ACU "
        f"while running, {pause}, up to {eks.aurora_max_acu} ACU for bursts (not priced); "
        f"{db_gb:.2f} GB stored (each row: vector, text, ~{PG_ROW_OVERHEAD_BYTES} B overhead; "
        f"HNSW: vector + ~{HNSW_LINK_BYTES} B links); "
        f"{eks.aurora_io_millions_per_month} million I/Os a month.",
    ]
    return OptionEstimate(
        "2",
        "EKS Auto Mode + Aurora Serverless v2 (pgvector) + Bedrock",
        monthly,
        _one_off(scenario, prices, work),
        assumptions,
    )

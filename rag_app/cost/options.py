"""The two options as line items: what each runs all month, what it pays per use, and what
the first ingestion costs once.

Option 1: ECS Fargate + ALB + S3 Vectors + S3 + Bedrock (the `ecs` stack).
Option 2: EKS Auto Mode + Aurora PostgreSQL Serverless v2 with pgvector + S3 + Bedrock.

Over 400 lines on purpose: every line item of both bills, each with its arithmetic and its
price source, reads in one place (splitting by service would scatter one option's bill).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from rag_app.cost import ingestion, s3vectors
from rag_app.cost import requests as per
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


def _network(
    scenario: Scenario, prices: RegionPrices, hours: Decimal, endpoints: int
) -> list[Line]:
    net = scenario.network
    if net.endpoints == "minimal":  # NAT instead of the interface endpoints
        net = net.model_copy(update={"nat_gateway": True})
        endpoints = 0
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
            endpoints * net.availability_zones * hours,
            f"{endpoints} endpoints x {net.availability_zones} AZs x {hours} h",
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


def _edge_and_operations(
    scenario: Scenario, prices: RegionPrices, alarms: int, backup_price: str
) -> list[Line]:
    """WAF, CloudWatch alarms and AWS Backup: the same shape on both options."""
    ops = scenario.operations
    return [
        line(prices, "waf.web_acl", "WAF web ACL", Decimal(1), "1 regional web ACL"),
        line(prices, "waf.rule", "WAF rules", Decimal(ops.waf_rules), f"{ops.waf_rules} rules"),
        line(
            prices,
            "waf.requests",
            "WAF requests",
            ops.waf_requests_millions_per_month,
            "every request the ALB receives",
        ),
        line(prices, "cloudwatch.alarm", "CloudWatch alarms", Decimal(alarms), f"{alarms} alarms"),
        line(
            prices,
            backup_price,
            "AWS Backup",
            ops.backup_gigabytes,
            "daily backups of the data an operator cannot recreate",
        ),
    ]


def _shared(
    scenario: Scenario, prices: RegionPrices, work: Workload, *, s3_writes_per_question: int = 0
) -> list[Line]:
    """Lines both options pay alike: documents, registry, models, transcription, the
    queue and the user pool."""
    usage, ops = scenario.usage, scenario.operations
    embed = scenario.indexing.embedding_model
    rerank = (
        [
            line(
                prices,
                f"bedrock.{usage.rerank_model}.query",
                "Bedrock Rerank",
                work.queries / 1000,
                "one Rerank call per question (up to 100 passages a call)",
            )
        ]
        if usage.reranker == "bedrock"
        else []
    )
    return [
        *rerank,
        line(
            prices,
            "s3.storage",
            "S3 documents storage",
            work.stored_document_gb,
            "originals and media",
        ),
        ingestion.s3_request_lines(prices, work, per_question=s3_writes_per_question),
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
        *ingestion.cognito_lines(scenario, prices),
    ]


def _log_group(
    scenario: Scenario, prices: RegionPrices, what: str, gigabytes: Decimal
) -> list[Line]:
    days = scenario.operations.log_retention_days
    return [
        line(prices, "logs.ingest", f"CloudWatch Logs ingestion, {what}", gigabytes, "GB"),
        line(
            prices,
            "logs.storage",
            f"CloudWatch Logs storage, {what}",
            gigabytes * days / 30,
            f"{days} days retained",
        ),
    ]


def _keys_and_secrets(
    prices: RegionPrices, keys: int, keys_for: str, secrets: int, secrets_for: str
) -> list[Line]:
    lines = []
    if keys:
        lines.append(line(prices, "kms.key", "KMS keys", Decimal(keys), keys_for))
    if secrets:
        lines.append(
            line(prices, "secretsmanager.secret", "Secrets Manager", Decimal(secrets), secrets_for)
        )
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
    documents = Decimal(scenario.corpus.documents)
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
            documents * per.S3_WRITES_PER_DOCUMENT / 1000,
            f"{per.S3_WRITES_PER_DOCUMENT} requests per document (the original, a listing)",
        ),
    ]


def _corpus_worker_hours(scenario: Scenario) -> Decimal:
    """The first ingestion: every document's job, in one burst."""
    return ingestion.worker_hours(scenario.workers, Decimal(scenario.corpus.documents), Decimal(1))


def _monthly_worker_hours(scenario: Scenario) -> Decimal:
    w = scenario.workers
    return ingestion.worker_hours(
        w, Decimal(scenario.corpus.documents_added_per_month), Decimal(w.bursts_per_month)
    )


def _common_assumptions(scenario: Scenario, work: Workload, hours: Decimal) -> list[str]:
    c, ix, u = scenario.corpus, scenario.indexing, scenario.usage
    w, a = scenario.workers, scenario.auth
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
        f"Ingestion workers start from zero when jobs wait: {w.minutes_per_document} "
        f"minutes a document, then {w.idle_minutes_per_burst} minutes until scale-in after "
        f"each of {w.bursts_per_month} bursts a month (the first ingestion is one burst). "
        f"A worker task is {Decimal(w.ecs_cpu) / 1024} vCPU / {Decimal(w.ecs_memory) / 1024} "
        f"GB on Fargate; a worker pod ({w.pod_cpu} CPU / {w.pod_memory}) does not fit beside "
        f"the API's pods, so Auto Mode adds a {w.node_instance_type} while it runs. Media "
        "jobs wait on Transcribe: their worker time is not counted.",
        f"SQS: {per.SQS_REQUESTS_PER_DOCUMENT} requests a job (send, receive, delete) and a "
        "lease renewal every 40 s it runs; a running worker long-polls (20 s) the queue and "
        "its dead-letter queue and reads the queue depth twice a minute "
        f"({per.SQS_REQUESTS_PER_WORKER_HOUR:,} requests an hour); on Option 2 KEDA reads "
        f"the queue every 15 s all month. SQS's free million requests a month is not deducted.",
        (
            f"Sign-in: a Cognito user pool (rag:auth.cognito) on the Essentials plan, "
            f"{a.monthly_active_users} monthly active users, within its free allowance of "
            "10,000."
            if a.cognito
            else "Sign-in: no Cognito user pool (rag:auth.cognito off)."
        ),
        "Not priced: data transfer out (the first 100 GB a month are free), CloudWatch "
        "metrics and Container Insights, endpoint and ALB data processing at this volume, "
        "Secrets Manager and KMS API calls, S3 GET requests, taxes, support plans, free "
        "tiers (but Cognito's) and savings plans.",
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
        queries=work.queries * per.S3VECTORS_QUERIES_PER_QUESTION,
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
        *_network(scenario, prices, hours, ecs.interface_endpoints),
        *_edge_and_operations(scenario, prices, scenario.operations.alarms_option_1, "backup.s3"),
        *s3vectors.storage_and_query_lines(prices, usage),
        *ingestion.fargate_worker_lines(scenario, prices, _monthly_worker_hours(scenario), ""),
        ingestion.sqs_lines(scenario, prices, work.documents_added_per_month, hours, keda=False),
        *ingestion.catalog_lines(
            prices,
            work.documents_added_per_month,
            work.queries,
            Decimal(scenario.corpus.documents) + work.documents_added_per_month,
        ),
        *_shared(
            scenario, prices, work, s3_writes_per_question=per.S3_WRITES_PER_QUESTION_OPTION_1
        ),
        *_log_group(scenario, prices, "the app", scenario.operations.log_gigabytes_per_month),
        *_keys_and_secrets(
            prices,
            scenario.operations.kms_keys,
            "your own keys",
            ecs.secrets,
            "the API keys, the migration source, the web sign-in key",
        ),
    ]
    initial_put = work.vectors * work.shape.logical_bytes / s3vectors.GB
    corpus = Decimal(scenario.corpus.documents)
    one_off = [
        *_one_off(scenario, prices, work),
        s3vectors.put_line(prices, initial_put, "the whole corpus, once"),
        *ingestion.fargate_worker_lines(
            scenario, prices, _corpus_worker_hours(scenario), ", whole corpus"
        ),
        *ingestion.catalog_lines(prices, corpus, Decimal(0), Decimal(0))[:2],
    ]
    shape = work.shape
    assumptions = [
        *_common_assumptions(scenario, work, hours),
        f"Fargate: {ecs.tasks} task(s) of {vcpu} vCPU / {memory_gb} GB ({arch}) running all "
        "month (the stack's minimum; scale-out hours are extra). The catalog is a DynamoDB "
        f"table on demand ({per.CATALOG_WRITES_PER_DOCUMENT} writes and "
        f"{per.CATALOG_READS_PER_DOCUMENT} strongly consistent reads per document ingested, "
        "none per question, as counted on the app's path; each item under 1 KB is one "
        "request unit; its indexes' writes and the 25 GB free storage are not counted); "
        "conversations are S3 objects (3 PUTs per question); "
        f"settings are SSM standard parameters (free); {ecs.secrets} Secrets Manager "
        "secrets: the API keys (`rag-app keys` writes them), the migration source URL and the "
        "web sign-in key.",
        f"S3 Vectors: one index; a vector is {shape.logical_bytes:,} logical bytes "
        f"(4 x {shape.dimension} + key {shape.key_bytes} + filterable metadata "
        f"{shape.filterable_bytes} + non-filterable {shape.non_filterable_bytes}, measured "
        f"as the app's records are) and a query processes {shape.query_bytes:,} bytes per "
        "vector in the index, AWS's published method.",
    ]
    return OptionEstimate(
        "1", "ECS Fargate + ALB + S3 Vectors + Bedrock", monthly, one_off, assumptions
    )


def _nodes_hold_the_pods(scenario: Scenario, prices: RegionPrices) -> tuple[Decimal, Decimal]:
    """The node type's vCPUs and GiB; InvalidInputError if the table lacks the type or the
    nodes' whole capacity cannot hold the pods' requests (the kubelet's reservation, a few
    percent of CPU and 0.5-1.5 GiB a node, comes off that, so a near fit is not enough)."""
    eks = scenario.eks
    vcpu, memory = prices.instance_type(eks.node_instance_type)
    need_vcpu, need_memory = eks.replicas * eks.pod_vcpu, eks.replicas * eks.pod_memory_gib
    if need_vcpu > eks.nodes * vcpu or need_memory > eks.nodes * memory:
        raise InvalidInputError(
            f"{eks.replicas} pods of {eks.pod_cpu} CPU / {eks.pod_memory} request "
            f"{need_vcpu} vCPU / {need_memory} GiB; {eks.nodes} x {eks.node_instance_type} "
            f"hold {eks.nodes * vcpu} vCPU / {eks.nodes * memory} GiB: raise eks.nodes or "
            "pick a larger eks.node_instance_type"
        )
    return vcpu, memory


def option_2(
    scenario: Scenario, prices: RegionPrices, hours: Decimal, work: Workload
) -> OptionEstimate:
    eks, ops = scenario.eks, scenario.operations
    node = eks.node_instance_type
    node_vcpu, node_memory = _nodes_hold_the_pods(scenario, prices)
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
    # Backups up to the volume's size are free; beyond it, what is written in the window.
    window = Decimal(eks.aurora_backup_retention_days * 24) / hours
    backup_gb = work.vectors_added_per_month * (row + index) / GIB * window
    monthly = [
        line(
            prices,
            "eks.cluster.extended" if eks.extended_support else "eks.cluster",
            "EKS control plane",
            hours,
            f"1 cluster x {hours} h, "
            + ("extended support" if eks.extended_support else "standard support"),
        ),
        line(
            prices,
            f"ec2.{node}",
            "EC2 nodes",
            node_hours,
            f"{eks.nodes} x {node} ({node_vcpu} vCPU, {node_memory} GiB) x {hours} h",
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
        *_network(scenario, prices, hours, eks.interface_endpoints),
        *_edge_and_operations(
            scenario, prices, scenario.operations.alarms_option_2, "backup.aurora"
        ),
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
        line(
            prices,
            "aurora.backup",
            "Aurora backups",
            backup_gb,
            f"{eks.aurora_backup_retention_days} days kept; GB written in that window",
        ),
        *ingestion.eks_worker_lines(scenario, prices, _monthly_worker_hours(scenario), ""),
        ingestion.sqs_lines(scenario, prices, work.documents_added_per_month, hours, keda=True),
        *_shared(scenario, prices, work),
        *_log_group(
            scenario, prices, "EKS control plane", eks.control_plane_log_gigabytes_per_month
        ),
        *_log_group(scenario, prices, "Aurora PostgreSQL", eks.database_log_gigabytes_per_month),
        *_keys_and_secrets(
            prices,
            eks.kms_keys + ops.kms_keys,
            "the EKS secrets key" + (" and your own keys" if ops.kms_keys else ""),
            eks.secrets,
            "the database login (RDS-managed), the API keys and the web sign-in key",
        ),
    ]
    pause = (
        f"auto-pause (0 ACU) outside {active} active hours"
        if eks.aurora_min_acu == 0
        else f"never paused (minimum {eks.aurora_min_acu} ACU)"
    )
    net = scenario.network
    assumptions = [
        *_common_assumptions(scenario, work, hours),
        f"Pods: {eks.replicas} replicas requesting {eks.pod_cpu} CPU / {eks.pod_memory} each "
        f"({eks.replicas * eks.pod_vcpu} vCPU, {eks.replicas * eks.pod_memory_gib} GiB in "
        "all; the chart's requests as rag:eks.replicas/cpu/memory set them). Scale-out to "
        "rag:eks.maxReplicas, and the nodes it adds, is extra.",
        f"Nodes: {eks.nodes} x {node} On-Demand ({node_vcpu} vCPU, {node_memory} GiB), plus "
        f"Auto Mode's per-instance fee and the default NodeClass's {eks.node_volume_gigabytes} "
        "GB gp3 volume. Auto Mode chooses the instance, not the stack: its built-in "
        "general-purpose NodePool launches On-Demand amd64 instances of the C, M and R "
        "families, generation 5 or newer, and takes the cheapest that holds the pending "
        "pods. The default, one c6a.large (2 vCPU, 4 GiB; about 1.9 vCPU and 2-3 GiB left "
        "after the kubelet's reservation), is the cheapest type in that pool that holds "
        "both default pods at list prices; Auto Mode may pick another at a similar price, "
        "or two nodes if the pods are spread.",
        f"EKS control plane in {'extended' if eks.extended_support else 'standard'} support "
        "(the stack refuses a Kubernetes version past its standard support). The load "
        "balancer is the ALB that Auto "
        "Mode's load balancer controller creates for the chart's Ingress; the VPC has "
        f"{eks.interface_endpoints} interface endpoints in {net.availability_zones} AZs"
        + (" and a NAT gateway." if net.nat_gateway else " and no NAT gateway."),
        f"Aurora Serverless v2 (Aurora Standard): averages {eks.aurora_running_acu} ACU "
        f"while running, {pause}, up to {eks.aurora_max_acu} ACU for bursts (not priced); "
        f"{db_gb:.2f} GB stored (each row: vector, text, ~{PG_ROW_OVERHEAD_BYTES} B overhead; "
        f"HNSW: vector + ~{HNSW_LINK_BYTES} B links); "
        f"{eks.aurora_io_millions_per_month} million I/Os a month; backups for "
        f"{eks.aurora_backup_retention_days} days, free up to the volume's size, so only "
        f"what is written in that window is billed ({backup_gb:.3f} GB).",
        f"Logs, kept {ops.log_retention_days} days: all five EKS control-plane log types, "
        f"{eks.control_plane_log_gigabytes_per_month} GB a month, an estimate, not a "
        "measurement: at idle the audit log is nearly all of it, about 3 events a second "
        "(the controller manager's, scheduler's and cloud controller's lease renewals and "
        "their standbys' polls every 2 s, each node's lease every 10 s, controllers' "
        "watches) of about 1.5 KB; after a day, read the log group's IncomingBytes metric. "
        f"The PostgreSQL log (errors and statements over 1 s): "
        f"{eks.database_log_gigabytes_per_month} GB. The stack ships no pod logs to "
        "CloudWatch (it installs no log agent), so Option 1's app log has no "
        "counterpart here.",
        f"{eks.secrets} Secrets Manager secrets: the database login RDS creates and rotates "
        "(billed as any secret), the API keys and the web sign-in key; "
        f"{eks.kms_keys} KMS key for Kubernetes secrets.",
    ]
    return OptionEstimate(
        "2",
        "EKS Auto Mode + Aurora Serverless v2 (pgvector) + Bedrock",
        monthly,
        [
            *_one_off(scenario, prices, work),
            *ingestion.eks_worker_lines(
                scenario, prices, _corpus_worker_hours(scenario), ", whole corpus"
            ),
        ],
        assumptions,
    )

"""Titan v2 embedding throughput against the local bedrock-runtime double with a fixed
latency per call (default 50 ms): sequential (concurrency 1) against the concurrent
embedder, through the real boto3 client, in one run; and the rate the limiter allows.

    .venv/bin/python -m benchmarks.bedrock_embedding [--texts N] [--latency-ms L] [--rpm R]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import time
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from rag_app.embedders.bedrock_titan import BedrockTitanEmbedder
from rag_app_dev.bedrock_local import LocalBedrock

ROOT = Path(__file__).resolve().parents[1]


async def rate(server: LocalBedrock, concurrency: int, texts: list[str], rpm: int) -> float:
    client = boto3.client(
        "bedrock-runtime",
        endpoint_url=server.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(max_pool_connections=2 * concurrency),
    )
    embedder = BedrockTitanEmbedder(
        client, dimensions=1024, concurrency=concurrency, requests_per_minute=rpm
    )
    started = time.perf_counter()
    await embedder.embed_batch(texts)
    return len(texts) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--texts", type=int, default=160)
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--rpm", type=int, default=100_000, help="limiter setting for the runs")
    args = parser.parse_args()
    texts = [
        f"clause {i}: the tenant shall pay rent on day {i % 28 + 1}" for i in range(args.texts)
    ]
    results: dict[str, Any] = {}
    with LocalBedrock() as server:
        server.latency_seconds = args.latency_ms / 1000
        for concurrency in (1, 8, 16):
            results[f"concurrency_{concurrency}_texts_per_s"] = round(
                asyncio.run(rate(server, concurrency, texts, args.rpm)), 1
            )
        limited_rpm = 1200  # 20 calls/s: below what concurrency 8 would reach
        observed = asyncio.run(rate(server, 8, texts[:60], limited_rpm)) * 60
        results["limiter"] = {"configured_rpm": limited_rpm, "observed_rpm": round(observed)}
    results["speedup_8_vs_1"] = round(
        results["concurrency_8_texts_per_s"] / results["concurrency_1_texts_per_s"], 2
    )
    output = {
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "parameters": {"texts": args.texts, "latency_ms_per_call": args.latency_ms},
        **results,
    }
    print(json.dumps(output, indent=2))
    out = ROOT / "benchmarks" / "results" / "bedrock_embedding.json"
    out.write_text(json.dumps(output, indent=2) + "\n")


if __name__ == "__main__":
    main()

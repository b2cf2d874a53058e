"""Start this stack's CodeBuild image build and wait for it; print the pushed digest.

Run by the ``command:local:Command`` of ``components/image_build.py`` during `pulumi up`
(environment: RAG_BUILD_PROJECT, RAG_BUILD_REPOSITORY, RAG_BUILD_TAG, RAG_BUILD_SOURCE,
RAG_BUILD_REGION). Contract: stdout is exactly ``sha256:<64 hex>`` on success; on failure
the exit status is 1 and stderr says which build failed and where its log is.
An image already tagged RAG_BUILD_TAG (the context hash) is not built again.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

import boto3
from botocore.exceptions import ClientError

POLL_SECONDS = 15.0
TIMEOUT_SECONDS = 45 * 60


class BuildFailed(Exception):
    pass


def pushed_digest(ecr: Any, repository: str, tag: str) -> str | None:
    try:
        images = ecr.describe_images(repositoryName=repository, imageIds=[{"imageTag": tag}])
    except ClientError as e:
        if e.response.get("Error", {}).get("Code") == "ImageNotFoundException":
            return None
        raise
    details = images.get("imageDetails") or []
    return str(details[0]["imageDigest"]) if details else None


def build_image(
    codebuild: Any,
    ecr: Any,
    *,
    project: str,
    repository: str,
    tag: str,
    source: str,
    poll_seconds: float = POLL_SECONDS,
    timeout_seconds: float = TIMEOUT_SECONDS,
) -> str:
    """The digest of ``repository:tag``, building it first if it is not there."""
    if digest := pushed_digest(ecr, repository, tag):
        return digest
    build = codebuild.start_build(
        projectName=project,
        sourceLocationOverride=source,
        environmentVariablesOverride=[{"name": "IMAGE_TAG", "value": tag, "type": "PLAINTEXT"}],
    )["build"]
    deadline = time.monotonic() + timeout_seconds
    while build.get("buildStatus") == "IN_PROGRESS":
        if time.monotonic() > deadline:
            raise BuildFailed(f"build {build['id']} still running after {timeout_seconds:.0f} s")
        time.sleep(poll_seconds)
        build = codebuild.batch_get_builds(ids=[build["id"]])["builds"][0]
    logs = build.get("logs", {}).get("deepLink", "the project's CloudWatch log group")
    if build.get("buildStatus") != "SUCCEEDED":
        raise BuildFailed(
            f"image build {build['id']} ended {build.get('buildStatus')} in phase "
            f"{build.get('currentPhase')}: see {logs}"
        )
    if digest := pushed_digest(ecr, repository, tag):
        return digest
    raise BuildFailed(f"build {build['id']} succeeded but pushed no {repository}:{tag} ({logs})")


def main() -> int:
    env = os.environ
    region = env["RAG_BUILD_REGION"]
    try:
        digest = build_image(
            boto3.client("codebuild", region_name=region),
            boto3.client("ecr", region_name=region),
            project=env["RAG_BUILD_PROJECT"],
            repository=env["RAG_BUILD_REPOSITORY"],
            tag=env["RAG_BUILD_TAG"],
            source=env["RAG_BUILD_SOURCE"],
        )
    except (BuildFailed, ClientError) as e:
        print(f"image build: {e}", file=sys.stderr)
        return 1
    print(digest)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The app's container image, built and pushed by the first `pulumi up` itself, with no
Docker engine on the deployer's machine: the program uploads the build context to S3, an
AWS CodeBuild project builds it (natively on Graviton for ARM64) and pushes it to this
stack's ECR repository, and the task definition or chart references the pushed **digest**.

Why CodeBuild and not pulumi-docker-build: the deployer (an ops laptop, a CI runner without
a privileged Docker daemon) needs no BuildKit, no QEMU for ARM64 and no registry password
in Pulumi state; the build runs in the account, next to the registry. The price is one
short local step: a `command:local:Command` starts the build and waits for it
(``python -m components.image_build_run``, boto3 only) and prints the digest.

The tag is the hash of the build context, so the IMMUTABLE repository never sees the same
tag twice for different content, an unchanged context builds nothing (the runner finds the
tag and returns its digest) and a changed one yields a new digest that rolls the service.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pulumi_command as command

from components.app_policy import assume_role_policy
from components.storage import DocumentBucket, DocumentBucketArgs

ROOT = Path(__file__).resolve().parents[1]
# The build context: what the Dockerfile copies (and .dockerignore admits), nothing else.
CONTEXT = ("Dockerfile", ".dockerignore", "pyproject.toml", "uv.lock", "README.md", "rag_app")
BUILD_IMAGES = {
    "ARM64": ("ARM_CONTAINER", "aws/codebuild/amazonlinux-aarch64-standard:3.0"),
    "X86_64": ("LINUX_CONTAINER", "aws/codebuild/amazonlinux-x86_64-standard:5.0"),
}
BUILDSPEC = """\
version: 0.2
phases:
  pre_build:
    on-failure: ABORT
    commands:
      - REGISTRY="${REPOSITORY_URL%%/*}"
      - aws ecr get-login-password | docker login -u AWS --password-stdin "$REGISTRY"
  build:
    on-failure: ABORT
    commands:
      - docker build --tag "$REPOSITORY_URL:$IMAGE_TAG" .
  post_build:
    on-failure: ABORT
    commands:
      - docker push "$REPOSITORY_URL:$IMAGE_TAG"
"""
RUNNER = "uv run --frozen python -m components.image_build_run"


def context_files(root: Path = ROOT) -> list[Path]:
    """Every file of the build context, sorted, caches left out."""
    files: list[Path] = []
    for entry in CONTEXT:
        path = root / entry
        if path.is_dir():
            files += [
                p
                for p in path.rglob("*")
                if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
            ]
        elif path.is_file():
            files.append(path)
    return sorted(files)


def context_tag(root: Path = ROOT) -> str:
    """``src-`` and 16 hex digits of the SHA-256 over the context's paths and contents."""
    digest = hashlib.sha256()
    for path in context_files(root):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return f"src-{digest.hexdigest()[:16]}"


@dataclass(frozen=True)
class ImageBuildArgs:
    architecture: str  # ARM64 | X86_64
    log_retention_days: int
    kms_key_arn: pulumi.Input[str] | None = None
    image_uri: str | None = None  # an existing image pinned by digest: build nothing
    build_timeout_minutes: int = 30


class ImageBuild(pulumi.ComponentResource):
    """``image_uri`` is ``<repository>@sha256:<digest>`` of the image this stack serves."""

    def __init__(
        self, name: str, args: ImageBuildArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("rag:components:ImageBuild", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.repository = aws.ecr.Repository(
            name,
            image_tag_mutability="IMMUTABLE",
            image_scanning_configuration={"scan_on_push": True},
            encryption_configurations=[
                {"encryption_type": "KMS", "kms_key": args.kms_key_arn}
                if args.kms_key_arn
                else {"encryption_type": "AES256"}
            ],
            opts=child,
        )
        aws.ecr.LifecyclePolicy(
            name,
            repository=self.repository.name,
            policy=json.dumps(
                {
                    "rules": [
                        {
                            "rulePriority": 1,
                            "description": "keep the 20 newest source builds",
                            "selection": {
                                "tagStatus": "tagged",
                                "tagPrefixList": ["src-"],
                                "countType": "imageCountMoreThan",
                                "countNumber": 20,
                            },
                            "action": {"type": "expire"},
                        }
                    ]
                }
            ),
            opts=child,
        )
        if args.image_uri:
            self.image_uri: pulumi.Output[str] = pulumi.Output.from_input(args.image_uri)
            self.register_outputs({"image_uri": self.image_uri})
            return
        tag = context_tag()
        archive = pulumi.AssetArchive(
            {p.relative_to(ROOT).as_posix(): pulumi.FileAsset(str(p)) for p in context_files()}
        )
        sources = DocumentBucket(
            f"{name}-build-source",
            DocumentBucketArgs(
                kms_key_arn=args.kms_key_arn, noncurrent_version_days=7, force_destroy=True
            ),
            opts=child,
        )
        source = aws.s3.BucketObjectv2(
            f"{name}-build-source",
            bucket=sources.bucket.id,
            key=f"source/{tag}.zip",
            source=archive,
            opts=child,
        )
        logs = aws.cloudwatch.LogGroup(
            f"{name}-build", retention_in_days=args.log_retention_days, opts=child
        )
        role = aws.iam.Role(
            f"{name}-build",
            assume_role_policy=assume_role_policy("codebuild.amazonaws.com"),
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-build",
            role=role.id,
            policy=pulumi.Output.all(
                self.repository.arn, sources.bucket.arn, logs.arn, args.kms_key_arn
            ).apply(lambda a: _build_policy(*a)),
            opts=child,
        )
        compute, image = BUILD_IMAGES[args.architecture]
        self.project = aws.codebuild.Project(
            f"{name}-build",
            service_role=role.arn,
            build_timeout=args.build_timeout_minutes,
            artifacts={"type": "NO_ARTIFACTS"},
            environment={
                "type": compute,
                "image": image,
                "compute_type": "BUILD_GENERAL1_MEDIUM",
                "privileged_mode": True,  # docker build inside the build container
                "environment_variables": [
                    {"name": "REPOSITORY_URL", "value": self.repository.repository_url},
                    {"name": "IMAGE_TAG", "value": tag},
                ],
            },
            source={
                "type": "S3",
                "location": pulumi.Output.concat(sources.bucket.bucket, "/", source.key),
                "buildspec": BUILDSPEC,
            },
            encryption_key=args.kms_key_arn,
            logs_config={"cloudwatch_logs": {"group_name": logs.name, "status": "ENABLED"}},
            opts=child,
        )
        region = aws.get_region_output().region
        self.build = command.local.Command(
            f"{name}-build",
            create=RUNNER,
            dir=str(ROOT),
            environment={
                "RAG_BUILD_PROJECT": self.project.name,
                "RAG_BUILD_REPOSITORY": self.repository.name,
                "RAG_BUILD_TAG": tag,
                "RAG_BUILD_SOURCE": pulumi.Output.concat(sources.bucket.bucket, "/", source.key),
                "RAG_BUILD_REGION": region,
            },
            triggers=[tag, self.project.arn],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[source, self.project]),
        )
        self.digest: pulumi.Output[str] = self.build.stdout.apply(lambda out: out.strip())
        self.image_uri = pulumi.Output.concat(self.repository.repository_url, "@", self.digest)
        self.register_outputs({"image_uri": self.image_uri, "tag": tag})


def _build_policy(
    repository_arn: str, bucket_arn: str, log_group_arn: str, kms_key_arn: str | None
) -> str:
    statements: list[dict[str, object]] = [
        {
            "Sid": "Push",
            "Effect": "Allow",
            "Action": [
                "ecr:BatchCheckLayerAvailability",
                "ecr:BatchGetImage",
                "ecr:CompleteLayerUpload",
                "ecr:GetDownloadUrlForLayer",
                "ecr:InitiateLayerUpload",
                "ecr:PutImage",
                "ecr:UploadLayerPart",
            ],
            "Resource": [repository_arn],
        },
        {
            # GetAuthorizationToken has no resource-level permissions: "*" is its only form.
            "Sid": "RegistryLogin",
            "Effect": "Allow",
            "Action": ["ecr:GetAuthorizationToken"],
            "Resource": "*",
        },
        {
            "Sid": "Source",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:GetObjectVersion"],
            "Resource": [f"{bucket_arn}/source/*"],
        },
        {
            "Sid": "Logs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [f"{log_group_arn.removesuffix(':*')}:*"],
        },
    ]
    if kms_key_arn:
        statements.append(
            {
                "Sid": "Key",
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": [kms_key_arn],
                "Condition": {
                    "StringEquals": {
                        "kms:ViaService": [
                            f"{service}.{kms_key_arn.split(':')[3]}.amazonaws.com"
                            for service in ("s3", "ecr", "logs")
                        ]
                    }
                },
            }
        )
    return json.dumps({"Version": "2012-10-17", "Statement": statements})

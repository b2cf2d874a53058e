"""The container registry: one ECR repository (scanned on push, immutable tags, old
untagged images expire). The image itself is built from the Dockerfile and pushed by the
release step (README, Deploy) or given as an existing URI in config."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True)
class ContainerImageArgs:
    image_tag: str
    image_uri: str | None = None


class ContainerImage(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: ContainerImageArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("rag:components:ContainerImage", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.repository = aws.ecr.Repository(
            name,
            image_tag_mutability="IMMUTABLE",
            image_scanning_configuration={"scan_on_push": True},
            encryption_configurations=[{"encryption_type": "AES256"}],
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
                            "description": "expire untagged images after 14 days",
                            "selection": {
                                "tagStatus": "untagged",
                                "countType": "sinceImagePushed",
                                "countUnit": "days",
                                "countNumber": 14,
                            },
                            "action": {"type": "expire"},
                        }
                    ]
                }
            ),
            opts=child,
        )
        self.image_uri: pulumi.Output[str] = (
            pulumi.Output.from_input(args.image_uri)
            if args.image_uri
            else self.repository.repository_url.apply(lambda url: f"{url}:{args.image_tag}")
        )
        self.register_outputs(
            {"repository_url": self.repository.repository_url, "image_uri": self.image_uri}
        )

"""The service's API keys: one Secrets Manager secret holding the hashed key list
(`rag-app keys create/revoke` edits it; the app re-reads it every 30 s). Pulumi creates it
empty and never writes it again, so `pulumi up` keeps the keys operators added."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True)
class ApiKeysSecretArgs:
    kms_key_arn: str | None = None


class ApiKeysSecret(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: ApiKeysSecretArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("rag:components:ApiKeysSecret", name, None, opts)
        self.secret = aws.secretsmanager.Secret(
            name,
            name_prefix=f"rag-{pulumi.get_stack()}-api-keys-",
            description="rag-app API keys: SHA-256 hashes and collection grants (rag-app keys)",
            kms_key_id=args.kms_key_arn,
            recovery_window_in_days=7,
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.secretsmanager.SecretVersion(
            name,
            secret_id=self.secret.id,
            secret_string="[]",  # noqa: S106 - an empty key list, not a password
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["secret_string"]),
        )
        self.arn: pulumi.Output[str] = self.secret.arn
        self.register_outputs({"arn": self.arn})

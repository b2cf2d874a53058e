"""The web app's sign-in key: one Secrets Manager secret every replica reads, so a browser
session sealed by one task or pod is opened by the next (without it each replica seals with
a key of its own and sign-in fails on every other request behind the load balancer).

Its value is 64 characters from Secrets Manager's own generator (GetRandomPassword): no
extra provider plugin. Pulumi writes it once and then ignores the value, so `pulumi up`
neither rotates it (which would sign everyone out) nor undoes an operator's rotation
(`aws secretsmanager put-secret-value`, then restart the tasks or pods)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

SESSION_SECRET_VARIABLE = "RAG_SESSION_SECRET"  # noqa: S105 - a variable name, not a value
LENGTH = 64


@dataclass(frozen=True)
class SessionSecretArgs:
    kms_key_arn: pulumi.Input[str] | None = None


class SessionSecret(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: SessionSecretArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("rag:components:SessionSecret", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.secret = aws.secretsmanager.Secret(
            name,
            name_prefix=f"rag-{pulumi.get_stack()}-session-",
            description="rag-app web sign-in key (RAG_SESSION_SECRET), shared by every replica",
            kms_key_id=args.kms_key_arn,
            recovery_window_in_days=7,
            opts=child,
        )
        generated = aws.secretsmanager.get_random_password_output(
            password_length=LENGTH, exclude_punctuation=True, opts=pulumi.InvokeOptions(parent=self)
        )
        aws.secretsmanager.SecretVersion(
            name,
            secret_id=self.secret.id,
            secret_string=pulumi.Output.secret(generated.random_password.apply(lambda v: v or "")),
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["secret_string"]),
        )
        self.arn: pulumi.Output[str] = self.secret.arn
        self.register_outputs({"arn": self.arn})

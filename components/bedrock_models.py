"""The IAM resources a Bedrock model id needs, for the app's policy.

A foundation-model id (``amazon.nova-lite-v1:0``) is one ARN without an account. A
system-defined cross-Region inference profile id (``us.amazon.nova-lite-v1:0``) needs the
profile's ARN in the stack's Region and account *and* the foundation model's ARN in every
Region the profile routes to ("you must also specify the foundation model in each Region
associated with it": https://docs.aws.amazon.com/bedrock/latest/userguide/inference-profiles-prereq.html).
Destination Regions per geography are from the inference-profile support page
(https://docs.aws.amazon.com/bedrock/latest/userguide/inference-profiles-support.html);
other prefixes (``global.``, application profiles) are refused with a message, so a stack
never deploys a policy that Bedrock would deny.
"""

from __future__ import annotations

import re

# Geography prefix -> the Regions its system-defined profiles may route to.
PROFILE_REGIONS: dict[str, tuple[str, ...]] = {
    "us": ("us-east-1", "us-east-2", "us-west-2"),
    "eu": ("eu-central-1", "eu-north-1", "eu-west-1", "eu-west-3"),
    "apac": ("ap-northeast-1", "ap-south-1", "ap-southeast-1", "ap-southeast-2"),
}
_MODEL = re.compile(r"^[a-z0-9-]+\.[a-zA-Z0-9.:_-]+$")


class UnsupportedModelId(ValueError):
    pass


def model_resource_arns(model_id: str, *, region: str, account: str) -> list[str]:
    """The ARNs ``bedrock:InvokeModel*`` must name for ``model_id`` called in ``region``."""
    if model_id.startswith("arn:"):
        raise UnsupportedModelId(
            f"{model_id!r}: give a model id or a system inference profile id (us./eu./apac.), "
            "not an ARN"
        )
    prefix, _, rest = model_id.partition(".")
    if prefix in PROFILE_REGIONS:
        if not _MODEL.match(rest):
            raise UnsupportedModelId(f"{model_id!r} is not <geo>.<provider>.<model>")
        if region not in PROFILE_REGIONS[prefix]:
            raise UnsupportedModelId(
                f"{model_id!r}: the {prefix}. profiles are called from "
                f"{', '.join(PROFILE_REGIONS[prefix])}, not {region}"
            )
        return [
            f"arn:aws:bedrock:{region}:{account}:inference-profile/{model_id}",
            *(f"arn:aws:bedrock:{r}::foundation-model/{rest}" for r in PROFILE_REGIONS[prefix]),
        ]
    if prefix in ("global", "us-gov", "jp", "au", "ca"):
        raise UnsupportedModelId(
            f"{model_id!r}: {prefix}. inference profiles are not supported by this program "
            f"(use a {'/'.join(p + '.' for p in PROFILE_REGIONS)} profile or a model id)"
        )
    if not _MODEL.match(model_id):
        raise UnsupportedModelId(f"{model_id!r} is not a Bedrock model id (<provider>.<model>)")
    return [f"arn:aws:bedrock:{region}::foundation-model/{model_id}"]

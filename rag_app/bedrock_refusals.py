"""Bedrock's refusals as errors an operator can act on.

A first deploy's likeliest fault is a model the account has not enabled, or an id that names
no model (or inference profile) in the region. Bedrock answers those with a ``ClientError``
whose detail otherwise lands only in the server log behind a ``500``. ``refusal`` turns the
codes below into ``ModelRefusedError`` (502) or ``ModelThrottledError`` (503), naming the
model and what to do; any other error is returned unchanged for the caller to re-raise.
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from rag_app import metrics
from rag_app.aws.calls import ErrorMap, error_code
from rag_app.errors import ModelRefusedError, ModelThrottledError, RagError

# Code -> what the operator should do about it.
REFUSED = {
    "AccessDeniedException": (
        "the service's role may not call it: enable access to the model in the Bedrock "
        "console (Model access) for this account and region, and check that the role's "
        "policy names the model (and, for an inference profile, the profile and each region "
        "it routes to)"
    ),
    "ResourceNotFoundException": (
        "no such model or inference profile in this region: check the model id "
        "(RAG_BEDROCK_*_MODEL_ID, rag:models in the stack) and the region"
    ),
    "ValidationException": (
        "the model rejected the request: check that the model id is one the service "
        "supports (a Titan v2 embedding model, a Converse-capable answer model) and that "
        "on-demand use is allowed (some models need an inference profile id such as us.<id>)"
    ),
}
THROTTLED = {
    "ThrottlingException": "the model's request quota is used up for now; retry shortly",
    "ServiceQuotaExceededException": (
        "the account's quota for the model is exceeded: retry later or raise the quota "
        "(Service Quotas, Amazon Bedrock)"
    ),
    "TooManyRequestsException": "the model's request quota is used up for now; retry shortly",
}


def refusal(error: ClientError, model_id: str, operation: str) -> RagError | ClientError:
    """The domain error for Bedrock's answer ``error`` to ``operation`` on ``model_id``,
    or ``error`` itself when it is not a refusal (a fault the caller re-raises)."""
    code = error_code(error)
    message = str(error.response.get("Error", {}).get("Message", "")).strip()
    said = f" (Bedrock said: {message})" if message else ""
    if code in REFUSED:
        metrics.emit(metrics.BEDROCK_REFUSALS, Model=model_id, Code=code)
        return ModelRefusedError(
            f"Bedrock {operation} on model {model_id} was refused with {code}: "
            f"{REFUSED[code]}{said}"
        )
    if code in THROTTLED:
        metrics.emit(metrics.BEDROCK_THROTTLES, Model=model_id)
        return ModelThrottledError(
            f"Bedrock {operation} on model {model_id} was throttled ({code}): "
            f"{THROTTLED[code]}{said}"
        )
    return error


def refusal_errors(model_id: str) -> ErrorMap:
    """The ``AwsCalls`` error map for calls on ``model_id``: each refusal and quota code to
    its readable error (the botocore retries of throttling come first)."""
    return {code: (lambda op, e: refusal(e, model_id, op)) for code in (*REFUSED, *THROTTLED)}

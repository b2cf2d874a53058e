"""A local bedrock-runtime server (InvokeModel for Titan Text Embeddings v2, Converse and
ConverseStream) that also answers bedrock-agent-runtime's Rerank: a test double that the
real boto3 clients reach through ``AWS_ENDPOINT_URL_BEDROCK_RUNTIME`` and
``AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME``. Its embeddings are hashed bags of words and its
rerank scores word overlap (lexical, not semantic); its answers are scripted or quote the
first passage; it exists to exercise the protocol, retries, streaming and citation checks,
not answer quality."""

from rag_app_dev.bedrock_local.server import LocalBedrock

__all__ = ["LocalBedrock"]

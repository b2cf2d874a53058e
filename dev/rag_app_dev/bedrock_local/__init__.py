"""A local bedrock-runtime server (InvokeModel for Titan Text Embeddings v2, Converse and
ConverseStream): a test double that the real boto3 client reaches through
``AWS_ENDPOINT_URL_BEDROCK_RUNTIME``. Its embeddings are hashed bags of words (lexical, not
semantic) and its answers are scripted or quote the first passage; it exists to exercise
the protocol, retries, streaming and citation checks, not answer quality."""

from rag_app_dev.bedrock_local.server import LocalBedrock

__all__ = ["LocalBedrock"]

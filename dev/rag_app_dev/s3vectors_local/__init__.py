"""A local Amazon S3 Vectors server: a test double and a dev tool, not a production store.

It speaks the real wire protocol (rest-json, ``POST /<Operation>``), so the real boto3
client talks to it through ``endpoint_url`` or ``AWS_ENDPOINT_URL_S3VECTORS``.
"""

from rag_app_dev.s3vectors_local.server import LocalS3Vectors

__all__ = ["LocalS3Vectors"]

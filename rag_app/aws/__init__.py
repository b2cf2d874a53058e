"""How the app calls AWS: clients built once with one retry policy (``clients``), one call
wrapper mapping botocore errors to the project's (``calls``), waiting for batch jobs
(``jobs``), and S3 Vectors' documented limits (``s3vectors_rules``)."""

"""Database credentials kept in AWS Secrets Manager (Option 2: the RDS-managed master user
secret of the Aurora cluster). Nothing is cached: the connection pool asks for credentials
each time it opens a connection, so a rotated password is picked up by the next connection
without a restart, and the password never sits in settings, environment or Pulumi state."""

from __future__ import annotations

import json
from typing import Any

import anyio.to_thread

from rag_app.errors import ConfigurationError


class SecretsManagerCredentials:
    """``await credentials()`` returns ``{"user", "password"}`` from a secret whose value is
    JSON with ``username`` and ``password`` (the shape RDS writes). Raises
    ``ConfigurationError`` naming the secret, never its value, when it has another shape."""

    def __init__(self, client: Any, secret_arn: str) -> None:
        self._client = client
        self._secret_arn = secret_arn

    async def __call__(self) -> dict[str, str]:
        response = await anyio.to_thread.run_sync(
            lambda: self._client.get_secret_value(SecretId=self._secret_arn)
        )
        try:
            value = json.loads(response.get("SecretString") or "")
            user, password = value["username"], value["password"]
        except (ValueError, KeyError, TypeError):
            raise ConfigurationError(
                f"secret {self._secret_arn} is not JSON with username and password"
            ) from None
        if not isinstance(user, str) or not isinstance(password, str):
            raise ConfigurationError(
                f"secret {self._secret_arn}: username and password must be strings"
            )
        return {"user": user, "password": password}

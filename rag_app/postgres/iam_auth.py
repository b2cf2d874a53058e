"""Logging in to Aurora with IAM database authentication: the password is a token that
``rds.generate_db_auth_token`` signs locally with the process's AWS credentials (the task or
pod role, which holds ``rds-db:connect`` on this one database user). A token is valid for 15
minutes and only for opening connections, so this renews it after ``renew_after_seconds``
(10 minutes by default), well before it expires; open connections are unaffected."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import anyio.to_thread

TOKEN_LIFETIME_SECONDS = 15 * 60


class IamAuthCredentials:
    """``await credentials()`` returns ``{"user", "password"}``, the password a current IAM
    auth token for ``user`` at ``host:port``. Same contract as ``SecretsManagerCredentials``:
    the pool awaits it for every new connection."""

    def __init__(
        self,
        client: Any,
        *,
        host: str,
        port: int,
        user: str,
        renew_after_seconds: float = 10 * 60,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0 < renew_after_seconds < TOKEN_LIFETIME_SECONDS:
            raise ValueError("renew_after_seconds must be under the token's 15 minutes")
        self._client = client
        self._host, self._port, self._user = host, port, user
        self._renew_after = renew_after_seconds
        self._clock = clock
        self._token: str | None = None
        self._issued = 0.0

    async def __call__(self) -> dict[str, str]:
        now = self._clock()
        if self._token is None or now - self._issued >= self._renew_after:
            self._token = await anyio.to_thread.run_sync(self._sign)
            self._issued = now
        return {"user": self._user, "password": self._token}

    def _sign(self) -> str:
        token: str = self._client.generate_db_auth_token(
            DBHostname=self._host, Port=self._port, DBUsername=self._user
        )
        return token

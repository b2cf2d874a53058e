"""The application's least-privilege database role, made by ``rag-app init-db`` with the
owner's (the master user's) credentials.

The role may log in and run DML on the service's tables (catalog, jobs, conversations,
vectors and their keyword counts), but owns nothing and may create nothing: no DDL, so
the schema is the owner's to migrate (``init-db`` after an upgrade). On the audit table it
has INSERT and SELECT only: no UPDATE, DELETE or TRUNCATE, and not being the owner it
cannot drop the table's guard triggers or grant itself more. With ``iam`` it is granted
``rds_iam`` (Aurora IAM authentication: the app logs in with a token, no password).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from rag_app.audit.postgres import TABLE as AUDIT_TABLE
from rag_app.errors import InvalidInputError

ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
DML = "SELECT, INSERT, UPDATE, DELETE"


@dataclass(frozen=True, slots=True)
class AppRole:
    name: str
    created: bool  # False: it existed and its grants were renewed
    tables: int  # tables it has DML on (the audit table excluded)


async def ensure_app_role(
    conn: psycopg.AsyncConnection[Any],
    *,
    name: str,
    password: str | None = None,
    iam: bool = False,
) -> AppRole:
    """Create the role (or renew its grants) in the connected database. Idempotent: run it
    again after every schema upgrade, so new tables are granted too."""
    if not ROLE_NAME.match(name):
        raise InvalidInputError(f"{name!r} is not a plain lowercase role name")
    role = sql.Identifier(name)
    async with conn.transaction():
        owner = await (await conn.execute("SELECT current_user")).fetchone()
        if owner is not None and owner[0] == name:
            raise InvalidInputError(
                f"connected as {name!r}: run init-db with the owner's credentials, not the app's"
            )
        exists = await (
            await conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,))
        ).fetchone()
        verb = sql.SQL("ALTER" if exists else "CREATE")
        login: sql.Composable = sql.SQL("LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE")
        if password:
            login = sql.SQL("{} PASSWORD {}").format(login, sql.Literal(password))
        await conn.execute(sql.SQL("{} ROLE {} {}").format(verb, role, login))
        if iam:
            await conn.execute(sql.SQL("GRANT rds_iam TO {}").format(role))
        database = await (await conn.execute("SELECT current_database()")).fetchone()
        assert database is not None
        await conn.execute(
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                sql.Identifier(str(database[0])), role
            )
        )
        await conn.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(role))
        await conn.execute(sql.SQL("REVOKE CREATE ON SCHEMA public FROM {}").format(role))
        tables = [
            str(r[0])
            for r in await (
                await conn.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                    " AND tablename <> %s ORDER BY tablename",
                    (AUDIT_TABLE,),
                )
            ).fetchall()
        ]
        for table in tables:
            await conn.execute(
                sql.SQL("GRANT {} ON {} TO {}").format(sql.SQL(DML), sql.Identifier(table), role)
            )
        audit = sql.Identifier(AUDIT_TABLE)
        await conn.execute(sql.SQL("REVOKE ALL ON {} FROM PUBLIC, {}").format(audit, role))
        await conn.execute(sql.SQL("GRANT SELECT, INSERT ON {} TO {}").format(audit, role))
        await conn.execute(
            sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {}").format(role)
        )
    return AppRole(name, created=exists is None, tables=len(tables))

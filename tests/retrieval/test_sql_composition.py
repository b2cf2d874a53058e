"""No string-built SQL in rag_app/: every statement that reaches ``execute`` (or ``copy``,
``executemany``) is a string literal, a module-level constant, or a
``psycopg.sql`` composition whose template is itself a literal or a constant; values
travel as bound parameters. SQL built with f-strings, ``%``, ``+`` or ``.format`` inside
a function is refused, except in a helper that only ever runs at import time with
constant arguments (it builds module-level constants). The checker reads the syntax tree,
and is itself tested on planted examples."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.conftest import ROOT

EXECUTING = {"execute", "executemany", "copy"}
# Text that reads as a statement or a clause of one (not a message that mentions SQL).
SQL_WORDS = re.compile(
    r"^\s*\(?\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|TRUNCATE|GRANT|COPY|WITH|SET"
    r"|WHERE|AND|OR|ORDER BY|GROUP BY|LIMIT|OFFSET|VALUES|ON CONFLICT|FROM|JOIN)\b"
)
FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


def _literal_text(node: ast.expr) -> str:
    """The literal parts of a string expression, for telling SQL from other text."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(_literal_text(v) for v in node.values)
    if isinstance(node, ast.BinOp):
        return _literal_text(node.left) + " " + _literal_text(node.right)
    return ""


def _builds_sql(node: ast.AST) -> bool:
    """An f-string, ``%``, ``+`` or ``str.format`` whose literal text reads as SQL."""
    if isinstance(node, ast.JoinedStr):
        return bool(SQL_WORDS.search(_literal_text(node)))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod | ast.Add):
        return bool(SQL_WORDS.search(_literal_text(node)))
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "format"
        and isinstance(node.func.value, ast.Constant)
        and isinstance(node.func.value.value, str)
    ):
        return bool(SQL_WORDS.search(node.func.value.value))
    return False


def _module_constants(tree: ast.Module) -> set[str]:
    return {
        target.id
        for statement in tree.body
        if isinstance(statement, ast.Assign | ast.AnnAssign)
        for target in (
            statement.targets if isinstance(statement, ast.Assign) else [statement.target]
        )
        if isinstance(target, ast.Name)
    }


def _imported_constants(tree: ast.Module) -> set[str]:
    """Names imported from a module of ours (``from rag_app.x import NAME as ALIAS``) that
    are module constants there, as this checker counts them: a statement kept as a constant
    in one module may be executed in another."""
    found: set[str] = set()
    for statement in tree.body:
        if not isinstance(statement, ast.ImportFrom) or not statement.module:
            continue
        if statement.module.split(".")[0] != "rag_app":
            continue
        base = Path(__file__).resolve().parents[2].joinpath(*statement.module.split("."))
        path = base / "__init__.py" if base.is_dir() else base.with_suffix(".py")
        if not path.is_file():
            continue
        constants = _module_constants(ast.parse(path.read_text()))
        found |= {a.asname or a.name for a in statement.names if a.name in constants}
    return found


class _Module:
    def __init__(self, source: str) -> None:
        self.tree = ast.parse(source)
        self.parents: dict[ast.AST, ast.AST] = {}
        for parent in ast.walk(self.tree):
            for child in ast.iter_child_nodes(parent):
                self.parents[child] = parent
        self.constants = {
            target.id
            for statement in self.tree.body
            if isinstance(statement, ast.Assign | ast.AnnAssign)
            for target in (
                statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            )
            if isinstance(target, ast.Name)
        }
        self.constants |= _imported_constants(self.tree)
        self.functions = {
            node.name: node
            for node in ast.walk(self.tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        }

    def enclosing_function(self, node: ast.AST) -> ast.AST | None:
        while node in self.parents:
            node = self.parents[node]
            if isinstance(node, FUNCTIONS):
                return node
        return None

    def calls_of(self, name: str) -> list[ast.Call]:
        return [
            node
            for node in ast.walk(self.tree)
            if isinstance(node, ast.Call)
            and (
                (isinstance(node.func, ast.Name) and node.func.id == name)
                or (isinstance(node.func, ast.Attribute) and node.func.attr == name)
            )
        ]

    def is_constant_builder(self, function: ast.AST) -> bool:
        """A helper called only at module level, with literals and constants: what it
        builds is a module-level constant."""
        if not isinstance(function, ast.FunctionDef):
            return False
        calls = self.calls_of(function.name)
        return bool(calls) and all(
            self.enclosing_function(call) is None
            and all(
                isinstance(a, ast.Constant) or (isinstance(a, ast.Name) and a.id in self.constants)
                for a in [*call.args, *(k.value for k in call.keywords)]
            )
            for call in calls
        )

    def safe_statement(self, node: ast.expr, function: ast.AST | None, depth: int = 0) -> bool:
        """Whether ``node``, as the statement given to execute, is a literal, a constant,
        or a psycopg.sql composition of those."""
        if depth > 8:
            return False
        if isinstance(node, ast.Constant):
            return isinstance(node.value, str | bytes)
        if isinstance(node, ast.Name):
            return self._safe_name(node.id, function, depth)
        if isinstance(node, ast.Call):
            return self._safe_composition(node, function, depth)
        return False

    def _safe_name(self, name: str, function: ast.AST | None, depth: int) -> bool:
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            assigned = [
                n.value
                for n in ast.walk(function)
                if isinstance(n, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == name for t in n.targets)
            ]
            if assigned:
                return all(self.safe_statement(v, function, depth + 1) for v in assigned)
            parameters = [a.arg for a in function.args.args]
            if name in parameters:  # a pass-through: what every caller hands it
                return self._safe_argument(function, parameters.index(name), name, depth)
        return name in self.constants

    def _safe_argument(
        self, function: ast.FunctionDef | ast.AsyncFunctionDef, index: int, name: str, depth: int
    ) -> bool:
        calls = self.calls_of(function.name)
        if not calls:
            return False
        offset = 1 if function.args.args and function.args.args[0].arg == "self" else 0
        for call in calls:
            given = [k.value for k in call.keywords if k.arg == name]
            if not given and len(call.args) > index - offset:
                given = [call.args[index - offset]]
            caller = self.enclosing_function(call)
            if not given or not self.safe_statement(given[0], caller, depth + 1):
                return False
        return True

    def _safe_composition(self, node: ast.Call, function: ast.AST | None, depth: int) -> bool:
        """``sql.X(...)`` possibly followed by ``.format(...)``/``.join(...)``: the template
        given to ``sql.SQL`` must itself be safe; the other parts are sql objects."""
        func = node.func
        if isinstance(func, ast.Name) and func.id in self.functions:
            return self._safe_builder(self.functions[func.id], depth)
        if not isinstance(func, ast.Attribute):
            return False
        if isinstance(func.value, ast.Name) and func.value.id == "sql":
            if func.attr != "SQL":
                return func.attr in {"Identifier", "Literal", "Placeholder", "Composed"}
            return len(node.args) == 1 and self.safe_statement(node.args[0], function, depth + 1)
        if func.attr in {"format", "join"} and isinstance(func.value, ast.Call):
            return self._safe_composition(func.value, function, depth)
        return False

    def _safe_builder(self, function: ast.FunctionDef | ast.AsyncFunctionDef, depth: int) -> bool:
        """A function of this module that composes a statement: every value it returns is
        safe (its parameters are checked against what its callers hand it)."""
        returned = [
            n.value
            for n in ast.walk(function)
            if isinstance(n, ast.Return)
            and n.value is not None
            and self.enclosing_function(n) is function
        ]
        return bool(returned) and all(
            self.safe_statement(value, function, depth + 1) for value in returned
        )


def sql_problems(source: str, filename: str = "<string>") -> list[str]:
    """Where ``source`` builds SQL from strings or hands execute something else."""
    module = _Module(source)
    problems = []
    for node in ast.walk(module.tree):
        function = module.enclosing_function(node)
        if _builds_sql(node) and function is not None and not module.is_constant_builder(function):
            problems.append(f"{filename}:{node.lineno}: SQL built from strings in a function")
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in EXECUTING
            and node.args
            and not module.safe_statement(node.args[0], function)
        ):
            problems.append(
                f"{filename}:{node.lineno}: {node.func.attr}() of a statement that is not a "
                "literal, a module constant or a psycopg.sql composition"
            )
    return problems


def test_no_string_built_sql_reaches_the_database() -> None:
    files = sorted((ROOT / "rag_app").rglob("*.py"))
    problems = [p for f in files for p in sql_problems(f.read_text(), str(f.relative_to(ROOT)))]
    assert problems == []
    executes = sum(
        1
        for f in files
        for n in ast.walk(ast.parse(f.read_text()))
        if isinstance(n, ast.Call)
        and isinstance(n.func, ast.Attribute)
        and n.func.attr in EXECUTING
        and n.args
    )
    print(f"\n{len(files)} files, {executes} execute/copy calls, all on composed or constant SQL")
    assert executes >= 10, "the checker no longer sees the calls it is meant to check"


PLANTED = {
    "a function that composes the caller's text": """
from psycopg import sql
def _statement(template):
    return sql.SQL(template)
def find(cursor, text):
    cursor.execute(_statement(text))
find(None, input())
""",
    "a function that returns a built string": """
def _statement(table):
    return "SELECT * FROM " + table
def find(cursor, table):
    cursor.execute(_statement(table))
""",
    "f-string with a value": """
async def find(conn, name):
    await conn.execute(f"SELECT * FROM rag_documents WHERE title = '{name}'")
""",
    "percent formatting into a local": """
def find(cursor, document_id):
    statement = "DELETE FROM rag_documents WHERE document_id = '%s'" % document_id
    cursor.execute(statement)
""",
    "concatenation": """
def find(cursor, limit):
    cursor.execute("SELECT * FROM rag_jobs LIMIT " + str(limit))
""",
    "str.format": """
def find(cursor, column):
    cursor.execute("SELECT {} FROM rag_documents".format(column))
""",
    "an f-string template inside sql.SQL": """
from psycopg import sql
def find(cursor, table):
    cursor.execute(sql.SQL(f"SELECT * FROM {table}"))
""",
    "a helper handed a built string": """
class Catalog:
    async def _one(self, statement, params):
        await self.cursor.execute(statement, params)
    async def get(self, key):
        return await self._one("SELECT * FROM t WHERE k = '" + key + "'", {})
""",
    "a clause appended to a constant": """
QUERY = "SELECT * FROM rag_documents"
def find(cursor, collection):
    cursor.execute(QUERY + f" WHERE collection = '{collection}'")
""",
    "a value from the caller as the statement": """
def run(cursor, user_sql):
    cursor.execute(user_sql)
run(None, input())
""",
}

SAFE = {
    "a function that composes constants": """
from psycopg import sql
PART = "count(*)"
QUERY = "SELECT {part} FROM {table}"
def _statement(template, table):
    return sql.SQL(template).format(part=sql.SQL(PART), table=table)
def find(cursor, name):
    cursor.execute(_statement(QUERY, sql.Identifier(name)))
""",
    "constants and bound parameters": """
COLUMNS = "a, b"
QUERY = f"SELECT {COLUMNS} FROM t WHERE a = %(a)s"
def find(cursor, a):
    cursor.execute(QUERY, {"a": a})
    cursor.execute("SELECT 1")
""",
    "psycopg.sql composition": """
from psycopg import sql
TEMPLATE = "SELECT * FROM {table} WHERE {conditions}"
def find(cursor, table, key):
    conditions = sql.SQL(" AND ").join([sql.SQL("{} = {}").format(sql.Identifier(key), sql.Placeholder(key))])
    statement = sql.SQL(TEMPLATE).format(table=sql.Identifier(table), conditions=conditions)
    cursor.execute(statement, {key: 1})
""",
    "a message that mentions SQL": """
def check(version):
    raise ValueError(f"pgvector {version}: run ALTER EXTENSION vector UPDATE")
""",
    "a builder run only at import": """
def _upsert(table, columns):
    return f"INSERT INTO {table} ({columns}) VALUES (%s)"
SAVE = _upsert("t", "a")
class Store:
    async def _one(self, statement, params):
        await self.cursor.execute(statement, params)
    async def save(self):
        await self._one(SAVE, {})
""",
}


@pytest.mark.parametrize("source", PLANTED.values(), ids=PLANTED.keys())
def test_the_checker_catches_planted_string_built_sql(source: str) -> None:
    assert sql_problems(source)


@pytest.mark.parametrize("source", SAFE.values(), ids=SAFE.keys())
def test_the_checker_accepts_composed_and_constant_sql(source: str) -> None:
    assert sql_problems(source) == []

"""What the OpenAPI schema says beyond what Litestar infers from handler signatures: the
bearer security scheme, the Server-Sent Events of ``/ask`` and the binary downloads, so a
client generated from the schema works against the service as it really answers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import msgspec
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import OpenAPIRenderPlugin
from litestar.openapi.spec import Components, Operation, SecurityScheme

from rag_app import __version__

BEARER = "BearerAuth"
# Every endpoint but /health: an API key (``rag-app keys create``) or an OIDC access token.
SECURITY: list[dict[str, list[str]]] = [{BEARER: []}]

DESCRIPTION = """\
Retrieval-augmented answers over a legal team's documents, with page (or time) citations
whose quotes are checked against the cited passage.

Every endpoint but `/health/*` needs `Authorization: Bearer <API key or OIDC token>`; a
caller only ever sees the collections its credential grants. Errors are RFC 9457 problem
details (`application/problem+json`), except under `/v1`, which answers OpenAI-shaped
error objects for OpenAI clients.
"""

# The events of ``POST /ask`` with ``Accept: text/event-stream``, in order.
ASK_EVENTS_DESCRIPTION = """\
Server-Sent Events, in this order:
- `delta` (zero or more): `{"text": "..."}`, the answer's text as it is written;
- `answer` (one): an `AskOut`, the whole verified answer with its citations (authoritative:
  markers renumbered, unsupported ones removed);
- `done` (one): `{}`.
"""


class ExtraContentOperation(Operation):
    """An operation whose response ``status`` gets the content types of ``content`` (added
    to what Litestar inferred, or in its place with ``replace``). Subclassed per handler
    by ``operation_with``; Litestar builds it from the handler's ``operation_class``."""

    status: ClassVar[str]
    content: ClassVar[dict[str, dict[str, Any]]]
    replace: ClassVar[bool]

    def to_schema(self) -> dict[str, Any]:
        schema = super().to_schema()
        response = schema["responses"][self.status]
        inferred = {} if self.replace else response.get("content", {})
        response["content"] = {**inferred, **self.content}
        return schema


def operation_with(
    status: int, content: dict[str, dict[str, Any]], *, replace: bool = False
) -> type[Operation]:
    """An ``operation_class`` for a handler: see ``ExtraContentOperation``."""
    attributes = {"status": str(status), "content": content, "replace": replace}
    return type("ExtraContent", (ExtraContentOperation,), attributes)


def binary(media_types: list[str]) -> dict[str, dict[str, Any]]:
    """Response content of raw bytes in any of ``media_types``."""
    return {t: {"schema": {"type": "string", "format": "binary"}} for t in media_types}


def inline_schema(type_: type) -> dict[str, Any]:
    """The JSON Schema of a msgspec type with its ``$defs`` substituted in place, for a
    response declared by hand (``operation_with``); the types must not be recursive."""
    root = msgspec.json.schema(type_)
    defs = root.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return resolve(defs[ref.removeprefix("#/$defs/")])
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    resolved: dict[str, Any] = resolve(root)
    return resolved


def event_stream(description: str, events: Mapping[str, type]) -> dict[str, dict[str, Any]]:
    """``text/event-stream`` content; ``events`` maps each event name to the type of its
    JSON ``data``, whose JSON Schema (self-contained) is listed in the ``x-events``
    extension, since OpenAPI 3.1 has no way to type the events of a stream."""
    return {
        "text/event-stream": {
            "schema": {"type": "string", "description": description},
            "x-events": {name: msgspec.json.schema(t) for name, t in events.items()},
        }
    }


def openapi_config(*, render_plugins: Sequence[OpenAPIRenderPlugin] = ()) -> OpenAPIConfig:
    """The schema at ``/schema/openapi.json`` (and its pages under ``/schema``, rendered by
    ``render_plugins``)."""
    return OpenAPIConfig(
        title="rag-app",
        render_plugins=list(render_plugins),
        version=__version__,
        description=DESCRIPTION,
        path="/schema",
        use_handler_docstrings=True,
        components=Components(
            security_schemes={
                BEARER: SecurityScheme(
                    type="http",
                    scheme="bearer",
                    bearer_format="API key or OIDC access token (JWT)",
                    description="An API key from `rag-app keys create`, or an access token "
                    "from the configured OIDC issuer; its grants decide which collections "
                    "the caller may read and write.",
                )
            },
        ),
    )

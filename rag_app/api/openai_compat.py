"""An OpenAI-compatible face on question answering, for the assistants a team already has
(Open WebUI, editor plugins, the ``openai`` SDK): ``POST /v1/chat/completions`` (plain and
streamed) and ``GET /v1/models``, with the same bearer credentials and collection grants as
the rest of the API.

The last message must be the user's: it is the question; earlier user and assistant
messages are the conversation it follows up (see ``rag_app.followups``); system messages
are ignored (the answerer's instructions are its own). The answer keeps its ``[n]``
markers; its sources travel in two extension fields, ``citations`` (``CitationOut``, the
n-th entry is marker ``[n]``) and ``grounded``, on the completion and on the last chunk of a
stream. Errors are OpenAI error objects, ``{"error": {"message", "type", "param",
"code"}}``, so OpenAI clients raise their usual exceptions.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody
from litestar.response import ServerSentEvent, ServerSentEventMessage
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from rag_app.api.errors import STATUS_OF, internal_error_handler
from rag_app.api.openapi import SECURITY, event_stream, operation_with
from rag_app.api.schemas import CitationOut, Filters, Mode, TopK
from rag_app.auth.principal import Principal
from rag_app.domain import Answer, AnswerDelta
from rag_app.errors import NotFoundError, RagError
from rag_app.followups import FollowUpResolver, PrecedingQuestion, Turn
from rag_app.services import Services

MAX_BODY_BYTES = 4 * 1024 * 1024  # a long conversation; each message is bounded below
OWNER = "rag-app"

# What an OpenAI client expects in ``error.type`` (and ``error.code``) for each status.
ERROR_TYPES: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("permission_error", None),
    404: ("invalid_request_error", "not_found"),
    413: ("invalid_request_error", "request_too_large"),
    429: ("rate_limit_error", "rate_limit_exceeded"),
    500: ("server_error", None),
    503: ("server_error", "service_unavailable"),
}


def model_id(services: Services) -> str:
    """The one model the service offers: its configured answerer."""
    return f"{OWNER}-{services.settings.answerer}"


# --- request ------------------------------------------------------------------------------


class ContentPart(msgspec.Struct):
    """A part of a message's content; only ``text`` parts are read."""

    type: str
    text: str | None = None


class ChatMessage(msgspec.Struct):
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: Annotated[str, msgspec.Meta(max_length=100_000)] | list[ContentPart] | None = None

    @property
    def text(self) -> str:
        if isinstance(self.content, list):
            return "\n".join(p.text for p in self.content if p.type == "text" and p.text)
        return self.content or ""


class ChatCompletionIn(msgspec.Struct):
    """OpenAI's request; fields this service has no use for (``temperature``, ``n``,
    ``tools``, ...) are accepted and ignored. ``top_k``, ``filters`` and ``mode`` are
    this service's extensions, as on ``/ask``."""

    model: str
    messages: Annotated[list[ChatMessage], msgspec.Meta(min_length=1, max_length=200)]
    stream: bool = False
    top_k: TopK = 5
    filters: Filters = msgspec.field(default_factory=dict)
    mode: Mode = None


# --- responses ----------------------------------------------------------------------------


class ModelOut(msgspec.Struct):
    id: str
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str = OWNER


class ModelListOut(msgspec.Struct):
    data: list[ModelOut]
    object: Literal["list"] = "list"


class AssistantMessageOut(msgspec.Struct):
    content: str  # the answer, with its [n] citation markers
    role: Literal["assistant"] = "assistant"


class ChoiceOut(msgspec.Struct):
    message: AssistantMessageOut
    index: int = 0
    finish_reason: Literal["stop"] = "stop"


class ChatCompletionOut(msgspec.Struct):
    id: str
    created: int
    model: str
    choices: list[ChoiceOut]
    citations: list[CitationOut]  # extension: the n-th entry is the source of marker [n]
    grounded: bool  # extension: false when no passage supports an answer
    object: Literal["chat.completion"] = "chat.completion"


class DeltaOut(msgspec.Struct, omit_defaults=True):
    role: Literal["assistant"] | None = None
    content: str | None = None


class ChunkChoiceOut(msgspec.Struct):
    delta: DeltaOut
    index: int = 0
    finish_reason: Literal["stop"] | None = None


class ChatCompletionChunkOut(msgspec.Struct, omit_defaults=True):
    """A streamed piece. The last one (``finish_reason: "stop"``) carries the extensions:
    ``citations``, ``grounded`` and ``answer``, the verified text (which differs from the
    streamed text only when verification removed or renumbered a marker)."""

    id: str
    created: int
    model: str
    choices: list[ChunkChoiceOut]
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    citations: list[CitationOut] | None = None
    grounded: bool | None = None
    answer: str | None = None


class OpenAIError(msgspec.Struct):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class OpenAIErrorOut(msgspec.Struct):
    error: OpenAIError


# --- errors -------------------------------------------------------------------------------


def openai_error(
    status: int, message: str, headers: dict[str, str] | None = None
) -> Response[OpenAIErrorOut]:
    kind, code = ERROR_TYPES.get(status, ("server_error", None))
    return Response(
        OpenAIErrorOut(OpenAIError(message=message, type=kind, code=code)),
        status_code=status,
        headers=headers,
    )


def _http_error(_: Request[Any, Any, Any], exc: HTTPException) -> Response[OpenAIErrorOut]:
    message = exc.detail
    if isinstance(exc, ValidationException) and exc.extra:
        message = f"{message}: {msgspec.json.encode(exc.extra).decode()}"
    return openai_error(exc.status_code, message, exc.headers)


def _rag_error(_: Request[Any, Any, Any], exc: RagError) -> Response[OpenAIErrorOut]:
    status = next((s for cls, s in STATUS_OF.items() if isinstance(exc, cls)), 500)
    return openai_error(status, str(exc))


def _internal_error(request: Request[Any, Any, Any], exc: Exception) -> Response[OpenAIErrorOut]:
    internal_error_handler(request, exc)  # logs it
    return openai_error(
        HTTP_500_INTERNAL_SERVER_ERROR, "internal error; the server log has details"
    )


def _errors(*statuses: int) -> dict[int, ResponseSpec]:
    return {
        s: ResponseSpec(
            OpenAIErrorOut, description=f"OpenAI error object ({s})", generate_examples=False
        )
        for s in sorted({400, 401, 429, 500, 503, *statuses})
    }


# --- the conversation ---------------------------------------------------------------------


async def _question(messages: Sequence[ChatMessage], follow_ups: FollowUpResolver) -> str:
    last = messages[-1]
    if last.role != "user" or not last.text.strip():
        raise ValidationException("the last message must be the user's question, with text")
    history = [
        Turn(role=m.role, text=m.text)
        for m in messages[:-1]
        if m.role in ("user", "assistant") and m.text.strip()
    ]
    return await follow_ups.standalone(last.text, history)


async def _chunks(
    events: AsyncIterator[AnswerDelta | Answer], completion_id: str, created: int, model: str
) -> AsyncIterator[ServerSentEventMessage]:
    def message(chunk: ChatCompletionChunkOut) -> ServerSentEventMessage:
        return ServerSentEventMessage(data=msgspec.json.encode(chunk).decode())

    first = True
    async for event in events:
        if isinstance(event, AnswerDelta):
            delta = DeltaOut(role="assistant" if first else None, content=event.text)
            first = False
            yield message(
                ChatCompletionChunkOut(completion_id, created, model, [ChunkChoiceOut(delta)])
            )
        else:
            yield message(
                ChatCompletionChunkOut(
                    completion_id,
                    created,
                    model,
                    [ChunkChoiceOut(DeltaOut(), finish_reason="stop")],
                    citations=[CitationOut.of(c) for c in event.citations],
                    grounded=event.grounded,
                    answer=event.text,
                )
            )
    yield ServerSentEventMessage(data="[DONE]")


def _preceding_question() -> FollowUpResolver:
    return PrecedingQuestion()


STREAM_DESCRIPTION = (
    "With `stream: true`: OpenAI chat completion chunks as unnamed Server-Sent Events, "
    "the last with `finish_reason: stop` and the `citations`, `grounded` and `answer` "
    "extensions, then `data: [DONE]`."
)


class OpenAIController(Controller):
    path = "/v1"
    tags = ("openai",)
    security = SECURITY
    dependencies = {"follow_ups": Provide(_preceding_question, sync_to_thread=False)}  # noqa: RUF012
    exception_handlers = {  # noqa: RUF012 (Litestar reads it from the class)
        HTTPException: _http_error,
        RagError: _rag_error,
        Exception: _internal_error,
    }

    @get("/models", operation_id="listModels", responses=_errors())
    async def models(self, services: NamedDependency[Services]) -> ModelListOut:
        """The models ``/v1/chat/completions`` accepts: the configured answerer."""
        return ModelListOut(data=[ModelOut(id=model_id(services))])

    @post(
        "/chat/completions",
        operation_id="createChatCompletion",
        status_code=200,
        request_max_body_size=MAX_BODY_BYTES,
        responses={
            200: ResponseSpec(
                ChatCompletionOut,
                description="The completion, or its chunks with stream: true",
                generate_examples=False,
            ),
            **_errors(404, 413),
        },
        operation_class=operation_with(
            200, event_stream(STREAM_DESCRIPTION, {"message": ChatCompletionChunkOut})
        ),
    )
    async def chat_completions(
        self,
        data: JSONBody[ChatCompletionIn],
        services: NamedDependency[Services],
        principal: NamedDependency[Principal],
        follow_ups: NamedDependency[FollowUpResolver],
    ) -> Response[ChatCompletionOut] | ServerSentEvent:
        """An answer from the documents the caller may read, as an OpenAI chat completion:
        the last message is the question, earlier ones the conversation it follows. The
        answer text keeps its ``[n]`` markers; ``citations[n-1]`` is the source of ``[n]``."""
        model = model_id(services)
        if data.model != model:
            raise NotFoundError(
                f"the model {data.model!r} does not exist; this service offers {model!r}"
            )
        question = await _question(data.messages, follow_ups)
        completion_id = f"chatcmpl-{uuid.uuid4().hex}"
        created = int(time.time())
        if data.stream:
            events = await services.queries.ask_stream(
                question,
                top_k=data.top_k,
                filters=data.filters,
                collections=principal.readable,
                mode=data.mode,
            )
            return ServerSentEvent(_chunks(events, completion_id, created, model))
        answer = await services.queries.ask(
            question,
            top_k=data.top_k,
            filters=data.filters,
            collections=principal.readable,
            mode=data.mode,
        )
        return Response(
            ChatCompletionOut(
                id=completion_id,
                created=created,
                model=model,
                choices=[ChoiceOut(AssistantMessageOut(answer.text))],
                citations=[CitationOut.of(c) for c in answer.citations],
                grounded=answer.grounded,
            )
        )

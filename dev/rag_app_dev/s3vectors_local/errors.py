"""Errors as AWS returns them: the code in ``x-amzn-ErrorType``, ``{"message"}`` in the body
(and ``fieldList`` for ValidationException), the status code from the service model."""

from __future__ import annotations

from dataclasses import dataclass, field

STATUS = {
    "ValidationException": 400,
    "SerializationException": 400,
    "AccessDeniedException": 403,
    "NotFoundException": 404,
    "RequestTimeoutException": 408,
    "ConflictException": 409,
    "ServiceQuotaExceededException": 402,  # sic: the model says 402
    "TooManyRequestsException": 429,
    "InternalServerException": 500,
    "ServiceUnavailableException": 503,
}


@dataclass
class ServiceError(Exception):
    code: str
    message: str
    field_list: list[dict[str, str]] = field(default_factory=list)

    @property
    def status(self) -> int:
        return STATUS[self.code]

    def body(self) -> dict[str, object]:
        body: dict[str, object] = {"message": self.message}
        if self.code == "ValidationException" and self.field_list:
            body["fieldList"] = self.field_list
        return body


def validation(message: str, path: str | None = None) -> ServiceError:
    fields = [{"path": path, "message": message}] if path else []
    return ServiceError("ValidationException", message, fields)


def not_found(what: str) -> ServiceError:
    return ServiceError("NotFoundException", f"The specified {what} could not be found")

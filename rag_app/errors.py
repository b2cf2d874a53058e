"""Domain errors. The web layer maps each class to one HTTP status (api/errors.py)."""


class RagError(Exception):
    """Base class; ``str(error)`` is a message fit to show the user."""


class NotFoundError(RagError):
    """An id that names nothing."""


class ForbiddenError(RagError):
    """A caller whose credential does not grant the action (write to a collection)."""


class InvalidInputError(RagError):
    """A request that cannot be acted on as given (empty file, bad metadata, bad filter)."""


class UnsupportedMediaError(RagError):
    """A file whose type the service does not ingest."""


class PayloadTooLargeError(RagError):
    """An input over a configured limit."""


class UnprocessableDocumentError(RagError):
    """A file of a supported type that cannot be read (malformed, encrypted, no text)."""


class ReaderCrashedError(UnprocessableDocumentError):
    """The file's reader died of a signal (a native crash, or killed from outside): it may
    be the file or the moment (memory pressure), so a queue worker tries it again."""


class ConfigurationError(RagError):
    """Settings that cannot work together, or a missing optional dependency."""


class ModelRefusedError(RagError):
    """A model the service is configured with refused its call (no access granted, an id
    that names no model in the region, a request it rejects): the operator must act."""


class ModelThrottledError(RagError):
    """A model's quota is exhausted for now (throttling after retries, a service quota)."""

"""One exception tree; third-party errors are mapped into it where they are caught.

InterviewerError                  base: every error a user may see
├── ContentError                  a card, rubric or prompt file is malformed (names file + field)
├── UnknownTrapError              a trap id that is not in the catalog (carries nearest ids)
├── InvalidInputError             empty query, empty answer, bad batch line
│   ├── TooLargeError             an answer or message over the configured size
│   └── ConflictError             a second open dispute of one decision, one already settled, or the
│                                 results of a batch job still running
├── IndexError_                   the retrieval index cannot be built or reached
├── ModelError                    a model call failed
│   ├── ModelUnavailableError     no model reachable after retries and fallbacks
│   ├── ModelOutputError          the model kept returning invalid structured output
│   └── LocalModelError           the embedded model file is missing or fails its checksum
├── SessionError                  an unknown or finished interview session
└── StorageError                  the database is locked or unreachable, or batch output cannot be written
"""

from __future__ import annotations


class InterviewerError(Exception):
    """Base of every error this service raises on purpose."""

    status_code = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ContentError(InterviewerError):
    """A content file (card, rubric, prompt) is malformed."""

    def __init__(self, path: object, field: str, problem: str) -> None:
        super().__init__(f"{path}: field '{field}': {problem}")
        self.path = str(path)
        self.field = field


class UnknownTrapError(InterviewerError):
    """A trap id that the catalog does not hold."""

    status_code = 404

    def __init__(self, trap_id: str, nearest: list[str]) -> None:
        hint = f"; nearest ids: {', '.join(nearest)}" if nearest else ""
        super().__init__(f"unknown trap id '{trap_id}'{hint}")
        self.trap_id = trap_id
        self.nearest = nearest


class InvalidInputError(InterviewerError):
    """Input that cannot be used as given."""

    status_code = 422


class TooLargeError(InvalidInputError):
    """An answer or message longer than INTERVIEWER_MAX_ANSWER_CHARS: a 422 like any field out of bounds
    (413 is for a request too large to read, which is not what happened)."""


class ConflictError(InvalidInputError):
    """A valid request the stored state does not allow now: done already, or not done yet."""

    status_code = 409


class IndexError_(InterviewerError):  # noqa: N801 - avoid shadowing the builtin IndexError
    """The retrieval index failed."""

    status_code = 503


class ModelError(InterviewerError):
    """A model call failed."""

    status_code = 503


class ModelUnavailableError(ModelError):
    """No configured model answered after retries and fallbacks."""


class ModelOutputError(ModelError):
    """The model's output did not validate, even after a repair attempt."""


class LocalModelError(ModelError):
    """The embedded model file is missing, incomplete or corrupted."""


class SessionError(InterviewerError):
    """An interview session that does not exist or cannot take this message."""

    status_code = 404


class StorageError(InterviewerError):
    """Where state is kept cannot take it now: the database is locked or gone, or the disk is full.
    Nothing from the failed request was saved, so trying again later is safe."""

    status_code = 503

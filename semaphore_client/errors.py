"""The one exception tree of ``semaphore_client``.

    SemaphoreError                 root: catch this to catch everything the client raises
    ├── TransportError             no HTTP answer: connection refused/reset, DNS, time-out
    ├── DecodeError                an answer arrived but its body is not what the API documents
    └── ApiError                   the server answered with a 4xx/5xx status
        ├── BadRequest             400
        │   └── PromotionRefused   400 from POST /promotions (override needed, target cordoned…)
        ├── Unauthorized           401 (bad or missing token)
        ├── Forbidden              403 (e.g. deployment targets not enabled for the org)
        ├── NotFound               404 (unknown or invisible resource, wrong org)
        ├── RateLimited            429
        └── ServerError            5xx

Every error carries ``status`` (``None`` when no HTTP answer arrived) and ``message`` (the
server's own text when there was one). Errors from httpx and pydantic are translated at the
boundary with ``raise ... from exc`` so the original stays on ``__cause__``.
"""

from __future__ import annotations


class SemaphoreError(Exception):
    """Root of every error raised by ``semaphore_client``."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status

    def __str__(self) -> str:
        if self.status is None:
            return self.message
        return f"{self.status}: {self.message}"


class TransportError(SemaphoreError):
    """The request got no HTTP answer (connection error or time-out)."""


class DecodeError(SemaphoreError):
    """The server answered 2xx but the body does not match the documented shape."""


class ApiError(SemaphoreError):
    """The server answered with an error status; ``message`` is its body's text."""

    status: int

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message, status=status)


class BadRequest(ApiError):
    """400: the server refused the request as invalid."""


class PromotionRefused(BadRequest):
    """400 from a promotion trigger: Semaphore refused to start the promotion."""

    @property
    def needs_override(self) -> bool:
        """The source pipeline has not passed and ``override`` was not set."""
        return "requires override confirmation" in self.message

    @property
    def promotion_missing(self) -> bool:
        """The source pipeline's file declares no promotion of that name."""
        return "Target for switch" in self.message and "not found" in self.message

    @property
    def target_cordoned(self) -> bool:
        """The promotion's deployment target is deactivated."""
        return "deployment target is cordoned" in self.message


class Unauthorized(ApiError):
    """401: the API token is missing, wrong, or lacks the permission."""


class Forbidden(ApiError):
    """403: the organization may not use this feature."""


class NotFound(ApiError):
    """404: the resource does not exist or the token cannot see it."""


class RateLimited(ApiError):
    """429: too many requests."""


class ServerError(ApiError):
    """5xx: the server failed."""


_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    429: RateLimited,
}


def error_for_status(status: int, message: str) -> ApiError:
    """The exception that stands for an error answer with this status."""
    if status >= 500:
        return ServerError(message, status=status)
    return _BY_STATUS.get(status, ApiError)(message, status=status)

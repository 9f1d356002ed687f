"""Errors as RFC 9457 problem details for API clients; HTML pages render their own.

Services raise `Problem` subclasses; the app turns them into `application/problem+json`
responses (or a friendly page for browsers, see `atende.web`). Every problem has a stable
`type` URI, so clients can branch on it.
"""

from typing import Any

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_BASE = "https://atende.dev/problems/"


class Problem(Exception):
    status: int = 400
    code: str = "bad-request"
    title: str = "Bad request"

    def __init__(self, detail: str = "", **extensions: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extensions = extensions

    def to_dict(self, instance: str = "") -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + self.code,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        body.update(self.extensions)
        return body


class InvalidInput(Problem):
    status, code, title = 422, "invalid-input", "Invalid input"


class MalformedBody(Problem):
    status, code, title = 400, "malformed-body", "Malformed request body"


class NotAuthenticated(Problem):
    status, code, title = 401, "not-authenticated", "Authentication required"


class InvalidCredentials(Problem):
    status, code, title = 401, "invalid-credentials", "Invalid e-mail or password"


class CsrfFailed(Problem):
    status, code, title = 403, "csrf-failed", "Missing or invalid CSRF token"


class Forbidden(Problem):
    status, code, title = 403, "forbidden", "Not allowed for your role"


class NotFound(Problem):
    status, code, title = 404, "not-found", "Not found"


class Conflict(Problem):
    status, code, title = 409, "conflict", "Conflict"


class Gone(Problem):
    status, code, title = 410, "gone", "No longer available"


class PayloadTooLarge(Problem):
    status, code, title = 413, "payload-too-large", "Request body too large"


class UnsupportedMediaType(Problem):
    status, code, title = 415, "unsupported-media-type", "Unsupported media type"


class RateLimited(Problem):
    status, code, title = 429, "rate-limited", "Too many requests"


class SignupDisabled(Problem):
    status, code, title = 403, "signup-disabled", "Sign-up is disabled on this server"

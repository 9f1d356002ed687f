"""Turns every error into a precise response: problem+json for API clients, a page for people."""

import logging
from collections.abc import Callable, Mapping

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from atende.core.errors import PROBLEM_CONTENT_TYPE, InvalidInput, MalformedBody, Problem

log = logging.getLogger("atende.errors")

HtmlRenderer = Callable[[Request, Problem], Response]
_BY_STATUS: dict[int, tuple[str, str]] = {
    400: ("bad-request", "Bad request"),
    401: ("not-authenticated", "Authentication required"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    406: ("not-acceptable", "Not acceptable"),
    413: ("payload-too-large", "Request body too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    429: ("rate-limited", "Too many requests"),
}


def wants_html(request: Request) -> bool:
    path = request.url.path
    if path.startswith(("/api/", "/webhooks/")):
        return False
    return "text/html" in request.headers.get("accept", "")


def _problem_from_http(exc: StarletteHTTPException) -> Problem:
    code, title = _BY_STATUS.get(exc.status_code, ("error", "Error"))
    problem = Problem(str(exc.detail) if exc.detail else title)
    problem.status, problem.code, problem.title = exc.status_code, code, title
    return problem


def _validation_problem(exc: RequestValidationError) -> Problem:
    errors = [
        {
            "loc": [str(part) for part in error.get("loc", ())],
            "msg": str(error.get("msg", "")),
            "type": str(error.get("type", "")),
        }
        for error in exc.errors()
    ]
    if any(e["type"] == "json_invalid" for e in errors):
        return MalformedBody("The body is not valid JSON.", errors=errors)
    return InvalidInput("Some fields are missing or invalid.", errors=errors)


def install_error_handlers(app: FastAPI, render_html: HtmlRenderer) -> None:
    def respond(
        request: Request, problem: Problem, extra_headers: Mapping[str, str] | None = None
    ) -> Response:
        level = logging.ERROR if problem.status >= 500 else logging.INFO
        log.log(
            level,
            "problem",
            extra={"status": problem.status, "code": problem.code, "path": request.url.path},
        )
        headers = dict(extra_headers or {})
        if "retry_after" in problem.extensions:
            headers["Retry-After"] = str(problem.extensions["retry_after"])
        if wants_html(request):
            page = render_html(request, problem)
            page.headers.update(headers)
            return page
        return JSONResponse(
            problem.to_dict(request.url.path),
            status_code=problem.status,
            media_type=PROBLEM_CONTENT_TYPE,
            headers=headers,
        )

    async def on_problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Problem)
        return respond(request, exc)

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        # Keeps e.g. the `Allow` header of a 405, which HTTP requires.
        return respond(request, _problem_from_http(exc), exc.headers)

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return respond(request, _validation_problem(exc))

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error", exc_info=exc)
        problem = Problem("Something went wrong on our side; it has been logged.")
        problem.status, problem.code, problem.title = 500, "internal", "Internal error"
        return respond(request, problem)

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(Exception, on_unexpected)

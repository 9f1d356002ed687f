"""Friendly error pages for browsers: what happened and what to do, in the user's language."""

import html
import logging

from fastapi import Request, Response
from fastapi.responses import HTMLResponse

from atende.core.errors import Problem
from atende.web.shell import login_redirect, render

log = logging.getLogger("atende.web")


def render_error_page(request: Request, problem: Problem) -> Response:
    # Signed out (or the session expired) while browsing: the sign-in page is the way forward.
    if problem.status == 401 and request.method == "GET":
        return login_redirect(request)
    try:
        response: Response = render(
            request,
            "error.html",
            status_code=problem.status,
            status=problem.status,
            code=problem.code,
            detail=problem.detail,
        )
    except Exception:  # the error page itself must never fail: fall back to plain HTML
        log.exception("error page failed")
        response = HTMLResponse(
            f"<!doctype html><title>{problem.status}</title><h1>{html.escape(problem.title)}</h1>"
            f'<p>{html.escape(problem.detail)}</p><p><a href="/">Atende</a></p>',
            status_code=problem.status,
        )
    if retry_after := problem.extensions.get("retry_after"):
        response.headers["Retry-After"] = str(retry_after)
    return response

"""Friendly error pages for browsers."""

from fastapi import Request, Response
from fastapi.responses import HTMLResponse

from atende.core.errors import Problem


def render_error_page(request: Request, problem: Problem) -> Response:
    return HTMLResponse(f"<h1>{problem.title}</h1><p>{problem.detail}</p>", status_code=problem.status)

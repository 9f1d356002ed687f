"""The editor's knowledge section (pasted text, FAQ pairs, files, web pages) and its
playground.

The playground asks through `playground.run_turn`, which ends the transaction before the brain
may wait on a model; operators may use it too. Changes to knowledge are for managers.
"""

from typing import Any

from fastapi import APIRouter, Form, Request, Response
from pydantic import ValidationError

from atende.agents import knowledge
from atende.agents.editor_view import box_of, editor, render, text_form
from atende.agents.forms import FieldError
from atende.agents.playground import run_turn
from atende.agents.routes import _file_source, _reindex, _url_source
from atende.agents.schemas import FaqSourceIn, TextSourceIn, UrlSourceIn
from atende.core.access import Principal
from atende.core.deps import DbSession, client_ip
from atende.core.errors import Problem
from atende.core.schemas import PathId
from atende.web.guards import PageManager, PagePrincipal
from atende.web.shell import is_htmx, problem_message, redirect, shell_of

router = APIRouter(include_in_schema=False)
MAX_QUESTION = 4096


def _back(request: Request, agent_id: int) -> Response:
    return redirect(request, f"/agents/{agent_id}#knowledge")


async def _refused(
    request: Request,
    session: DbSession,
    principal: Principal,
    *,
    agent_id: int,
    message: str,
    form: dict[str, Any] | None = None,
) -> Response:
    await session.rollback()
    return await editor(
        request,
        session,
        principal,
        agent_id,
        status_code=422,
        knowledge_error=message,
        knowledge_form=form or {},
    )


def _t(request: Request, key: str, **values: Any) -> str:
    return shell_of(request).translator(request)(key, **values)


@router.post("/agents/{agent_id}/knowledge/text")
async def add_text(
    request: Request, principal: PageManager, session: DbSession, agent_id: PathId
) -> Response:
    form = await text_form(request)
    try:
        data = TextSourceIn(kind="text", title=form.get("title", ""), text=form.get("text", ""))
    except ValidationError:
        message = _t(request, "agents.knowledge.error.text")
        return await _refused(
            request, session, principal, agent_id=agent_id, message=message, form=form
        )
    await knowledge.add_text(
        session,
        org_id=principal.org_id,
        agent_id=agent_id,
        data=data,
        actor=principal.actor(client_ip(request)),
    )
    return _back(request, agent_id)


@router.post("/agents/{agent_id}/knowledge/faq")
async def add_faq(
    request: Request, principal: PageManager, session: DbSession, agent_id: PathId
) -> Response:
    raw = await request.form()
    questions = [str(q).strip() for q in raw.getlist("question")][:200]
    answers = [str(a).strip() for a in raw.getlist("answer")][:200]
    pairs = [
        {"question": q, "answer": a} for q, a in zip(questions, answers, strict=False) if q or a
    ]
    title = str(raw.get("title") or "").strip()
    try:
        data = FaqSourceIn(kind="faq", title=title, pairs=pairs)
    except ValidationError:
        message = _t(request, "agents.knowledge.error.faq")
        form = {"title": title, "pairs": pairs}
        return await _refused(
            request, session, principal, agent_id=agent_id, message=message, form=form
        )
    await knowledge.add_faq(
        session,
        org_id=principal.org_id,
        agent_id=agent_id,
        data=data,
        actor=principal.actor(client_ip(request)),
    )
    return _back(request, agent_id)


@router.get("/agents/{agent_id}/knowledge/sources")
async def sources_fragment(
    request: Request, principal: PagePrincipal, session: DbSession, agent_id: PathId
) -> Response:
    """The list of sources, fetched again by the page on each `knowledge.progress` event."""
    sources = await knowledge.list_sources(session, org_id=principal.org_id, agent_id=agent_id)
    return render(
        request,
        "agents/_sources.html",
        agent={"id": agent_id},
        sources=sources,
        can_manage=principal.role.can_manage,
    )


@router.get("/agents/{agent_id}/knowledge/faq-row")
async def faq_row(
    request: Request, principal: PageManager, agent_id: PathId, n: int = 0
) -> Response:
    """One more empty question/answer pair for the FAQ form ("Add another")."""
    return render(request, "agents/_faq_row.html", n=max(0, min(n, 999)), pair={})


@router.post("/agents/{agent_id}/knowledge/file")
async def add_file(
    request: Request, principal: PageManager, session: DbSession, agent_id: PathId
) -> Response:
    await knowledge.list_sources(session, org_id=principal.org_id, agent_id=agent_id)  # 404
    try:
        await _file_source(request, session, principal, agent_id)
    except Problem as problem:
        if problem.status == 404:
            raise
        t = shell_of(request).translator(request)
        message = problem_message(t, problem, "agents.knowledge")
        return await _refused(request, session, principal, agent_id=agent_id, message=message)
    return _back(request, agent_id)


@router.post("/agents/{agent_id}/knowledge/url")
async def add_url(
    request: Request, principal: PageManager, session: DbSession, agent_id: PathId
) -> Response:
    """A web page: fetched and read now; what went wrong is said precisely (the address
    refused, the page missing, not HTML, too large, too slow)."""
    form = await text_form(request)
    try:
        data = UrlSourceIn(kind="url", url=form.get("url", ""), title=form.get("title", ""))
    except ValidationError:
        message = _t(request, "agents.knowledge.error.url")
        return await _refused(
            request, session, principal, agent_id=agent_id, message=message, form=form
        )
    try:
        await _url_source(request, session, principal, agent_id, data)
    except Problem as problem:
        if problem.status == 404:
            raise
        message = _t(request, "agents.knowledge.url_refused", detail=problem.detail)
        return await _refused(
            request, session, principal, agent_id=agent_id, message=message, form=form
        )
    return _back(request, agent_id)


@router.post("/agents/{agent_id}/knowledge/{source_id}/delete")
async def delete_source(
    request: Request,
    principal: PageManager,
    session: DbSession,
    agent_id: PathId,
    source_id: PathId,
) -> Response:
    await knowledge.delete_source(
        session,
        org_id=principal.org_id,
        agent_id=agent_id,
        source_id=source_id,
        actor=principal.actor(client_ip(request)),
    )
    return _back(request, agent_id)


@router.post("/agents/{agent_id}/knowledge/{source_id}/reindex")
async def reindex_source(
    request: Request,
    principal: PageManager,
    session: DbSession,
    agent_id: PathId,
    source_id: PathId,
) -> Response:
    try:
        await _reindex(request, session, principal, agent_id, source_id)
    except Problem as problem:
        if problem.status == 404:
            raise
        t = shell_of(request).translator(request)
        message = problem_message(t, problem, "agents.knowledge")
        if problem.code.startswith("outbound-") or problem.extensions.get("field") == "url":
            message = t("agents.knowledge.url_refused", detail=problem.detail)
        return await _refused(request, session, principal, agent_id=agent_id, message=message)
    return _back(request, agent_id)


@router.post("/agents/{agent_id}/playground")
async def ask_playground(
    request: Request,
    principal: PagePrincipal,
    session: DbSession,
    agent_id: PathId,
    text: str = Form(default="", max_length=MAX_QUESTION * 2),
) -> Response:
    """One turn of the agent: a fragment for htmx, else the editor with the answer."""
    question = text.strip()
    answer = None
    errors: dict[str, FieldError] = {}
    if not question or len(question) > MAX_QUESTION:
        errors["question"] = FieldError("agents.playground.error.empty")
    else:
        answer = await run_turn(
            session,
            org_id=principal.org_id,
            agent_id=agent_id,
            text=question,
            box=box_of(request),
            settings=request.app.state.settings,
        )
    status_code = 422 if errors else 200
    if is_htmx(request):
        return render(
            request,
            "agents/_answer.html",
            status_code=status_code,
            answer=answer,
            question=question,
            playground_errors=errors,
        )
    return await editor(
        request,
        session,
        principal,
        agent_id,
        status_code=status_code,
        answer=answer,
        question=question,
        playground_errors=errors,
    )

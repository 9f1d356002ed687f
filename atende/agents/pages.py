"""The agents pages: the list, and the editor (persona, model, behaviour) with its knowledge
and the playground docked beside it.

Everyone in the organisation sees the agents and may ask the playground; owners and admins
create, edit and delete them. A form is validated whole before the service is called, so a
refused field saves nothing; its error is shown beside it, in the reader's language.
"""

from fastapi import APIRouter, Request, Response
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from atende.agents import knowledge_pages, probe, service, tool_pages
from atende.agents.editor_view import box_of, editor, render, text_form
from atende.agents.forms import FieldError, FormInvalid, agent_in, agent_patch
from atende.agents.models import Agent, KnowledgeSource
from atende.core import directory
from atende.core.access import Principal
from atende.core.deps import DbSession, client_ip, end_transaction_before_io
from atende.core.errors import Problem
from atende.core.schemas import PathId
from atende.web.guards import PageManager, PagePrincipal
from atende.web.shell import problem_message, redirect, shell_of

router = APIRouter(include_in_schema=False)


async def _numbers_of_agents(session: DbSession, org_id: int) -> dict[int, list[str]]:
    """The numbers each agent answers, learnt through `core.directory`."""
    names = await directory.instance_names(session, org_id=org_id)
    used: dict[int, list[str]] = {}
    for instance_id, name in names.items():
        agent_id = await directory.agent_of_instance(session, instance_id=instance_id)
        if agent_id is not None:
            used.setdefault(agent_id, []).append(name)
    return used


@router.get("/agents")
async def agents_page(request: Request, principal: PagePrincipal, session: DbSession) -> Response:
    agents = await service.list_agents(session, org_id=principal.org_id)
    rows = await session.execute(
        select(KnowledgeSource.agent_id, func.count())
        .where(KnowledgeSource.org_id == principal.org_id)
        .group_by(KnowledgeSource.agent_id)
    )
    counts = {int(agent_id): int(count) for agent_id, count in rows.tuples()}
    return render(
        request,
        "agents/list.html",
        agents=agents,
        counts=counts,
        numbers=await _numbers_of_agents(session, principal.org_id),
        can_manage=principal.role.can_manage,
    )


@router.get("/agents/new")
async def new_agent_page(request: Request, principal: PageManager, session: DbSession) -> Response:
    return await editor(request, session, principal, None)


@router.get("/agents/{agent_id}")
async def agent_page(
    request: Request, principal: PagePrincipal, session: DbSession, agent_id: PathId
) -> Response:
    return await editor(request, session, principal, agent_id)


def _message(request: Request, problem: Problem) -> str:
    return problem_message(shell_of(request).translator(request), problem, "agents")


async def _saved(request: Request, session: AsyncSession, agent: Agent) -> Response:
    """Back to the editor, saying whether the model server answered (saved either way)."""
    url = f"/agents/{agent.id}?saved=1"
    profile = service.profile_of(agent, box_of(request))
    await end_transaction_before_io(session)
    warning = await probe.model_server_warning(profile)
    return redirect(request, url + (f"&warn={warning}" if warning else ""))


@router.post("/agents")
async def create_agent(request: Request, principal: PageManager, session: DbSession) -> Response:
    form = await text_form(request)
    try:
        agent = await service.create_agent(
            session,
            org_id=principal.org_id,
            data=agent_in(form),
            box=box_of(request),
            actor=principal.actor(client_ip(request)),
        )
    except FormInvalid as invalid:
        return await _refused(
            request, session, principal, agent_id=None, form=form, errors=invalid.errors
        )
    except Problem as problem:
        await session.rollback()
        message = _message(request, problem)
        return await _refused(
            request, session, principal, agent_id=None, form=form, errors={}, message=message
        )
    return await _saved(request, session, agent)


async def _refused(
    request: Request,
    session: DbSession,
    principal: Principal,
    *,
    agent_id: int | None,
    form: dict[str, str],
    errors: dict[str, FieldError],
    message: str = "",
) -> Response:
    form["api_key"] = ""  # secrets are never echoed back
    t = shell_of(request).translator(request)
    return await editor(
        request,
        session,
        principal,
        agent_id,
        status_code=422,
        form=form,
        errors=errors,
        error=message or t("agents.error.summary", count=len(errors)),
    )


@router.post("/agents/{agent_id}")
async def update_agent(
    request: Request, principal: PageManager, session: DbSession, agent_id: PathId
) -> Response:
    form = await text_form(request)
    try:
        data = agent_in(form)
        agent = await service.update_agent(
            session,
            org_id=principal.org_id,
            agent_id=agent_id,
            data=agent_patch(data, form),
            box=box_of(request),
            actor=principal.actor(client_ip(request)),
        )
    except FormInvalid as invalid:
        return await _refused(
            request, session, principal, agent_id=agent_id, form=form, errors=invalid.errors
        )
    except Problem as problem:
        if problem.status == 404:
            raise
        await session.rollback()
        message = _message(request, problem)
        return await _refused(
            request, session, principal, agent_id=agent_id, form=form, errors={}, message=message
        )
    return await _saved(request, session, agent)


@router.post("/agents/{agent_id}/delete")
async def delete_agent(
    request: Request, principal: PageManager, session: DbSession, agent_id: PathId
) -> Response:
    await service.delete_agent(
        session,
        org_id=principal.org_id,
        agent_id=agent_id,
        actor=principal.actor(client_ip(request)),
    )
    return redirect(request, "/agents")


router.include_router(knowledge_pages.router)  # the knowledge section and the playground
router.include_router(tool_pages.router)  # the tools section

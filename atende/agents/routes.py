"""REST API of the agents module: agents, their knowledge, the playground and the model calls
behind a conversation's answers."""

import asyncio
import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status
from fastapi.exceptions import RequestValidationError
from pydantic import Field, TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import UploadFile

from atende.agents import knowledge, probe, service
from atende.agents.extract import extract, suffix_of
from atende.agents.llm_calls import calls_of_conversation
from atende.agents.models import Agent, KnowledgeSource, LlmCall
from atende.agents.playground import run_turn
from atende.agents.schemas import (
    AgentIn,
    AgentOut,
    AgentPatch,
    FaqSourceIn,
    KnowledgeSourceOut,
    LlmCallDetails,
    LlmCallOut,
    PlaygroundIn,
    PlaygroundOut,
    TextSourceIn,
    UrlSourceIn,
)
from atende.agents.webpage import read_page
from atende.core.deps import (
    CurrentPrincipal,
    DbSession,
    ManagerPrincipal,
    client_ip,
    end_transaction_before_io,
)
from atende.core.errors import InvalidInput, MalformedBody, PayloadTooLarge, UnsupportedMediaType
from atende.core.netguard import OutboundPolicy
from atende.core.schemas import PathId, check_storable
from atende.core.security import SecretBox
from atende.inbox import conversations

router = APIRouter(prefix="/api/v1", tags=["agents"])

MAX_FILE_BYTES = 10 * 1024 * 1024  # within the server's body limit (ATENDE_MAX_BODY_BYTES)
SourceIn = Annotated[TextSourceIn | FaqSourceIn | UrlSourceIn, Field(discriminator="kind")]
_SOURCE_IN: TypeAdapter[TextSourceIn | FaqSourceIn | UrlSourceIn] = TypeAdapter(SourceIn)
_KNOWLEDGE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [
                        TextSourceIn.model_json_schema(),
                        FaqSourceIn.model_json_schema(),
                        UrlSourceIn.model_json_schema(),
                    ]
                }
            },
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "title": {"type": "string", "maxLength": 200},
                    },
                }
            },
        },
    }
}


def _box(request: Request) -> SecretBox:
    box: SecretBox = request.app.state.secret_box
    return box


@router.post("/agents", response_model=AgentOut, status_code=201)
async def create_agent(
    body: AgentIn, request: Request, principal: ManagerPrincipal, session: DbSession
) -> AgentOut:
    agent = await service.create_agent(
        session,
        org_id=principal.org_id,
        data=body,
        box=_box(request),
        actor=principal.actor(client_ip(request)),
    )
    return await _saved_out(agent, request, session)


async def _saved_out(agent: Agent, request: Request, session: AsyncSession) -> AgentOut:
    out = service.agent_out(agent, _box(request))
    profile = service.profile_of(agent, _box(request))
    await end_transaction_before_io(session)  # no write lock held while the server is probed
    warning = await probe.model_server_warning(profile)
    if warning is not None:
        out.warnings.append(probe.WARNING_TEXTS[warning].format(url=out.base_url))
    return out


@router.get("/agents", response_model=list[AgentOut])
async def list_agents(
    request: Request, principal: CurrentPrincipal, session: DbSession
) -> list[AgentOut]:
    rows = await service.list_agents(session, org_id=principal.org_id)
    return [service.agent_out(row, _box(request)) for row in rows]


@router.get("/agents/{agent_id}", response_model=AgentOut)
async def get_agent(
    agent_id: PathId, request: Request, principal: CurrentPrincipal, session: DbSession
) -> AgentOut:
    agent = await service.get_agent(session, org_id=principal.org_id, agent_id=agent_id)
    return service.agent_out(agent, _box(request))


@router.patch("/agents/{agent_id}", response_model=AgentOut)
async def update_agent(
    agent_id: PathId,
    body: AgentPatch,
    request: Request,
    principal: ManagerPrincipal,
    session: DbSession,
) -> AgentOut:
    agent = await service.update_agent(
        session,
        org_id=principal.org_id,
        agent_id=agent_id,
        data=body,
        box=_box(request),
        actor=principal.actor(client_ip(request)),
    )
    return await _saved_out(agent, request, session)


@router.delete("/agents/{agent_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_agent(
    agent_id: PathId, request: Request, principal: ManagerPrincipal, session: DbSession
) -> None:
    await service.delete_agent(
        session,
        org_id=principal.org_id,
        agent_id=agent_id,
        actor=principal.actor(client_ip(request)),
    )


@router.get("/agents/{agent_id}/knowledge", response_model=list[KnowledgeSourceOut])
async def list_knowledge(
    agent_id: PathId, principal: CurrentPrincipal, session: DbSession
) -> list[KnowledgeSourceOut]:
    rows = await knowledge.list_sources(session, org_id=principal.org_id, agent_id=agent_id)
    return [knowledge.source_out(row) for row in rows]


def _outbound(request: Request) -> OutboundPolicy:
    return OutboundPolicy.from_settings(request.app.state.settings)


async def _json_source(request: Request) -> TextSourceIn | FaqSourceIn | UrlSourceIn:
    raw = await request.body()
    try:
        payload: Any = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MalformedBody("The body is not valid JSON.") from exc
    try:
        return _SOURCE_IN.validate_python(payload)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        ) from exc


async def _file_source(
    request: Request, session: DbSession, principal: ManagerPrincipal, agent_id: int
) -> KnowledgeSource:
    """A multipart upload: the file is read and its text extracted (in a thread) while no
    transaction is open, then stored and indexed in a short one."""
    await end_transaction_before_io(session)
    async with request.form(max_files=1, max_fields=5) as form:
        upload = form.get("file")
        title = form.get("title") or ""
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise InvalidInput("Send the file in the `file` field.", field="file")
        if not isinstance(title, str) or len(title) > 200:
            raise InvalidInput("The title must have at most 200 characters.", field="title")
        filename = check_storable(upload.filename)[-255:]
        suffix_of(filename)  # 415 before reading anything
        data = await upload.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise PayloadTooLarge(f"Files up to {MAX_FILE_BYTES // 1_048_576} MB.", field="file")
    extracted = await asyncio.to_thread(extract, filename, data)
    return await knowledge.add_file(
        session,
        org_id=principal.org_id,
        agent_id=agent_id,
        title=check_storable(title.strip()),
        filename=filename,
        extracted=extracted,
        actor=principal.actor(client_ip(request)),
    )


async def _url_source(
    request: Request,
    session: DbSession,
    principal: ManagerPrincipal,
    agent_id: int,
    body: UrlSourceIn,
) -> KnowledgeSource:
    """The page is fetched and read while no transaction is open, then stored and indexed."""
    await service.get_agent(session, org_id=principal.org_id, agent_id=agent_id)
    await end_transaction_before_io(session)
    page = await read_page(body.url, _outbound(request))
    return await knowledge.add_url(
        session,
        org_id=principal.org_id,
        agent_id=agent_id,
        url=body.url,
        title=body.title,
        page=page,
        actor=principal.actor(client_ip(request)),
    )


@router.post(
    "/agents/{agent_id}/knowledge",
    response_model=KnowledgeSourceOut,
    status_code=201,
    openapi_extra=_KNOWLEDGE_BODY,
)
async def add_knowledge(
    agent_id: PathId, request: Request, principal: ManagerPrincipal, session: DbSession
) -> KnowledgeSourceOut:
    """Pasted text, FAQ pairs or a web page as JSON (`kind`: `text` | `faq` | `url`), or a file
    as multipart (`file`, optional `title`): .txt, .md, .csv (question/answer columns become
    FAQ pairs), .pdf, .docx. A web page is fetched now (HTML only, public addresses unless the
    server allows others, size and time limits in the settings) and its main text indexed."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        await service.get_agent(session, org_id=principal.org_id, agent_id=agent_id)
        source = await _file_source(request, session, principal, agent_id)
    elif content_type == "application/json":
        body = await _json_source(request)
        if isinstance(body, UrlSourceIn):
            source = await _url_source(request, session, principal, agent_id, body)
        else:
            add = knowledge.add_text if isinstance(body, TextSourceIn) else knowledge.add_faq
            source = await add(
                session,
                org_id=principal.org_id,
                agent_id=agent_id,
                data=body,  # type: ignore[arg-type]
                actor=principal.actor(client_ip(request)),
            )
    else:
        raise UnsupportedMediaType("Send JSON (text, FAQ or URL) or multipart/form-data (a file).")
    return knowledge.source_out(source)


@router.delete("/agents/{agent_id}/knowledge/{source_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_knowledge(
    agent_id: PathId,
    source_id: PathId,
    request: Request,
    principal: ManagerPrincipal,
    session: DbSession,
) -> None:
    await knowledge.delete_source(
        session,
        org_id=principal.org_id,
        agent_id=agent_id,
        source_id=source_id,
        actor=principal.actor(client_ip(request)),
    )


async def _reindex(
    request: Request,
    session: DbSession,
    principal: ManagerPrincipal,
    agent_id: int,
    source_id: int,
) -> KnowledgeSource:
    source = await knowledge.get_source(
        session, org_id=principal.org_id, agent_id=agent_id, source_id=source_id
    )
    page = None
    if source.kind == "url":
        url = str(source.content.get("url", ""))
        await end_transaction_before_io(session)
        page = await read_page(url, _outbound(request))
    return await knowledge.reindex_source(
        session,
        org_id=principal.org_id,
        agent_id=agent_id,
        source_id=source_id,
        actor=principal.actor(client_ip(request)),
        page=page,
    )


@router.post("/agents/{agent_id}/knowledge/{source_id}/reindex", response_model=KnowledgeSourceOut)
async def reindex_knowledge(
    agent_id: PathId,
    source_id: PathId,
    request: Request,
    principal: ManagerPrincipal,
    session: DbSession,
) -> KnowledgeSourceOut:
    """Indexes the source again from what it was made of; a web page is fetched again (when
    that fails, the source stays as it was and the problem is returned)."""
    source = await _reindex(request, session, principal, agent_id, source_id)
    return knowledge.source_out(source)


@router.post("/agents/{agent_id}/test", response_model=PlaygroundOut)
async def playground(
    agent_id: PathId,
    body: PlaygroundIn,
    request: Request,
    principal: CurrentPrincipal,
    session: DbSession,
) -> PlaygroundOut:
    """One turn of the agent on `text`: the answer, the passages it used, tool calls, tokens
    and cost, and whether it would hand the conversation to people."""
    return await run_turn(
        session,
        org_id=principal.org_id,
        agent_id=agent_id,
        text=body.text,
        box=_box(request),
        settings=request.app.state.settings,
    )


def _call_out(call: LlmCall) -> LlmCallOut:
    return LlmCallOut(
        id=call.id,
        agent_id=call.agent_id,
        conversation_id=call.conversation_id,
        model=call.model,
        prompt_tokens=call.prompt_tokens,
        completion_tokens=call.completion_tokens,
        cost_usd=call.cost_micros / 1_000_000,
        priced=call.priced,
        latency_ms=call.latency_ms,
        outcome=call.outcome,
        error=call.error,
        created_at=call.created_at,
        details=LlmCallDetails.model_validate(call.details) if call.details else None,
    )


@router.get("/conversations/{conversation_id}/llm-calls", response_model=list[LlmCallOut])
async def list_llm_calls(
    conversation_id: PathId,
    principal: CurrentPrincipal,
    session: DbSession,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[LlmCallOut]:
    """Why did the agent say this? The model calls behind the conversation's answers, newest
    first: model, tokens, cost, latency, outcome, and the passages, tool calls and reply."""
    await conversations.get_conversation(
        session, org_id=principal.org_id, conversation_id=conversation_id
    )
    calls = await calls_of_conversation(
        session, org_id=principal.org_id, conversation_id=conversation_id, limit=limit
    )
    return [_call_out(call) for call in calls]

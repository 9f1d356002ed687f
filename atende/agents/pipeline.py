"""The reply pipeline: a customer's burst of messages gets one answer from the agent.

The intake records an `inbox.reply_due` job with every customer message of a `bot`
conversation (superseding the pending one of the same burst). This handler then:

1. reads the conversation and the agent of its number, and decides (`decide`): stay quiet
   (people are answering, a group, an ignored contact, the loop cap), wait for the burst to
   end (debounce: a later job), hand off (a handoff keyword), the out-of-hours reply, or answer;
2. retrieves knowledge and closes the transaction; makes the burst's voice notes and images
   readable (`customer_media.py`: transcripts are stored, and the knowledge looked up again
   with them), then asks the brain (which may take seconds), or, when nothing of the burst
   can be read, answers the behaviour's polite "please write" text;
3. in one transaction, claims the burst (exactly once: a retried job finds it answered; an
   operator who took over meanwhile wins) and queues the reply, split into WhatsApp-sized
   parts paced like typing; a brain's handoff hands the conversation to people.
"""

import logging
import re
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import Enum
from pathlib import Path
from typing import Any, ClassVar

from atende.agents.behaviour import Behaviour
from atende.agents.brains import brain_for
from atende.agents.brains.base import BrainContext, BrainReply, MemoryMessage
from atende.agents.brains.tools import ADD_LABEL
from atende.agents.customer_media import (
    MEDIA_WAIT_SECONDS,
    MEDIA_WAITS,
    MediaReader,
    Readable,
    keep_transcripts,
    waits_for_media,
)
from atende.agents.llm_calls import budget_left, details_of, price_table, record_llm_call
from atende.agents.search import search
from atende.agents.service import behaviour_of, get_agent, profile_of
from atende.agents.tool_runner import Toolbox, toolbox
from atende.core import directory
from atende.core.db import Database, utcnow
from atende.core.events import EventPayload, event_schema, record_event
from atende.core.jobs import Job, RetryLater, enqueue
from atende.core.security import SecretBox
from atende.core.settings import Settings
from atende.inbox import conversations, labels, replies
from atende.inbox import service as inbox
from atende.inbox.inbound import REPLY_DUE_JOB, reply_key

log = logging.getLogger("atende.agents.pipeline")
KNOWLEDGE_PASSAGES = 5
PART_CHARS = 1000  # WhatsApp allows 4,096; people read shorter messages
MAX_TYPING_SECONDS = 8.0
MEMORY_READ = 200
TYPING_JOB = "whatsapp.presence"  # run by the WhatsApp module (a kind, not an import)


@event_schema
class AgentTyping(EventPayload):
    event_type: ClassVar[str] = "agent.typing"
    conversation_id: int
    instance_id: int
    seconds: float


class Verdict(Enum):
    quiet = "quiet"
    wait = "wait"
    handoff = "handoff"
    out_of_hours = "out_of_hours"
    answer = "answer"


@dataclass(frozen=True, slots=True)
class Decision:
    verdict: Verdict
    reason: str = ""
    wait_until: datetime | None = None
    resume: bool = False  # take a `human` conversation back (people stayed silent)
    context: replies.ReplyContext | None = None  # what to answer, if narrower than read


def _folded(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def decide(context: replies.ReplyContext, behaviour: Behaviour, now: datetime) -> Decision:
    resume = False
    if context.mode == "human":
        minutes = behaviour.human_silence_resume_minutes
        if minutes is None or now - context.quiet_since < timedelta(minutes=minutes):
            return Decision(Verdict.quiet, "people are answering")
        resume = True  # people stayed silent: the bot takes the conversation back
        # ...and answers what came after that silence, not what people were left with.
        since = now - timedelta(minutes=minutes)
        recent = [
            (text, at, message_id)
            for text, at, message_id in zip(
                context.unanswered, context.unanswered_at, context.unanswered_ids, strict=True
            )
            if at >= since
        ]
        if not recent:
            return Decision(Verdict.quiet, "nothing new since people went silent")
        context = replace(
            context,
            unanswered=[text for text, _, _ in recent],
            unanswered_at=[at for _, at, _ in recent],
            unanswered_ids=[message_id for _, _, message_id in recent],
        )
    elif context.mode != "bot":
        return Decision(Verdict.quiet, "conversation closed")
    decision = _decide_in_bot_mode(context, behaviour, now)
    return replace(decision, resume=resume, context=context)


def _decide_in_bot_mode(
    context: replies.ReplyContext, behaviour: Behaviour, now: datetime
) -> Decision:
    if context.bot_paused_until is not None and context.bot_paused_until > now:
        return Decision(Verdict.quiet, "bot paused")
    if context.opted_out:
        return Decision(Verdict.quiet, "contact opted out")
    if context.is_group and not behaviour.answer_groups:
        return Decision(Verdict.quiet, "group chat")
    digits = (context.contact_phone or "").lstrip("+")
    if digits and digits in {phone.lstrip("+") for phone in behaviour.ignored_contacts}:
        return Decision(Verdict.quiet, "ignored contact")
    quiet_until = context.last_inbound_at + timedelta(seconds=behaviour.debounce_seconds)
    if quiet_until > now:
        return Decision(Verdict.wait, "burst not over", wait_until=quiet_until)
    if context.agent_replies_last_minute >= behaviour.replies_per_minute:
        return Decision(Verdict.quiet, "reply cap reached (another bot?)")
    said = _folded(" ".join(context.unanswered))
    if any(_folded(word) in said for word in behaviour.handoff_keywords):
        return Decision(Verdict.handoff, "handoff keyword")
    if behaviour.working_hours is not None and not behaviour.working_hours.is_open(now):
        if context.last_agent_text == behaviour.out_of_hours_reply:
            return Decision(Verdict.quiet, "out of hours, already told")
        return Decision(Verdict.out_of_hours, "out of hours")
    return Decision(Verdict.answer)


def split_reply(text: str, *, limit: int = PART_CHARS) -> list[str]:
    """WhatsApp-sized parts on paragraph breaks; a paragraph longer than `limit` is cut at
    sentence or word boundaries."""
    parts: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text):
        rest = paragraph.strip()
        while len(rest) > limit:
            sentence = rest.rfind(". ", 0, limit)  # a sentence's end, else a word's
            cut = sentence + 1 if sentence > limit // 2 else rest.rfind(" ", 0, limit)
            cut = cut if cut > limit // 2 else limit
            parts.append(rest[:cut].strip())
            rest = rest[cut:].strip()
        if not rest:
            continue
        if parts and len(parts[-1]) + len(rest) + 2 <= limit // 3:
            parts[-1] = f"{parts[-1]}\n\n{rest}"  # keep short paragraphs together
        else:
            parts.append(rest)
    return parts


def typing_seconds(part: str, behaviour: Behaviour) -> float:
    if not behaviour.show_typing:
        return 0.0
    return min(MAX_TYPING_SECONDS, len(part) / behaviour.typing_chars_per_second)


@dataclass
class ReplyPipeline:
    database: Database
    box: SecretBox
    settings: Settings
    reader: MediaReader = field(init=False)

    def __post_init__(self) -> None:
        self.reader = MediaReader(
            media_root=Path(self.settings.data_dir) / "media",
            timeout=self.settings.llm_timeout_seconds,
            max_retries=self.settings.llm_max_retries,
        )

    async def __call__(self, job: Job) -> None:
        conversation_id = int(job.payload["conversation_id"])
        now = utcnow()
        async with self.database.unit_of_work(write=False) as session:
            context = await replies.reply_context(
                session, conversation_id=conversation_id, memory=MEMORY_READ
            )
            if context is None:
                return
            agent_id = await directory.agent_of_instance(session, instance_id=context.instance_id)
            if agent_id is None:
                return  # nobody answers this number automatically
            agent = await get_agent(session, org_id=context.org_id, agent_id=agent_id)
            behaviour = behaviour_of(agent)
            profile = profile_of(agent, self.box)
            decision = decide(context, behaviour, now)
            context = decision.context or context
            knowledge = []
            budget = None
            tools = Toolbox()
            label_names: tuple[str, ...] = ()
            if decision.verdict is Verdict.answer:
                label_names = tuple(
                    label.name for label in await labels.list_labels(session, org_id=context.org_id)
                )
                tools = await toolbox(
                    session,
                    org_id=context.org_id,
                    agent_id=agent_id,
                    box=self.box,
                    settings=self.settings,
                )
                budget = await budget_left(
                    session,
                    org_id=context.org_id,
                    monthly_budget=self.settings.llm_monthly_token_budget,
                )
                knowledge = await search(
                    session,
                    org_id=context.org_id,
                    agent_id=agent_id,
                    query=" ".join(context.unanswered),
                    limit=KNOWLEDGE_PASSAGES,
                )
        log.info(
            "reply decision",
            extra={"conversation_id": conversation_id, "verdict": decision.verdict.value,
                   "why": decision.reason},
        )  # fmt: skip
        if decision.verdict is Verdict.quiet:
            return
        if decision.verdict is Verdict.wait:
            assert decision.wait_until is not None
            async with self.database.unit_of_work() as session:
                await enqueue(
                    session,
                    kind=REPLY_DUE_JOB,
                    key=reply_key(conversation_id, context.last_inbound_id) + ":wait",
                    payload=dict(job.payload),
                    org_id=context.org_id,
                    run_at=decision.wait_until,
                )
            return
        handoff = decision.verdict is Verdict.handoff
        text = behaviour.out_of_hours_reply if decision.verdict is Verdict.out_of_hours else ""
        reply = None
        close = False
        readable = Readable(message="\n".join(context.unanswered))
        if decision.verdict is Verdict.answer and context.attachments:
            if waits_for_media(context) and job.attempt <= MEDIA_WAITS:
                raise RetryLater(MEDIA_WAIT_SECONDS, "a voice note or image is still downloading")
            readable = await self.reader.read(context, profile)
            knowledge = await keep_transcripts(
                self.database,
                settings=self.settings,
                context=context,
                agent_id=agent_id,
                readable=readable,
                knowledge=knowledge,
                passages=KNOWLEDGE_PASSAGES,
            )
        if decision.verdict is Verdict.answer and readable.polite is not None:
            text = readable.polite  # nothing the brain could read: ask to write
        elif decision.verdict is Verdict.answer:
            reply = await brain_for(profile.brain, self.settings).reply(
                BrainContext(
                    agent=profile,
                    message=readable.message,
                    images=readable.images,
                    knowledge=knowledge,
                    memory=[
                        MemoryMessage(said.author, said.text)
                        for said in context.memory[-behaviour.memory_messages :]
                    ]
                    if behaviour.memory_messages
                    else [],
                    tools=tools.specs,
                    run_tool=tools.runner,
                    token_budget=budget,
                    labels=label_names,
                )
            )
            text = reply.text
            # Built-in tools the model called (and that were not refused) take effect here.
            called = {call.name for call in reply.tool_calls if call.error is None}
            handoff = reply.handoff or "handoff_to_human" in called
            close = "close_conversation" in called and not handoff
        if not context.agent_has_spoken and profile.greeting and not handoff:
            text = f"{profile.greeting}\n\n{text}" if text else profile.greeting
        await self._deliver(
            context,
            behaviour,
            text,
            handoff=handoff,
            close=close,
            reply=reply,
            agent_id=agent_id,
            resume=decision.resume,
            inputs=readable.inputs,
        )

    async def _deliver(
        self,
        context: replies.ReplyContext,
        behaviour: Behaviour,
        text: str,
        *,
        handoff: bool,
        close: bool,
        reply: BrainReply | None,
        agent_id: int,
        resume: bool,
        inputs: list[dict[str, Any]],
    ) -> None:
        parts = split_reply(text) if behaviour.split_replies else ([text] if text else [])
        async with self.database.unit_of_work() as session:
            # A model was called: its tokens were spent, whatever happens next.
            call_id = None
            if reply is not None and reply.outcome is not None:
                call = await record_llm_call(
                    session,
                    org_id=context.org_id,
                    agent_id=agent_id,
                    conversation_id=context.conversation_id,
                    model=reply.model,
                    prompt_tokens=reply.prompt_tokens,
                    completion_tokens=reply.completion_tokens,
                    latency_ms=reply.latency_ms,
                    outcome=reply.outcome,
                    error=reply.error,
                    prices=price_table(self.settings),
                    details={**details_of(reply), "inputs": inputs},
                )
                call_id = call.id
            if not await replies.claim_reply(
                session,
                conversation_id=context.conversation_id,
                up_to_message_id=context.last_inbound_id,
                resume=resume,
            ):
                return  # answered already (a retried job), or people took over meanwhile
            delay = 0.0
            for part in parts:
                delay += typing_seconds(part, behaviour)
                await inbox.queue_outbound(
                    session,
                    org_id=context.org_id,
                    conversation_id=context.conversation_id,
                    author="agent",
                    text=part,
                    send_after=delay,
                    # "Why did the agent say this?" finds the call behind each part.
                    extra={"llm_call_id": call_id} if call_id is not None else None,
                )
            if parts and behaviour.show_typing:
                # The phone shows "typing…" (WhatsApp's own indicator) while the parts wait.
                await enqueue(
                    session,
                    kind=TYPING_JOB,
                    key=reply_key(context.conversation_id, context.last_inbound_id) + ":typing",
                    payload={"instance_id": context.instance_id, "to": context.contact_wa_id},
                    org_id=context.org_id,
                    max_attempts=1,
                )
                await record_event(
                    session,
                    org_id=context.org_id,
                    payload=AgentTyping(
                        conversation_id=context.conversation_id,
                        instance_id=context.instance_id,
                        seconds=round(typing_seconds(parts[0], behaviour), 2),
                    ),
                )
            for tool_call in reply.tool_calls if reply is not None else []:
                if tool_call.name == ADD_LABEL and tool_call.error is None:
                    await labels.add_label_by_name(
                        session,
                        org_id=context.org_id,
                        conversation_id=context.conversation_id,
                        name=str(tool_call.arguments["name"]),
                    )
            if handoff:
                await replies.hand_off(session, conversation_id=context.conversation_id)
            elif close:  # the model judged the matter settled; a new message reopens it
                await conversations.set_mode(
                    session,
                    org_id=context.org_id,
                    conversation_id=context.conversation_id,
                    mode="closed",
                )

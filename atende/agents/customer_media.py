"""Voice notes and images of the customer's messages, made readable for the brain (SPEC §5).

- A voice note is transcribed when the agent has a transcription model (the OpenAI-compatible
  `POST {base}/audio/transcriptions` at the agent's base URL, with its key); the transcript
  then stands for the customer's words, and is kept with the message (a retried reply reuses
  it). A failure (timeout, HTTP error, bytes not available) is kept too, and the voice note
  counts as unreadable.
- An image goes to the model as an `image_url` part (a `data:` URL) when the agent's model
  reads images (`vision`, openai brain only), if its type is one models accept and it is no
  larger than `MAX_IMAGE_BYTES`; its caption is text either way.
- When nothing of the burst is readable, the brain is not asked: the customer gets the
  behaviour's `voice_note_reply` or `image_reply` (write it, or ask for a person).

Reading runs after the transaction that read the conversation ended (it waits on the network
and on the disk); the pipeline stores what it found in its next one.
"""

import asyncio
import base64
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from atende.agents.brains.base import ImagePart
from atende.agents.llm_calls import price_table, record_llm_call
from atende.agents.search import SearchHit, search
from atende.agents.service import AgentProfile
from atende.core.db import Database
from atende.core.settings import Settings
from atende.inbox.replies import Attachment, ReplyContext
from atende.inbox.transcripts import read_attachment, record_transcript

log = logging.getLogger("atende.agents.customer_media")
VISION_TYPES = ("image/jpeg", "image/png", "image/webp", "image/gif")
MAX_IMAGE_BYTES = 5 * 1024 * 1024  # inline in the request: ~6.7 MB once base64-encoded
MAX_IMAGES = 4  # per answer
MAX_AUDIO_BYTES = 25 * 1024 * 1024  # OpenAI's limit for transcription uploads
MAX_INPUT_TEXT = 500
# Media still downloading (real providers): the reply waits this many attempts (of the reply
# job's 5), this long each; then it answers with what it has.
MEDIA_WAITS = 3
MEDIA_WAIT_SECONDS = 3.0


@dataclass(frozen=True, slots=True)
class Transcription:
    message_id: int
    model: str
    latency_ms: float
    text: str | None = None
    error: str | None = None


@dataclass
class Readable:
    """The burst as the brain reads it."""

    message: str = ""  # texts, captions and transcripts, one message a line
    images: list[ImagePart] = field(default_factory=list)
    # What the LLM call's details keep (`LlmCallInput`): which transcripts and images were used.
    inputs: list[dict[str, Any]] = field(default_factory=list)
    transcriptions: list[Transcription] = field(default_factory=list)  # made now, to store
    polite: str | None = None  # nothing readable: this is the answer


def waits_for_media(context: ReplyContext) -> bool:
    """Whether a voice note or image of the burst is still being downloaded."""
    unanswered = set(context.unanswered_ids)
    return any(a.pending and a.message_id in unanswered for a in context.attachments)


def _cut(text: str) -> str:
    return text if len(text) <= MAX_INPUT_TEXT else text[: MAX_INPUT_TEXT - 1] + "…"


@dataclass
class MediaReader:
    media_root: Path
    timeout: float
    max_retries: int

    async def read(self, context: ReplyContext, agent: AgentProfile) -> Readable:
        attachments = {a.message_id: a for a in context.attachments}
        readable = Readable()
        lines: list[str] = []
        unreadable: list[str] = []
        for message_id, words in zip(context.unanswered_ids, context.unanswered, strict=True):
            attachment = attachments.get(message_id)
            if attachment is None:
                lines.append(words)
            elif attachment.type == "audio":
                transcript = await self._transcript(attachment, agent, readable)
                lines.append(transcript or (attachment.caption or "[audio]"))
                if transcript is None and not attachment.caption:
                    unreadable.append("audio")
            else:
                seen = await self._image(attachment, agent, readable)
                if attachment.caption:
                    lines.append(attachment.caption)
                elif not seen:
                    lines.append("[image]")
                    unreadable.append("image")
        if len(unreadable) == len(context.unanswered_ids):  # nothing the brain could read
            behaviour = agent.behaviour
            audio = "audio" in unreadable
            readable.polite = behaviour.voice_note_reply if audio else behaviour.image_reply
        readable.message = "\n".join(lines)
        return readable

    async def _transcript(
        self, attachment: Attachment, agent: AgentProfile, readable: Readable
    ) -> str | None:
        if attachment.transcript:
            transcript: str | None = attachment.transcript
        elif not agent.transcription_model:
            return None
        else:
            made = await self._transcribe(attachment, agent)
            readable.transcriptions.append(made)
            transcript = made.text
            if made.error is not None:
                readable.inputs.append(
                    {"kind": "transcript", "message_id": attachment.message_id, "error": made.error}
                )
        if transcript:
            readable.inputs.append(
                {
                    "kind": "transcript",
                    "message_id": attachment.message_id,
                    "text": _cut(transcript),
                }
            )
        return transcript or None

    async def _transcribe(self, attachment: Attachment, agent: AgentProfile) -> Transcription:
        started = time.perf_counter()
        model = agent.transcription_model

        def done(text: str | None = None, error: str | None = None) -> Transcription:
            latency = (time.perf_counter() - started) * 1000
            return Transcription(attachment.message_id, model, latency, text=text, error=error)

        data = await asyncio.to_thread(
            read_attachment, self.media_root, attachment, max_bytes=MAX_AUDIO_BYTES
        )
        if data is None:
            return done(error=attachment.error or "the voice note is not available")
        extension = attachment.mime_type.split("/")[-1].split("+")[0] or "ogg"
        import openai

        from atende.agents.brains.openai import client_for, describe

        try:
            # Not `async with`: that would close the shared connection pool.
            client = client_for(agent, timeout=self.timeout, max_retries=self.max_retries)
            result = await client.audio.transcriptions.create(
                model=model,
                file=(f"voice-note.{extension}", data, attachment.mime_type),
            )
        except openai.OpenAIError as exc:
            log.warning(
                "transcription failed",
                extra={"message_id": attachment.message_id, "error": describe(exc)},
            )
            return done(error=describe(exc))
        text = (getattr(result, "text", "") or "").strip()
        return done(text=text) if text else done(error="the transcription was empty")

    async def _image(self, attachment: Attachment, agent: AgentProfile, readable: Readable) -> bool:
        """Adds the image for the model if it can see it; False if it cannot."""
        if not agent.vision or agent.brain != "openai":
            return False
        error = None
        if attachment.mime_type not in VISION_TYPES:
            error = f"{attachment.mime_type} is not an image type models read"
        elif len(readable.images) >= MAX_IMAGES:
            error = f"more than {MAX_IMAGES} images in one burst"
        else:
            data = await asyncio.to_thread(
                read_attachment, self.media_root, attachment, max_bytes=MAX_IMAGE_BYTES
            )
            if data is None:
                error = attachment.error or f"not available, or larger than {MAX_IMAGE_BYTES} bytes"
            else:
                encoded = base64.b64encode(data).decode("ascii")
                url = f"data:{attachment.mime_type};base64,{encoded}"
                readable.images.append(ImagePart(attachment.mime_type, url))
        entry: dict[str, Any] = {
            "kind": "image",
            "message_id": attachment.message_id,
            "mime_type": attachment.mime_type,
        }
        readable.inputs.append(entry | ({"error": error} if error else {}))
        return error is None


async def keep_transcripts(
    database: Database,
    *,
    settings: Settings,
    context: ReplyContext,
    agent_id: int,
    readable: Readable,
    knowledge: list[SearchHit],
    passages: int,
) -> list[SearchHit]:
    """Stores the transcripts just made with their messages, and records each transcription
    as an LLM call (it was a paid request, or a failure to see); returns the knowledge looked
    up again with the customer's words, which the first search could not know."""
    if not readable.transcriptions:
        return knowledge
    async with database.unit_of_work() as session:
        for made in readable.transcriptions:
            await record_transcript(
                session,
                org_id=context.org_id,
                message_id=made.message_id,
                transcript=made.text,
                error=made.error,
            )
            inputs = [i for i in readable.inputs if i["message_id"] == made.message_id]
            await record_llm_call(
                session,
                org_id=context.org_id,
                agent_id=agent_id,
                conversation_id=context.conversation_id,
                model=made.model,
                prompt_tokens=0,
                completion_tokens=0,
                latency_ms=made.latency_ms,
                outcome="ok" if made.error is None else "error",
                error=made.error,
                prices=price_table(settings),
                details={"inputs": inputs},
            )
        return await search(
            session,
            org_id=context.org_id,
            agent_id=agent_id,
            query=readable.message,
            limit=passages,
        )

"""The pipeline's pure parts: when the agent answers, and how a reply is cut."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from atende.agents.behaviour import Behaviour
from atende.agents.pipeline import Verdict, decide, split_reply
from atende.inbox.replies import ReplyContext

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)  # a Wednesday, 12:00 in São Paulo


def context(**changes: object) -> ReplyContext:
    base = ReplyContext(
        org_id=1,
        conversation_id=1,
        instance_id=1,
        mode="bot",
        bot_paused_until=None,
        contact_phone="+5511999990000",
        contact_wa_id="5511999990000@s.whatsapp.net",
        is_group=False,
        opted_out=False,
        last_inbound_id=10,
        last_inbound_at=NOW - timedelta(seconds=30),
        unanswered=["vocês abrem hoje?"],
        unanswered_at=[NOW - timedelta(seconds=30)],
        unanswered_ids=[10],
        memory=[],
        agent_replies_last_minute=0,
        agent_has_spoken=True,
        last_agent_text=None,
        quiet_since=NOW - timedelta(seconds=30),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_answers_a_plain_question() -> None:
    assert decide(context(), Behaviour(), NOW).verdict is Verdict.answer


def test_waits_for_the_end_of_a_burst() -> None:
    decision = decide(
        context(last_inbound_at=NOW - timedelta(seconds=2)), Behaviour(debounce_seconds=6), NOW
    )
    assert decision.verdict is Verdict.wait
    assert decision.wait_until == NOW + timedelta(seconds=4)


def test_stays_quiet_when_it_should() -> None:
    behaviour = Behaviour(ignored_contacts=["5511999990000"], replies_per_minute=3)
    assert decide(context(is_group=True), Behaviour(), NOW).verdict is Verdict.quiet
    assert decide(context(opted_out=True), Behaviour(), NOW).verdict is Verdict.quiet
    assert decide(context(), behaviour, NOW).verdict is Verdict.quiet
    assert decide(context(agent_replies_last_minute=3), behaviour.model_copy(
        update={"ignored_contacts": []}), NOW).verdict is Verdict.quiet  # fmt: skip
    paused = context(bot_paused_until=NOW + timedelta(minutes=5))
    assert decide(paused, Behaviour(), NOW).verdict is Verdict.quiet
    assert decide(context(mode="closed"), Behaviour(), NOW).verdict is Verdict.quiet
    assert decide(context(is_group=True), Behaviour(answer_groups=True), NOW).verdict is (
        Verdict.answer
    )


def test_handoff_keywords_match_without_case_or_accents() -> None:
    said = context(unanswered=["Quero falar com um ATENDENTE, por favor"])
    assert decide(said, Behaviour(), NOW).verdict is Verdict.handoff
    accented = context(unanswered=["preciso de um humano"])
    assert decide(accented, Behaviour(handoff_keywords=["humáno"]), NOW).verdict is (
        Verdict.handoff
    )


def test_out_of_hours_once() -> None:
    hours = Behaviour.model_validate(
        {
            "working_hours": {
                "timezone": "America/Sao_Paulo",
                "days": {"sun": [{"start": "09:00", "end": "12:00"}]},
            }
        }
    )
    assert decide(context(), hours, NOW).verdict is Verdict.out_of_hours
    told = context(last_agent_text=hours.out_of_hours_reply)
    assert decide(told, hours, NOW).verdict is Verdict.quiet


def test_human_mode_resumes_after_silence_with_only_the_new_messages() -> None:
    people = context(
        mode="human",
        quiet_since=NOW - timedelta(minutes=90),
        unanswered=["falar com atendente", "alguém aí?"],
        unanswered_at=[NOW - timedelta(minutes=90), NOW - timedelta(seconds=30)],
        unanswered_ids=[9, 10],
    )
    decision = decide(people, Behaviour(human_silence_resume_minutes=60), NOW)
    assert decision.verdict is Verdict.answer
    assert decision.resume
    assert decision.context is not None
    assert decision.context.unanswered == ["alguém aí?"]
    assert decision.context.unanswered_ids == [10]
    assert decide(people, Behaviour(human_silence_resume_minutes=120), NOW).verdict is (
        Verdict.quiet
    )
    never = Behaviour(human_silence_resume_minutes=None)
    assert decide(people, never, NOW).verdict is Verdict.quiet


def test_split_keeps_paragraphs_and_short_ones_together() -> None:
    text = "Olá!\n\nAbrimos às 9h.\n\n" + "Entregamos em toda a cidade. " * 60
    parts = split_reply(text, limit=400)
    assert parts[0] == "Olá!\n\nAbrimos às 9h."
    assert all(len(part) <= 400 for part in parts)
    assert all(part.endswith(".") for part in parts[1:])


@given(st.text(min_size=1, max_size=3000))
def test_split_never_loses_words_or_exceeds_the_limit(text: str) -> None:
    parts = split_reply(text, limit=200)
    assert all(0 < len(part) <= 200 for part in parts)
    assert "".join(text.split()) == "".join("".join(parts).split())

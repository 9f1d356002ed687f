"""Seeds an organisation with a large inbox: N conversations, M messages (50,000 / 1,000,000).

Migrates the database with the app's own migrations, creates the organisation, its owner (a
known password) and sandbox numbers through the app's service functions, then writes contacts,
conversations and messages with bulk inserts through SQLAlchemy core on the models' own tables,
so every value goes through the same column types as the app's. The full-text index is filled
by the database as for any message the app stores (SQLite: migration 0007's FTS5 trigger;
PostgreSQL: its GIN expression index). Previews come from the app's `preview_of`.

Messages are written in time order, so ids grow with time as in a live inbox. Conversations
have a skewed number of messages (many short ones, a few long), and the busiest one has
`--busiest` messages (the benchmark's conversation page). A planted word ("xilofone") is in
exactly three conversations, for tests to check search results. A summary is printed as JSON
and kept in `<data-dir>/bench_seed.json`; `--reuse` skips seeding when it matches.

    .venv/bin/python bench/seed_inbox.py --data-dir /tmp/inbox-bench       # SQLite in there
    .venv/bin/python bench/seed_inbox.py --data-dir /tmp/x \\
        --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/atende_bench
    .venv/bin/python bench/seed_inbox.py --data-dir /tmp/small --conversations 500 --messages 10000
"""

import argparse
import asyncio
import json
import random
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, insert, text, update

sys.path.insert(0, str(Path(__file__).resolve().parent))
from inbox_texts import TextMaker

from atende.core import accounts
from atende.core.audit import Actor
from atende.core.db import Database
from atende.core.keys import load_secret_keys
from atende.core.migrate import upgrade
from atende.core.models import Role
from atende.core.security import SecretBox
from atende.core.settings import Settings
from atende.inbox.inbound import preview_of
from atende.inbox.models import Contact, Conversation, Message
from atende.whatsapp import service as whatsapp_service
from atende.whatsapp.providers.base import ConnectionUpdate, InstanceStatus
from atende.whatsapp.providers.sandbox import sandbox_phone
from atende.whatsapp.schemas import InstanceIn

OWNER_EMAIL = "owner@bench.local"
OWNER_PASSWORD = "bench-password-1"
PLANTED_WORD = "xilofone"
SUMMARY_FILE = "bench_seed.json"
CHUNK = 20_000  # messages per executemany
TRANSACTION = 100_000  # messages per commit (keeps SQLite's WAL small)
DAYS = 180
CONV_BITS = 24  # conversation index in the low bits of a message's sort key


@dataclass
class Summary:
    database_url: str
    org_id: int
    owner_email: str
    owner_password: str
    instance_ids: list[int]
    conversations: int
    messages: int
    busiest_conversation_id: int
    busiest_messages: int
    busiest_last_text: str
    latest_conversation_id: int
    latest_contact_name: str
    planted_word: str
    planted_conversation_ids: list[int]
    seconds: float


@dataclass
class Plan:
    """Who talks when: conversations by start time, message times as sortable integer keys."""

    starts: list[datetime]
    ends: list[datetime]
    keys: list[int]  # (milliseconds since `origin`) << CONV_BITS | conversation index
    origin: datetime
    busiest: int


def plan(rng: random.Random, n: int, m: int, busiest_count: int, now: datetime) -> Plan:
    if m < n or n < 1:
        raise SystemExit("need at least one message per conversation")
    busiest_count = min(busiest_count, m - (n - 1))
    origin = now - timedelta(days=DAYS)
    span_ms = DAYS * 86_400_000
    weights = [min(rng.paretovariate(1.2), 200.0) for _ in range(n)]
    busiest = rng.randrange(n)
    weights[busiest] = 0.0
    counts = [1] * n
    counts[busiest] = busiest_count
    spare = m - sum(counts)
    total = sum(weights)
    for i, weight in enumerate(weights):
        counts[i] += int(spare * weight / total)
    for i in rng.choices(range(n), k=m - sum(counts)):
        counts[i] += 1 if i != busiest else 0
    counts[busiest] += m - sum(counts)
    # Each conversation starts somewhere in the period and lasts hours to weeks.
    windows: list[tuple[int, int, int]] = []  # (start ms, duration ms, original index)
    for i in range(n):
        start = rng.randrange(span_ms - 60_000)
        length = min(int(rng.expovariate(1 / (3 * 86_400_000))) + 60_000, span_ms - start)
        if i == busiest:
            start, length = 0, span_ms
        windows.append((start, length, i))
    windows.sort()
    keys: list[int] = []
    starts, ends = [], []
    busiest_index = 0
    for index, (start, length, original) in enumerate(windows):
        times = sorted(start + rng.randrange(length) for _ in range(counts[original]))
        times[0] = start
        keys.extend((t << CONV_BITS) | index for t in times)
        starts.append(origin + timedelta(milliseconds=start))
        ends.append(origin + timedelta(milliseconds=times[-1]))
        if original == busiest:
            busiest_index = index
    keys.sort()
    return Plan(starts, ends, keys, origin, busiest_index)


async def create_organisation(settings: Settings, database: Database, instances: int) -> tuple[
    int, int, list[int]
]:  # fmt: skip
    """The organisation, its owner and its numbers, as the app creates them."""
    box = SecretBox(load_secret_keys(settings))
    async with database.unit_of_work() as session:
        user = await accounts.create_user(
            session, email=OWNER_EMAIL, name="Bench Owner", password=OWNER_PASSWORD
        )
        org = await accounts.create_organisation(session, name="Padaria Bench")
        await accounts.add_member(session, org_id=org.id, user=user, role=Role.owner)
        actor = Actor(org_id=org.id, user_id=user.id, ip="bench")
        ids = []
        for k in range(instances):
            instance = await whatsapp_service.create_instance(
                session, org_id=org.id, data=InstanceIn(name=f"Loja {k + 1}"), box=box, actor=actor
            )
            await whatsapp_service.apply_connection(
                session,
                instance,
                ConnectionUpdate(InstanceStatus.connected, phone=sandbox_phone(instance.id)),
            )
            ids.append(instance.id)
        return org.id, user.id, ids


async def next_id(database: Database, table: str) -> int:
    async with database.engine.connect() as conn:
        found = await conn.execute(text(f"SELECT coalesce(max(id), 0) + 1 FROM {table}"))
        return int(found.scalar_one())


async def seed(args: argparse.Namespace) -> Summary:
    began = time.perf_counter()
    settings = Settings(data_dir=args.data_dir, database_url=args.database_url or "")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    url = settings.resolved_database_url
    await asyncio.to_thread(upgrade, url)
    rng = random.Random(args.seed)
    maker = TextMaker(rng)
    now = datetime.now(UTC).replace(microsecond=0)
    schedule = plan(rng, args.conversations, args.messages, args.busiest, now)
    n = args.conversations
    database = Database(url)
    try:
        org_id, owner_id, instance_ids = await create_organisation(
            settings, database, args.instances
        )
        first_contact = await next_id(database, "contacts")
        first_conv = await next_id(database, "conversations")
        names = [maker.name() if rng.random() < 0.9 else "" for _ in range(n)]
        instance_of = [rng.choice(instance_ids) for _ in range(n)]
        modes = []
        for end in schedule.ends:
            old = now - end > timedelta(days=14)
            closed = rng.random() < (0.7 if old else 0.1)
            modes.append("closed" if closed else rng.choices(["bot", "human"], [2, 1])[0])
        contacts = []
        conversations = []
        subscribers = rng.sample(range(10_000_000, 100_000_000), n)  # unique numbers
        for i in range(n):
            digits = f"55{rng.randint(11, 99)}9{subscribers[i]}"
            contacts.append({
                "id": first_contact + i, "org_id": org_id, "instance_id": instance_of[i],
                "contact_key": f"+{digits}", "wa_id": f"{digits}@s.whatsapp.net",
                "phone": f"+{digits}", "name": names[i], "is_group": False,
                "opted_out": rng.random() < 0.01, "created_at": schedule.starts[i],
            })  # fmt: skip
            conversations.append({
                "id": first_conv + i, "org_id": org_id, "instance_id": instance_of[i],
                "contact_id": first_contact + i, "mode": modes[i],
                "assignee_user_id": owner_id if modes[i] == "human" else None,
                "unread_count": 0, "last_message_preview": "", "created_at": schedule.starts[i],
            })  # fmt: skip
        async with database.engine.begin() as conn:
            for start in range(0, n, CHUNK):
                await conn.execute(insert(Contact.__table__), contacts[start : start + CHUNK])
            for start in range(0, n, CHUNK):
                await conn.execute(
                    insert(Conversation.__table__), conversations[start : start + CHUNK]
                )
        planted = set(rng.sample(range(n), k=min(3, n)))
        last_at: list[datetime | None] = [None] * n
        last_text = [""] * n
        last_inbound: list[datetime | None] = [None] * n
        trailing_inbound = [0] * n
        mask = (1 << CONV_BITS) - 1
        keys = schedule.keys
        for begin in range(0, len(keys), TRANSACTION):
            async with database.engine.begin() as conn:
                for start in range(begin, min(begin + TRANSACTION, len(keys)), CHUNK):
                    rows = []
                    for key in keys[start : min(start + CHUNK, begin + TRANSACTION)]:
                        i = key & mask
                        at = schedule.origin + timedelta(milliseconds=key >> CONV_BITS)
                        inbound = last_at[i] is None or rng.random() < 0.55
                        body = maker.text(inbound)
                        if i in planted and last_at[i] is None:
                            body += f" {PLANTED_WORD}"
                        rows.append(message_row(rng, org_id, instance_of[i], first_conv + i,
                                                inbound, modes[i], owner_id, body, at))  # fmt: skip
                        last_at[i], last_text[i] = at, body
                        if inbound:
                            last_inbound[i] = at
                            trailing_inbound[i] += 1
                        else:
                            trailing_inbound[i] = 0
                    await conn.execute(insert(Message.__table__), rows)
            print(f"  {min(begin + TRANSACTION, len(keys)):,} messages", file=sys.stderr)
        recent = now - timedelta(days=7)
        updates = [
            {
                "b_id": first_conv + i,
                "b_at": last_at[i],
                "b_preview": preview_of("text", last_text[i]),
                "b_inbound": last_inbound[i],
                "b_unread": trailing_inbound[i]
                if modes[i] != "closed" and (last_at[i] or now) > recent
                else 0,
            }
            for i in range(n)
        ]
        table = Conversation.__table__
        statement = (
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values(
                last_message_at=bindparam("b_at"),
                last_message_preview=bindparam("b_preview"),
                last_inbound_at=bindparam("b_inbound"),
                unread_count=bindparam("b_unread"),
            )
        )
        async with database.engine.begin() as conn:
            for start in range(0, n, CHUNK):
                await conn.execute(statement, updates[start : start + CHUNK])
            if database.engine.dialect.name == "postgresql":
                for name in ("contacts", "conversations"):
                    await conn.execute(text(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                        f"(SELECT max(id) FROM {name}))"
                    ))  # fmt: skip
        if database.engine.dialect.name == "postgresql":
            # What autovacuum does shortly after a bulk load (statistics for the planner, the
            # GIN index's pending list merged); done now, it does not run during a benchmark.
            async with database.engine.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.execute(text("VACUUM ANALYZE"))
    finally:
        await database.dispose()
    latest = max(range(n), key=lambda i: (last_at[i] or now, i))
    return Summary(
        database_url=url,
        org_id=org_id,
        owner_email=OWNER_EMAIL,
        owner_password=OWNER_PASSWORD,
        instance_ids=instance_ids,
        conversations=n,
        messages=len(keys),
        busiest_conversation_id=first_conv + schedule.busiest,
        busiest_messages=sum(1 for key in keys if key & mask == schedule.busiest),
        busiest_last_text=last_text[schedule.busiest],
        latest_conversation_id=first_conv + latest,
        latest_contact_name=names[latest],
        planted_word=PLANTED_WORD,
        planted_conversation_ids=sorted(first_conv + i for i in planted),
        seconds=round(time.perf_counter() - began, 1),
    )


def message_row(
    rng: random.Random,
    org_id: int,
    instance_id: int,
    conversation_id: int,
    inbound: bool,
    mode: str,
    owner_id: int,
    body: str,
    at: datetime,
) -> dict[str, Any]:
    if inbound:
        author, status, sender = "contact", "delivered", None
    else:
        by_operator = rng.random() < (0.7 if mode == "human" else 0.1)
        author, sender = ("operator", owner_id) if by_operator else ("agent", None)
        status = rng.choices(["read", "delivered", "sent", "failed"], [60, 25, 13, 2])[0]
    return {
        "org_id": org_id, "instance_id": instance_id, "conversation_id": conversation_id,
        "direction": "in" if inbound else "out", "author": author, "type": "text",
        "text": body, "media": None, "extra": None,
        "provider_message_id": f"SEED{rng.getrandbits(64):016X}", "status": status,
        "error": "Número inválido no WhatsApp." if status == "failed" else None,
        "reply_to_provider_id": None, "sender_user_id": sender, "sent_at": at, "created_at": at,
    }  # fmt: skip


def load_summary(data_dir: Path) -> Summary | None:
    try:
        return Summary(**json.loads((data_dir / SUMMARY_FILE).read_text()))
    except (OSError, ValueError, TypeError):
        return None


def seed_or_reuse(args: argparse.Namespace) -> Summary:
    """The summary of an existing seed of the same size in `data_dir`, or a new seed."""
    existing = load_summary(args.data_dir)
    url = Settings(data_dir=args.data_dir, database_url=args.database_url).resolved_database_url
    if args.reuse and existing is not None and (
        existing.database_url, existing.conversations, existing.messages
    ) == (url, args.conversations, args.messages):  # fmt: skip
        return existing
    summary = asyncio.run(seed(args))
    (args.data_dir / SUMMARY_FILE).write_text(json.dumps(asdict(summary), ensure_ascii=False))
    return summary


def parser() -> argparse.ArgumentParser:
    parse = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parse.add_argument("--data-dir", type=Path, required=True, help="SQLite file and secret key")
    parse.add_argument("--database-url", default="", help="empty: SQLite in --data-dir")
    parse.add_argument("--conversations", type=int, default=50_000)
    parse.add_argument("--messages", type=int, default=1_000_000)
    parse.add_argument("--busiest", type=int, default=5_000, help="messages in the longest one")
    parse.add_argument("--instances", type=int, default=2, help="WhatsApp numbers")
    parse.add_argument("--seed", type=int, default=1, help="random seed (same seed, same data)")
    parse.add_argument("--reuse", action="store_true", help="keep an existing seed of that size")
    return parse


if __name__ == "__main__":
    result = seed_or_reuse(parser().parse_args())
    print(json.dumps(asdict(result), ensure_ascii=False))
    print(f"seeded {result.conversations:,} conversations / {result.messages:,} messages "
          f"in {result.seconds} s", file=sys.stderr)  # fmt: skip

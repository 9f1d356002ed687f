"""The inbox at its target size: 50,000 conversations and 1,000,000 messages.

Seeded by the benchmarks' generator (`bench/seed_inbox.py`, run as the command it is). Over
HTTP, the list, its next page, a search and the longest conversation answer with the right
content; and the queries the inbox runs for them use indexes (EXPLAIN), never a full scan of
messages, conversations or contacts. Response times are measured by `bench/pages.py`, not
asserted here. PostgreSQL gets a fifth of the size (its seeding is slower), enough for its
planner to choose between indexes and scans by the statistics.
"""

import html
import json
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event, text

from atende.core.db import Database
from atende.inbox import conversations
from atende.inbox.filters import ConversationFilter
from tests.conftest import require_service
from tests.support.server import (
    Server,
    create_pg_database,
    drop_pg_database,
    server_env,
    start_server,
    stop_server,
)
from tests.support.tenants import sign_in

pytestmark = pytest.mark.timeout(600)

ROOT = Path(__file__).resolve().parents[1]
SIZES = {"sqlite": (50_000, 1_000_000), "postgresql": (10_000, 200_000)}
BIG_TABLES = ("messages", "conversations", "contacts")
COMMON_WORD = "entrega"


@dataclass
class Scale:
    server: Server
    seed: dict[str, Any]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def scale(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Scale]:
    backend = str(request.param)
    data_dir = tmp_path_factory.mktemp(f"scale-{backend}")
    pg_name = None
    if backend == "postgresql":
        require_service("PostgreSQL", "127.0.0.1", 5432)
        pg_name, url = create_pg_database()
    else:
        url = f"sqlite+aiosqlite:///{data_dir / 'atende.db'}"
    conversations_count, messages_count = SIZES[backend]
    seeded = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "seed_inbox.py"), "--data-dir", str(data_dir),
         "--database-url", url, "--conversations", str(conversations_count),
         "--messages", str(messages_count), "--busiest", str(messages_count // 200)],
        env=server_env(data_dir, url), cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert seeded.returncode == 0, seeded.stderr
    seed = json.loads(seeded.stdout.strip().splitlines()[-1])
    server = start_server(data_dir, url)
    try:
        yield Scale(server, seed)
    finally:
        stop_server(server)
        if pg_name:
            drop_pg_database(pg_name)


@pytest.fixture
async def owner(scale: Scale) -> AsyncIterator[httpx.AsyncClient]:
    client = await sign_in(
        scale.server.base_url, scale.seed["owner_email"], scale.seed["owner_password"]
    )
    yield client
    await client.aclose()


def row_ids(page: str) -> list[int]:
    return [int(found) for found in re.findall(r'<li class="conv-row" id="conv-(\d+)"', page)]


async def test_the_list_and_its_next_pages(scale: Scale, owner: httpx.AsyncClient) -> None:
    inbox = await owner.get("/inbox")
    assert inbox.status_code == 200
    first = row_ids(inbox.text)
    assert len(first) == 30
    assert first[0] == scale.seed["latest_conversation_id"]

    api = await owner.get("/api/v1/conversations", params={"limit": 30})
    assert [item["id"] for item in api.json()["items"]] == first
    seen: list[dict[str, Any]] = api.json()["items"]
    cursor = api.json()["next_cursor"]
    fragment = await owner.get("/inbox/list", params={"cursor": cursor})
    for _ in range(3):
        page = await owner.get("/api/v1/conversations", params={"limit": 30, "cursor": cursor})
        seen += page.json()["items"]
        cursor = page.json()["next_cursor"]
    assert row_ids(fragment.text) == [item["id"] for item in seen[30:60]]
    keys = [(item["last_message_at"], item["id"]) for item in seen]
    assert len({item["id"] for item in seen}) == 120
    assert keys == sorted(keys, reverse=True)


async def test_search_finds_exactly_the_conversations(
    scale: Scale, owner: httpx.AsyncClient
) -> None:
    seed = scale.seed
    for query in (seed["planted_word"], seed["planted_word"].upper()):
        found = await owner.get("/api/v1/conversations", params={"q": query})
        assert found.status_code == 200
        assert sorted(item["id"] for item in found.json()["items"]) == sorted(
            seed["planted_conversation_ids"]
        )

    common = await owner.get("/api/v1/conversations", params={"q": COMMON_WORD})
    ids = [item["id"] for item in common.json()["items"]]
    assert len(ids) == 30
    # Checked without the full-text index: the list's order (newest activity first) among the
    # conversations with the word, and every conversation found has the word.
    database = Database(scale.server.database_url)
    try:
        async with database.engine.connect() as conn:
            newest = await conn.execute(
                text("SELECT c.id FROM conversations c WHERE EXISTS (SELECT 1 FROM messages m "
                     "WHERE m.conversation_id = c.id AND lower(m.text) LIKE :word) "
                     "ORDER BY c.last_message_at DESC, c.id DESC LIMIT 30"),
                {"word": f"%{COMMON_WORD}%"},
            )  # fmt: skip
            assert list(newest.scalars()) == ids
            for conversation_id in ids:
                has = await conn.execute(
                    text("SELECT count(*) FROM messages WHERE conversation_id = :c "
                         "AND lower(text) LIKE :word"),
                    {"c": conversation_id, "word": f"%{COMMON_WORD}%"},
                )  # fmt: skip
                assert has.scalar_one() > 0, conversation_id
    finally:
        await database.dispose()


async def test_the_longest_conversation(scale: Scale, owner: httpx.AsyncClient) -> None:
    busiest = scale.seed["busiest_conversation_id"]
    page = await owner.get(f"/inbox/{busiest}")
    assert page.status_code == 200
    assert len(re.findall(r'<li class="msg ', page.text)) == 40
    assert html.escape(scale.seed["busiest_last_text"], quote=False) in page.text

    history = await owner.get(f"/api/v1/conversations/{busiest}/messages", params={"limit": 100})
    items = history.json()["items"]
    assert len(items) == 100
    assert {item["conversation_id"] for item in items} == {busiest}
    ids = [item["id"] for item in items]
    assert ids == sorted(ids, reverse=True)
    assert items[0]["text"] == scale.seed["busiest_last_text"]
    older = await owner.get(
        f"/api/v1/conversations/{busiest}/messages",
        params={"limit": 100, "before": history.json()["next_cursor"]},
    )
    assert max(item["id"] for item in older.json()["items"]) < ids[-1]


# The inbox's own code still calls Result.tuples() (deprecated in SQLAlchemy 2.1); the server
# subprocess does not turn warnings into errors, this process does.
@pytest.mark.filterwarnings("ignore:The Result.tuples:sqlalchemy.exc.SADeprecationWarning")
async def test_inbox_queries_use_indexes(scale: Scale) -> None:
    """Every statement the inbox's reads run, explained on the seeded database."""
    seed = scale.seed
    org_id = seed["org_id"]
    database = Database(scale.server.database_url)
    statements: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    try:
        event.listen(database.engine.sync_engine, "before_cursor_execute", record)
        async with database.unit_of_work(write=False) as session:
            _rows, cursor = await conversations.list_conversations(session, org_id=org_id)
            await conversations.list_conversations(session, org_id=org_id, cursor=cursor)
            for query in (COMMON_WORD, seed["planted_word"]):
                await conversations.list_conversations(
                    session, org_id=org_id, filter_=ConversationFilter(words=query)
                )
            conversation_id = seed["busiest_conversation_id"]
            await conversations.list_messages(
                session, org_id=org_id, conversation_id=conversation_id, limit=40
            )
        event.remove(database.engine.sync_engine, "before_cursor_execute", record)
        assert len(statements) >= 6
        explain = "EXPLAIN QUERY PLAN " if database.is_sqlite else "EXPLAIN "
        async with database.engine.connect() as conn:
            for statement, parameters in statements:
                plan = (await conn.exec_driver_sql(explain + statement, parameters)).all()
                lines = [str(row[-1]) for row in plan]
                assert not [line for line in lines if full_scan(line)], (statement, lines)
    finally:
        await database.dispose()


def full_scan(line: str) -> bool:
    """SQLite: `SCAN <table>` (a whole table or index walked); PostgreSQL: `Seq Scan on`."""
    for table in BIG_TABLES:
        if re.match(rf"\s*SCAN {table}\b", line) or re.search(rf"Seq Scan on {table}\b", line):
            return True
    return "USE TEMP B-TREE FOR ORDER BY" in line

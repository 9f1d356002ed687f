"""A test server that lets web pages and HTTP tools reach loopback (where the tests' fake
servers listen): `ATENDE_OUTBOUND_ALLOW_CIDRS=127.0.0.0/8`, with small limits to test them."""

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.support.server import (
    Server,
    create_pg_database,
    drop_pg_database,
    start_server,
    stop_server,
)

MAX_PAGE_BYTES = 20_000
PAGE_TIMEOUT = 2.0


@contextmanager
def loopback_server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp(f"outbound-{backend}")
    pg_name = None
    if backend == "postgresql":
        pg_name, url = create_pg_database()
    else:
        url = f"sqlite+aiosqlite:///{data_dir / 'atende.db'}"
    srv = start_server(
        data_dir,
        url,
        outbound_allow_cidrs="127.0.0.0/8",
        outbound_max_bytes=str(MAX_PAGE_BYTES),
        outbound_timeout_seconds=str(PAGE_TIMEOUT),
    )
    try:
        yield srv
    finally:
        stop_server(srv)
        if pg_name:
            drop_pg_database(pg_name)

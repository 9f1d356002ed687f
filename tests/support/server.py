"""A real Atende server in a subprocess on loopback, against SQLite or a fresh PostgreSQL DB."""

import os
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def service_available(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def create_pg_database() -> tuple[str, str]:
    """Creates a fresh database; returns (name, SQLAlchemy URL)."""
    name = f"atende_test_{os.getpid()}_{secrets.token_hex(3)}"
    _pg_admin(f'CREATE DATABASE "{name}"')
    return name, f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"


def drop_pg_database(name: str) -> None:
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _pg_admin(sql: str) -> None:
    import asyncio

    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


@dataclass
class Server:
    base_url: str
    database_url: str
    data_dir: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    log_path: Path = field(default_factory=Path)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def server_env(data_dir: Path, database_url: str, **overrides: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        ATENDE_DATA_DIR=str(data_dir),
        ATENDE_DATABASE_URL=database_url,
        ATENDE_SECRET_KEY="test-secret-key-" + "x" * 32,
        ATENDE_LOGIN_RATE_LIMIT="10000/minute",
        ATENDE_LOG_LEVEL="INFO",
    )
    env.update({f"ATENDE_{k.upper()}": v for k, v in overrides.items()})
    return env


def migrate(env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "-m", "atende", "migrate"], env=env, check=True, capture_output=True
    )


def start_server(data_dir: Path, database_url: str, **overrides: str) -> Server:
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = server_env(data_dir, database_url, port=str(port), **overrides)
    migrate(env)
    log_path = data_dir / f"server-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "atende", "web"], env=env, stdout=log, stderr=log
        )
    server = Server(f"http://127.0.0.1:{port}", database_url, data_dir, env, process, log_path)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{server.log_text()}")
        try:
            if httpx.get(server.base_url + "/readyz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    stop_server(server)
    raise RuntimeError(f"server did not become ready:\n{server.log_text()}")


def stop_server(server: Server) -> None:
    if server.process and server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()

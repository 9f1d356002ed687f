"""Webhook intake benchmark: N provider webhooks against a running server in embedded mode.

Measures Atende's `POST /webhooks/sandbox/{id}` (verify, parse, store the message with its
contact, conversation and events in SQLite, commit, then answer) next to a bare ASGI endpoint
that only reads the body (`bench/bare_asgi.py`), both under uvicorn, one process pinned to
CPU 0, the load generator on CPU 1. Phase 1 is closed-loop at a fixed concurrency (the maximum
rate); phase 2 sends at half of Atende's rate for the latency that a provider then sees.

    .venv/bin/python bench/intake.py                     # 20,000 posts, 64 connections
    .venv/bin/python bench/intake.py --total 5000 --connections 32
"""

import argparse
import asyncio
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fanout import free_port, pin, wait_ready
from http_load import LoadResult, closed_loop, open_loop

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
# About the size of a real Evolution text webhook (~1.5 KB with its envelope).
PADDING = "x" * 1100


def request_factory(path: str, secret: str, customers: int) -> "RequestFactoryType":
    def make(n: int) -> bytes:
        body = json.dumps(
            {
                "from": f"+55119{n % customers:08d}",
                "name": f"Cliente {n % customers}",
                "text": f"Mensagem {n}: {PADDING}",
                "id": f"bench-{n}",
            }
        ).encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
            f"X-Atende-Secret: {secret}\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        return head + body

    return make


RequestFactoryType = object


def line(name: str, r: LoadResult) -> str:
    return (
        f"{name:14} | {r.ok:>6} ok | {r.errors:>3} errors | {r.rate:>8.0f} req/s | "
        f"p50 {r.percentile(0.5) * 1000:7.1f} ms | p99 {r.percentile(0.99) * 1000:7.1f} ms"
    )


async def run_atende(args: argparse.Namespace) -> tuple[LoadResult, LoadResult]:
    data_dir = Path(tempfile.mkdtemp(prefix="atende-intake-"))
    port = free_port()
    env = dict(os.environ)
    env.update(
        ATENDE_DATA_DIR=str(data_dir),
        ATENDE_SECRET_KEY="bench-secret-key-" + "x" * 32,
        ATENDE_LOG_LEVEL="WARNING",
        ATENDE_PORT=str(port),
    )
    python = [sys.executable, "-m", "atende"]
    subprocess.run(
        [
            *python,
            "createuser",
            "owner@bench.local",
            "--organisation",
            "Bench",
            "--password",
            "pw-bench-1",
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    process = subprocess.Popen([*pin(0), *python, "web"], env=env)
    try:
        wait_ready(f"http://{HOST}:{port}/readyz", process)
        base = f"http://{HOST}:{port}"
        async with httpx.AsyncClient(base_url=base, timeout=30) as owner:
            login = await owner.post(
                "/api/v1/auth/login", json={"email": "owner@bench.local", "password": "pw-bench-1"}
            )
            csrf = {"X-CSRF-Token": login.headers["x-csrf-token"]}
            instance = (
                await owner.post("/api/v1/instances", json={"name": "Bench"}, headers=csrf)
            ).json()
            connect = (
                await owner.post(f"/api/v1/instances/{instance['id']}/connect", headers=csrf)
            ).json()
            await owner.post(
                f"/api/v1/sandbox/{instance['id']}/scan",
                json={"code": connect["qr_code"]},
                headers=csrf,
            )
        secret = await _secret(data_dir, env, instance["id"])
        make = request_factory(f"/webhooks/sandbox/{instance['id']}", secret, args.customers)
        peak = await closed_loop(HOST, port, make, total=args.total, connections=args.connections)
        half = await open_loop(
            HOST, port, make, rate=max(1.0, peak.rate / 2), seconds=args.seconds, start=args.total
        )
        return peak, half
    finally:
        process.terminate()
        process.wait(timeout=30)
        shutil.rmtree(data_dir, ignore_errors=True)


async def _secret(data_dir: Path, env: dict[str, str], instance_id: int) -> str:
    from atende.core.db import Database
    from atende.core.security import SecretBox
    from atende.whatsapp.models import Instance

    database = Database(f"sqlite+aiosqlite:///{data_dir / 'atende.db'}")
    try:
        async with database.unit_of_work(write=False) as session:
            instance = await session.get(Instance, instance_id)
            assert instance is not None
            return SecretBox([env["ATENDE_SECRET_KEY"]]).decrypt(instance.webhook_secret_encrypted)
    finally:
        await database.dispose()


async def run_bare(args: argparse.Namespace) -> LoadResult:
    port = free_port()
    process = subprocess.Popen(
        [
            *pin(0),
            sys.executable,
            "-m",
            "uvicorn",
            "bare_asgi:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=ROOT / "bench",
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.post(f"http://{HOST}:{port}/", content=b"{}")
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        make = request_factory("/webhooks/sandbox/1", "s", args.customers)
        return await closed_loop(HOST, port, make, total=args.total, connections=args.connections)
    finally:
        process.terminate()
        process.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--total", type=int, default=20_000)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--customers", type=int, default=2_000)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the half-rate phase")
    args = parser.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {1})
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    bare = asyncio.run(run_bare(args))
    peak, half = asyncio.run(run_atende(args))
    print(line("bare ASGI", bare))
    print(line("atende peak", peak))
    print(line("atende at 50%", half))
    print(f"atende / bare = {peak.rate / bare.rate:.2f}")


if __name__ == "__main__":
    main()

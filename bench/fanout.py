"""Fan-out benchmark: N idle SSE clients on one Atende process, events broadcast to all.

Prints, for each N, the delivery latency p50/p99 (event creation on the server to arrival at
the client, over every client and event) and the server's RSS per idle client, next to a minimal
Node.js SSE broadcast server (plain `http` module) measured in the same run with the same client.
The server is pinned to CPU 0 and this client to CPU 1 (when the machine has two).

    .venv/bin/python bench/fanout.py                     # N = 1,000 and 10,000
    .venv/bin/python bench/fanout.py --clients 2000 --events 5
"""

import argparse
import asyncio
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sse_clients import SseClient, close_clients, open_clients

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"


@dataclass
class Result:
    server: str
    clients: int
    events: int
    deliveries: int
    missing: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    rss_base_mb: float
    rss_per_client_kb: float
    connect_s: float


def pin(cpu: int) -> list[str]:
    cpus = os.cpu_count() or 1
    return ["taskset", "-c", str(cpu % cpus)] if shutil.which("taskset") and cpus > 1 else []


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def wait_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} not ready")


def rss_mb(pid: int) -> float:
    return psutil.Process(pid).memory_info().rss / 1e6


def summarise(
    name: str, clients: list[SseClient], events: int, base: float, loaded: float, connect: float
) -> Result:
    latencies = [lat for c in clients for lat in c.latencies]
    missing = len(clients) * events - len(latencies)
    ordered = sorted(latencies) or [float("nan")]
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return Result(
        server=name,
        clients=len(clients),
        events=events,
        deliveries=len(latencies),
        missing=missing,
        p50_ms=round(statistics.median(ordered) * 1000, 1),
        p99_ms=round(p99 * 1000, 1),
        max_ms=round(ordered[-1] * 1000, 1),
        rss_base_mb=round(base, 1),
        rss_per_client_kb=round((loaded - base) * 1000 / max(1, len(clients)), 1),
        connect_s=round(connect, 1),
    )


async def wait_deliveries(clients: list[SseClient], expected: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(len(c.latencies) >= expected for c in clients):
            return
        await asyncio.sleep(0.05)


async def measure(
    name: str,
    pid: int,
    port: int,
    path: str,
    headers: dict[str, str],
    n: int,
    events: int,
    interval: float,
    publish: "PublishFn",
) -> Result:
    await asyncio.sleep(1)
    base = rss_mb(pid)
    started = time.monotonic()
    clients = await open_clients(HOST, port, path, headers, n)
    connect = time.monotonic() - started
    await asyncio.sleep(2)  # idle: let the server settle before reading its memory
    loaded = rss_mb(pid)
    for i in range(events):
        await publish(i)
        await asyncio.sleep(interval)
    await wait_deliveries(clients, events, timeout=30)
    close_clients(clients)
    return summarise(name, clients, events, base, loaded, connect)


class PublishFn:
    async def __call__(self, i: int) -> None: ...


async def bench_atende(n: int, events: int, interval: float) -> Result:
    data_dir = Path(tempfile.mkdtemp(prefix="atende-bench-"))
    port = free_port()
    env = dict(os.environ)
    env.update(
        ATENDE_DATA_DIR=str(data_dir),
        ATENDE_SECRET_KEY="bench-secret-key-" + "x" * 32,
        ATENDE_LOG_LEVEL="WARNING",
        ATENDE_LOGIN_RATE_LIMIT="1000/minute",
        ATENDE_PORT=str(port),
    )
    python = [sys.executable, "-m", "atende"]

    def cli(*args: str) -> str:
        out = subprocess.run([*python, *args], env=env, check=True, capture_output=True, text=True)
        return out.stdout.strip()

    created = cli(
        "createuser", "owner@bench.local", "--organisation", "Bench", "--password", "pw-bench-1"
    )
    org_id = created.rsplit(" ", 1)[1]
    cli(
        "createuser",
        "op@bench.local",
        "--organisation",
        "Bench",
        "--password",
        "pw-bench-2",
        "--role",
        "operator",
    )
    key = cli("apikey", "create", "bench", "--org", org_id)
    process = subprocess.Popen([*pin(0), *python, "web"], env=env)
    try:
        wait_ready(f"http://{HOST}:{port}/readyz", process)
        async with httpx.AsyncClient(base_url=f"http://{HOST}:{port}", timeout=30) as owner:
            login = await owner.post(
                "/api/v1/auth/login", json={"email": "owner@bench.local", "password": "pw-bench-1"}
            )
            login.raise_for_status()
            csrf = {"X-CSRF-Token": login.headers["x-csrf-token"]}
            members = (await owner.get("/api/v1/members")).json()
            operator = next(m["user_id"] for m in members if m["email"] == "op@bench.local")

            async def publish(i: int) -> None:
                role = "admin" if i % 2 == 0 else "operator"
                r = await owner.patch(
                    f"/api/v1/members/{operator}", json={"role": role}, headers=csrf
                )
                r.raise_for_status()

            return await measure(
                "atende",
                process.pid,
                port,
                "/api/v1/events",
                {"Authorization": f"Bearer {key}"},
                n,
                events,
                interval,
                publish,  # type: ignore[arg-type]
            )
    finally:
        process.terminate()
        process.wait(timeout=30)
        shutil.rmtree(data_dir, ignore_errors=True)


async def bench_node(n: int, events: int, interval: float) -> Result:
    port = free_port()
    process = subprocess.Popen(
        [*pin(0), "node", str(ROOT / "bench" / "node_sse_server.js"), str(port)]
    )
    try:
        wait_ready(f"http://{HOST}:{port}/healthz", process)
        async with httpx.AsyncClient(base_url=f"http://{HOST}:{port}") as client:

            async def publish(_i: int) -> None:
                (await client.post("/publish")).raise_for_status()

            return await measure(
                "node-http", process.pid, port, "/events", {}, n, events, interval, publish
            )  # type: ignore[arg-type]
    finally:
        process.terminate()
        process.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--clients", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--events", type=int, default=10)
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between events")
    parser.add_argument("--skip-node", action="store_true")
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
    results: list[Result] = []
    for n in args.clients:
        results.append(asyncio.run(bench_atende(n, args.events, args.interval)))
        if not args.skip_node and shutil.which("node"):
            results.append(asyncio.run(bench_node(n, args.events, args.interval)))
    columns = ["server", "clients", "events", "missing", "p50_ms", "p99_ms", "max_ms"]
    columns += ["rss_base_mb", "rss_per_client_kb", "connect_s"]
    print(" | ".join(columns))
    for r in results:
        print(" | ".join(str(getattr(r, c)) for c in columns))
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "fanout.json").write_text(json.dumps([asdict(r) for r in results], indent=2))


if __name__ == "__main__":
    main()

"""Reply pipeline overhead: a customer message stored -> the provider receives the agent's reply.

Starts `atende web` (embedded: SQLite) with an Evolution number whose agent uses the `openai`
brain against a chat-completions server that answers at once, and an Evolution API stand-in
that timestamps every `sendText` call; both stand-ins are minimal asyncio HTTP servers in this
process. Each customer message is a webhook; the clock starts when its 200 arrives (stored and
committed) and stops when the reply's `sendText` reaches the stand-in. No debounce and no
typing pause (the agent's `show_typing` off): what is measured is Atende's own overhead (jobs,
reads, brain call, queueing, sender). `--typing` adds the pause at the fastest typing speed.

    .venv/bin/python bench/pipeline.py                # 200 messages, 10 per second
    .venv/bin/python bench/pipeline.py --messages 50 --rate 5
    .venv/bin/python bench/pipeline.py --typing       # with "typing…" and its pause
"""

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fanout import free_port, pin, wait_ready

HOST = "127.0.0.1"
Handler = Callable[[str, str, bytes], Awaitable[tuple[int, bytes]]]


async def serve(handler: Handler) -> tuple[asyncio.Server, int]:
    """A minimal HTTP/1.1 server (keep-alive, Content-Length bodies) for the stand-ins."""

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                length = next(
                    (int(line.split(":", 1)[1]) for line in lines[1:]
                     if line.lower().startswith("content-length:")),
                    0,
                )  # fmt: skip
                body = await reader.readexactly(length) if length else b""
                status, payload = await handler(method, path, body)
                writer.write(
                    f"HTTP/1.1 {status} OK\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(payload)}\r\n\r\n".encode()
                    + payload
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            writer.close()

    port = free_port()
    return await asyncio.start_server(client, HOST, port), port


COMPLETION = json.dumps(
    {
        "id": "cmpl-bench",
        "object": "chat.completion",
        "created": 0,
        "model": "bench-model",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Claro! Já te ajudo."},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 50, "completion_tokens": 6, "total_tokens": 56},
    }
).encode()


async def main(args: argparse.Namespace) -> None:
    sends: dict[str, float] = {}  # customer number -> when its reply reached "Evolution"
    webhook: dict[str, object] = {}

    async def evolution(method: str, path: str, body: bytes) -> tuple[int, bytes]:
        data = json.loads(body) if body else {}
        if path == "/instance/create":
            return 201, json.dumps({"instance": {"instanceName": "bench"}}).encode()
        if path.startswith("/webhook/set/"):
            webhook.update(data["webhook"])
            return 201, b"{}"
        if path.startswith("/instance/connect/"):
            return 200, json.dumps({"instance": {"state": "open"}}).encode()
        if path.startswith("/message/sendText/"):
            sends.setdefault(str(data["number"]), time.perf_counter())
            key = {"remoteJid": f"{data['number']}@s.whatsapp.net", "fromMe": True,
                   "id": f"BENCH{len(sends)}"}  # fmt: skip
            return 201, json.dumps({"key": key, "status": "PENDING"}).encode()
        return 200, b"{}"

    async def model(method: str, path: str, body: bytes) -> tuple[int, bytes]:
        return 200, COMPLETION

    evo_server, evo_port = await serve(evolution)
    llm_server, llm_port = await serve(model)
    data_dir = Path(tempfile.mkdtemp(prefix="atende-pipeline-"))
    port = free_port()
    env = dict(os.environ)
    env.update(
        ATENDE_DATA_DIR=str(data_dir),
        ATENDE_SECRET_KEY="bench-secret-key-" + "x" * 32,
        ATENDE_LOG_LEVEL="WARNING",
        ATENDE_PORT=str(port),
        ATENDE_SEND_RATE_LIMIT="100000/minute",
    )
    python = [sys.executable, "-m", "atende"]
    subprocess.run(
        [*python, "createuser", "owner@bench.local", "--organisation", "Bench",
         "--password", "pw-bench-1"],
        env=env, check=True, capture_output=True,
    )  # fmt: skip
    process = subprocess.Popen([*pin(0), *python, "web"], env=env)
    latencies: list[float] = []
    try:
        wait_ready(f"http://{HOST}:{port}/readyz", process)
        async with httpx.AsyncClient(base_url=f"http://{HOST}:{port}", timeout=30) as owner:
            login = await owner.post(
                "/api/v1/auth/login", json={"email": "owner@bench.local", "password": "pw-bench-1"}
            )
            owner.headers["X-CSRF-Token"] = login.headers["x-csrf-token"]
            agent = await owner.post(
                "/api/v1/agents",
                json={
                    "name": "Bench",
                    "brain": args.brain,
                    "base_url": f"http://{HOST}:{llm_port}/v1",
                    "model": "bench-model",
                    "api_key": "sk-bench",
                    "behaviour": {
                        "debounce_seconds": 0,
                        "typing_chars_per_second": 1000,
                        "show_typing": args.typing,
                        "replies_per_minute": 60,
                    },
                },
            )
            instance = await owner.post(
                "/api/v1/instances",
                json={
                    "name": "Bench",
                    "provider": "evolution",
                    "external_name": "bench",
                    "config": {"base_url": f"http://{HOST}:{evo_port}", "api_key": "k"},
                },
            )
            instance_id = instance.json()["id"]
            await owner.patch(
                f"/api/v1/instances/{instance_id}", json={"agent_id": agent.json()["id"]}
            )
            await owner.post(f"/api/v1/instances/{instance_id}/connect")
        secret = str(dict(webhook["headers"])["X-Atende-Secret"])  # type: ignore[call-overload]
        url = f"http://{HOST}:{port}/webhooks/evolution/{instance_id}"
        stored: dict[str, float] = {}
        async with httpx.AsyncClient(timeout=30) as provider:
            for n in range(args.messages):
                number = f"55119{n:08d}"
                body = {
                    "event": "messages.upsert",
                    "instance": "bench",
                    "data": {
                        "key": {"remoteJid": f"{number}@s.whatsapp.net", "fromMe": False,
                                "id": f"IN{n}"},
                        "pushName": "Cliente",
                        "message": {"conversation": "Oi, vocês abrem hoje?"},
                        "messageType": "conversation",
                        "messageTimestamp": int(time.time()),
                    },
                }  # fmt: skip
                reply = await provider.post(url, json=body, headers={"X-Atende-Secret": secret})
                reply.raise_for_status()
                stored[number] = time.perf_counter()
                await asyncio.sleep(1 / args.rate)
        deadline = time.perf_counter() + 30
        while len(sends) < args.messages and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
        latencies = [sends[n] - stored[n] for n in stored if n in sends]
    finally:
        process.terminate()
        process.wait(timeout=30)
        for server in (evo_server, llm_server):
            server.close()
            await server.wait_closed()
        shutil.rmtree(data_dir, ignore_errors=True)
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else float("nan")
    print(f"messages {args.messages} | replied {len(latencies)} | "
          f"p50 {statistics.median(ordered) * 1000:.1f} ms | p99 {p99 * 1000:.1f} ms | "
          f"max {ordered[-1] * 1000 if ordered else float('nan'):.1f} ms")  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--rate", type=float, default=10.0, help="customer messages per second")
    parser.add_argument(
        "--brain", default="openai", choices=["openai", "offline"], help="offline: no model call"
    )
    parser.add_argument(
        "--typing", action="store_true", help="show typing: pause 1 ms per character first"
    )
    asyncio.run(main(parser.parse_args()))

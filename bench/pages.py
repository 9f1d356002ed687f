"""Inbox pages on a large inbox: server time per page, bytes of JS+CSS, paint and memory.

Seeds (or reuses, see `bench/seed_inbox.py`) 50,000 conversations with 1,000,000 messages,
starts `atende web` on that database pinned to CPU 0 and, from this process pinned to CPU 1:
- p50/p95/max of sequential requests (one at a time: latency, not throughput) to the inbox
  page, the list fragment of a later page (keyset cursor), searches (`?q=`: a rare, a middling
  and a common word) and the page of the conversation with the most messages; any answer but
  200 counts as a failed request;
- in Chromium (Playwright, Debian's /usr/bin/chromium), a cold load of the inbox in a fresh
  context: the JS and CSS it loads as transferred (compressed body bytes; each must come
  gzip-encoded), the largest contentful paint, and the JS heap in use after a GC (CDP
  `Runtime.getHeapUsage`);
- the server's RSS when idle, after start-up and again after all of the above.

    .venv/bin/python bench/pages.py                                 # SQLite and PostgreSQL
    .venv/bin/python bench/pages.py --backend sqlite --data-dir /tmp/inbox-bench   # reused
    .venv/bin/python bench/pages.py --conversations 5000 --messages 100000 --requests 50
"""

import argparse
import asyncio
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fanout import free_port, pin, rss_mb, wait_ready
from seed_inbox import Summary, seed_or_reuse
from seed_inbox import parser as seed_parser

HOST = "127.0.0.1"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
CHROMIUM = "/usr/bin/chromium"
SEARCHES = {"rare": "xilofone", "middling": "vitrine", "common": "entrega"}


@dataclass
class Timing:
    page: str
    path: str
    samples: list[float] = field(default_factory=list)
    failed: int = 0

    def row(self) -> str:
        ordered = sorted(self.samples) or [float("nan")]
        p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
        return (
            f"| {self.page} | {len(self.samples):,} | {self.failed} | "
            f"{statistics.median(ordered):.1f} | {p95:.1f} | {ordered[-1]:.1f} |"
        )


@dataclass
class Browser:
    js_css_bytes: int = 0
    assets: list[str] = field(default_factory=list)
    not_gzipped: list[str] = field(default_factory=list)
    lcp_ms: list[float] = field(default_factory=list)
    heap_mb: float = 0.0
    failed: int = 0


def timed(client: httpx.Client, timing: Timing, count: int, expect: str) -> None:
    for _ in range(5):  # warm-up: statement caches, the first page of each query
        client.get(timing.path)
    for _ in range(count):
        began = time.perf_counter()
        try:
            response = client.get(timing.path)
        except httpx.HTTPError:
            timing.failed += 1
            continue
        timing.samples.append((time.perf_counter() - began) * 1000)
        if response.status_code != 200 or expect not in response.text:
            timing.failed += 1


def measure_pages(base: str, seed: Summary, count: int) -> list[Timing]:
    with httpx.Client(base_url=base, timeout=30) as client:
        login = client.post(
            "/api/v1/auth/login",
            json={"email": seed.owner_email, "password": seed.owner_password},
        )
        login.raise_for_status()
        cursor = None
        for _ in range(20):  # 20 pages of 30 down the list
            page = client.get("/api/v1/conversations", params={"limit": 30, "cursor": cursor})
            cursor = page.json()["next_cursor"]
        busiest = seed.busiest_conversation_id
        timings = [
            (Timing("inbox page", "/inbox"), f'id="conv-{seed.latest_conversation_id}"'),
            (Timing("list fragment, page 21", f"/inbox/list?cursor={cursor}"), "conv-row"),
            (Timing("conversation page (busiest)", f"/inbox/{busiest}"), "bubble"),
        ]
        for kind, word in SEARCHES.items():
            timings.append(
                (Timing(f"search, {kind} word", f"/api/v1/conversations?q={quote(word)}"), '"id"')
            )
        for timing, expect in timings:
            timed(client, timing, count, expect)
        return [timing for timing, _ in timings]


async def measure_browser(base: str, seed: Summary, loads: int) -> Browser:
    from playwright.async_api import async_playwright

    result = Browser()
    failures: list[str] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            for load in range(loads):
                context = await browser.new_context(service_workers="block")
                login = await context.request.post(
                    f"{base}/api/v1/auth/login",
                    data={"email": seed.owner_email, "password": seed.owner_password},
                )
                assert login.ok, await login.text()
                page = await context.new_page()
                page.on("requestfailed", lambda request: failures.append(request.url))
                response = await page.goto(f"{base}/inbox", wait_until="load")
                if response is None or response.status != 200:
                    result.failed += 1
                await page.wait_for_timeout(500)
                result.lcp_ms.append(await page.evaluate(LCP_SCRIPT))
                if load == 0:
                    entries = await page.evaluate(RESOURCES_SCRIPT)
                    for entry in entries:
                        result.assets.append(entry["name"])
                        result.js_css_bytes += int(entry["encodedBodySize"])
                    for url in result.assets:
                        head = await context.request.get(url)
                        if head.headers.get("content-encoding") != "gzip":
                            result.not_gzipped.append(url)
                    cdp = await context.new_cdp_session(page)
                    await cdp.send("HeapProfiler.collectGarbage")
                    heap = await cdp.send("Runtime.getHeapUsage")
                    result.heap_mb = heap["usedSize"] / 1e6
                await context.close()
        finally:
            await browser.close()
    result.failed += len(failures)
    return result


LCP_SCRIPT = """() => new Promise(resolve => {
  new PerformanceObserver(list => {
    const entries = list.getEntries();
    resolve(entries[entries.length - 1].startTime);
  }).observe({type: 'largest-contentful-paint', buffered: true});
  setTimeout(() => resolve(NaN), 3000);
})"""
RESOURCES_SCRIPT = """() => performance.getEntriesByType('resource')
  .filter(e => /\\.(js|css)(\\?|$)/.test(new URL(e.name).pathname))
  .map(e => ({name: e.name, encodedBodySize: e.encodedBodySize}))"""


async def pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def run_backend(args: argparse.Namespace, backend: str) -> None:
    data_dir = args.data_dir / backend
    database_url, fresh_pg = "", None
    if backend == "postgresql":
        database_url = args.pg_url
        if not database_url:
            fresh_pg = f"atende_bench_{secrets.token_hex(3)}"
            asyncio.run(pg_admin(f'CREATE DATABASE "{fresh_pg}"'))
            database_url = f"postgresql+asyncpg://postgres@{HOST}:5432/{fresh_pg}"
    try:
        measure_backend(args, backend, data_dir, database_url)
    finally:
        if fresh_pg and not args.keep:
            asyncio.run(pg_admin(f'DROP DATABASE IF EXISTS "{fresh_pg}" WITH (FORCE)'))


def measure_backend(
    args: argparse.Namespace, backend: str, data_dir: Path, database_url: str
) -> None:
    seed_args = seed_parser().parse_args(
        ["--data-dir", str(data_dir), "--database-url", database_url,
         "--conversations", str(args.conversations), "--messages", str(args.messages),
         "--reuse"]  # an earlier seed of this database, same size
    )  # fmt: skip
    seed = seed_or_reuse(seed_args)
    print(f"[{backend}] seed: {seed.conversations:,} conversations / {seed.messages:,} messages "
          f"({seed.seconds} s to seed)")  # fmt: skip
    port = free_port()
    env = dict(os.environ)
    env.update(
        ATENDE_DATA_DIR=str(data_dir),
        ATENDE_DATABASE_URL=seed.database_url,
        ATENDE_PORT=str(port),
        ATENDE_LOG_LEVEL="WARNING",
        ATENDE_LOGIN_RATE_LIMIT="10000/minute",
    )
    process = subprocess.Popen([*pin(0), sys.executable, "-m", "atende", "web"], env=env)
    base = f"http://{HOST}:{port}"
    try:
        wait_ready(f"{base}/readyz", process)
        time.sleep(2)
        rss_start = rss_mb(process.pid)
        timings = measure_pages(base, seed, args.requests)
        browser = asyncio.run(measure_browser(base, seed, args.loads))
        time.sleep(2)
        rss_after = rss_mb(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=30)
    failed = sum(t.failed for t in timings) + browser.failed
    print(f"\n[{backend}] server time per request, sequential, ms")
    print("| page | requests | failed | p50 | p95 | max |\n|---|---|---|---|---|---|")
    for timing in timings:
        print(timing.row())
    lcp = sorted(browser.lcp_ms)
    print(f"\n[{backend}] browser and memory")
    print("| measure | value |\n|---|---|")
    print(f"| JS+CSS transferred on /inbox ({len(browser.assets)} files) | "
          f"{browser.js_css_bytes / 1024:.1f} KB |")  # fmt: skip
    print(f"| of those not gzip-encoded | {len(browser.not_gzipped)} |")
    print(f"| LCP, cold load of /inbox ({len(lcp)} loads) | median {statistics.median(lcp):.0f} "
          f"ms, max {lcp[-1]:.0f} ms |")  # fmt: skip
    print(f"| JS heap in use on /inbox after GC | {browser.heap_mb:.2f} MB |")
    print(f"| server RSS idle, after start / after the run | {rss_start:.1f} / "
          f"{rss_after:.1f} MB |")  # fmt: skip
    print(f"| failed requests | {failed} |\n")


def main() -> None:
    parse = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parse.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parse.add_argument(
        "--data-dir", type=Path, help="kept (and reused) when given, with a fresh PostgreSQL DB"
    )
    parse.add_argument("--pg-url", default="", help="PostgreSQL URL to reuse (else a fresh DB)")
    parse.add_argument("--conversations", type=int, default=50_000)
    parse.add_argument("--messages", type=int, default=1_000_000)
    parse.add_argument("--requests", type=int, default=200, help="per page")
    parse.add_argument("--loads", type=int, default=5, help="cold browser loads for LCP")
    args = parse.parse_args()
    args.keep = args.data_dir is not None
    args.data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="atende-pages-"))
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {1})  # this client and its Chromium on the other core
    try:
        for backend in ("sqlite", "postgresql") if args.backend == "both" else (args.backend,):
            run_backend(args, backend)
    finally:
        if not args.keep:
            shutil.rmtree(args.data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()

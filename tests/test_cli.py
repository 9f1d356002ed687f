"""The `atende` command: embedded first start, users and keys from the shell."""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.server import free_port


def run_serve(data_dir: Path) -> tuple[subprocess.Popen[str], str, list[str]]:
    port = free_port()
    env = dict(os.environ, ATENDE_DATA_DIR=str(data_dir), ATENDE_PORT=str(port))
    env.pop("ATENDE_DATABASE_URL", None)
    env.pop("ATENDE_SECRET_KEY", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "atende", "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    lines: list[str] = []
    for line in process.stdout:
        lines.append(line.strip())
        if line.strip().startswith("Sign in as"):
            break
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    return process, url, lines


def stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    process.wait(timeout=15)
    if process.stdout is not None:
        process.stdout.close()


def await_demo_agent_answers(url: str, cookies: httpx.Cookies, csrf: str) -> None:
    """The demo: a paired sandbox number whose agent answers from its FAQ, at once."""
    with httpx.Client(base_url=url, cookies=cookies, headers={"X-CSRF-Token": csrf}) as client:
        (instance,) = client.get("/api/v1/instances").json()
        assert instance["status"] == "connected"
        assert instance["agent_id"] is not None
        sent = client.post(
            f"/api/v1/sandbox/{instance['id']}/messages",
            json={"from": "+5511912340000", "text": "Vocês fazem entrega?"},
        )
        assert sent.status_code == 201, sent.text
        texts: list[str] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any("Entregamos" in t for t in texts):
            time.sleep(0.5)
            chats = client.get(f"/api/v1/sandbox/{instance['id']}/messages").json()
            texts = [m["text"] or "" for m in chats[0]["messages"] if m["author"] == "agent"]
        assert any("Entregamos no centro" in t for t in texts), texts


def test_first_serve_prints_a_working_login_and_later_starts_reuse_it(tmp_path: Path) -> None:
    process, url, lines = run_serve(tmp_path)
    try:
        assert f"Atende is running at {url}" in lines
        login = next(line for line in lines if line.startswith("Sign in as"))
        match = re.match(r"Sign in as (\S+) with password (\S+)", login)
        assert match, login
        email, password = match.groups()
        response = httpx.post(
            url + "/api/v1/auth/login", json={"email": email, "password": password}
        )
        assert response.status_code == 200, response.text
        assert response.json()["role"] == "owner"
        await_demo_agent_answers(url, response.cookies, response.headers["x-csrf-token"])
    finally:
        stop(process)
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    assert (tmp_path / "demo_login.txt").stat().st_mode & 0o077 == 0

    process, _url, again = run_serve(tmp_path)
    stop(process)
    assert any(line == login for line in again), "the second start must not create another login"


def test_createuser_and_apikey_from_the_shell(tmp_path: Path) -> None:
    env = dict(os.environ, ATENDE_DATA_DIR=str(tmp_path))
    env.pop("ATENDE_DATABASE_URL", None)
    created = subprocess.run(
        [
            sys.executable,
            "-m",
            "atende",
            "createuser",
            "ana@example.com",
            "--organisation",
            "Shop",
            "--password",
            "long-enough-pw",
            "--role",
            "admin",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    org_id = created.stdout.strip().rsplit(" ", 1)[1]
    key = subprocess.run(
        [sys.executable, "-m", "atende", "apikey", "create", "integration", "--org", org_id],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert key.startswith("atk_")
    missing = subprocess.run(
        [sys.executable, "-m", "atende", "apikey", "create", "x", "--org", "999"],
        env=env,
        check=False,
        capture_output=True,
        text=True,
    )
    assert missing.returncode == 1
    assert "No organisation with id 999" in missing.stderr
    assert "Traceback" not in missing.stderr

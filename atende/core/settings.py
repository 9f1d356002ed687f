"""Settings: every knob is an `ATENDE_*` environment variable (or a line in `.env`).

The README's settings table is generated from this class (`atende settings-table`) and a test
checks that the two agree, so the documentation cannot drift.
"""

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ModelPrice(BaseModel):
    """USD per million tokens."""

    model_config = ConfigDict(extra="forbid")
    prompt: float = Field(ge=0)
    completion: float = Field(ge=0)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ATENDE_", env_file=".env", extra="ignore")

    data_dir: Path = Field(
        Path(".atende"), description="Directory for the SQLite database, media and the secret key."
    )
    database_url: str = Field(
        "",
        description="SQLAlchemy URL; empty means SQLite in the data directory. "
        "PostgreSQL: `postgresql+asyncpg://user@host/db`.",
    )
    secret_key: str = Field(
        "",
        description="Signs tokens and encrypts secrets at rest. Empty: generated once and kept "
        "in `<data_dir>/secret_key`. Several keys separated by commas rotate (first encrypts).",
    )
    host: str = Field("127.0.0.1", description="Address the HTTP server listens on.")
    port: int = Field(8000, description="Port the HTTP server listens on.")
    public_url: str = Field(
        "", description="External URL (e.g. https://atende.example.com); empty: http://host:port."
    )
    signup_enabled: bool = Field(True, description="Whether anyone may create an organisation.")
    session_days: int = Field(14, ge=1, description="Days a sign-in session stays valid.")
    cookie_secure: Literal["auto", "always", "never"] = Field(
        "auto",
        description="Secure flag on cookies: `auto` sets it when the request came over HTTPS.",
    )
    max_body_bytes: int = Field(
        1_048_576, ge=1024, description="Largest request body accepted (bytes); larger is 413."
    )
    webhook_max_body_bytes: int = Field(
        33_554_432,
        ge=1024,
        description="Largest provider webhook body (bytes); media arrive inline as base64.",
    )
    media_max_bytes: int = Field(
        16_777_216, ge=1024, description="Largest media file stored from a provider (bytes)."
    )
    send_rate_limit: str = Field(
        "60/minute",
        description="Messages one number may send, to protect it from WhatsApp's spam bans.",
    )
    cloud_graph_url: str = Field(
        "https://graph.facebook.com", description="Meta Graph API base URL (Cloud API provider)."
    )
    login_rate_limit: str = Field(
        "10/minute", description="Sign-in attempts allowed per client address and per e-mail."
    )
    rate_limit_storage: str = Field(
        "async+memory://",
        description="Where rate-limit counters live; `async+redis://127.0.0.1:6379` shares them "
        "between processes.",
    )
    event_bus_url: str | None = Field(
        None,
        description="Redis URL (`redis://127.0.0.1:6379/0`) joining several processes' live "
        "events; unset: in-process (one process).",
    )
    event_retention_hours: int = Field(
        24, ge=1, description="How long stored events are kept for `Last-Event-ID` resume."
    )
    sse_heartbeat_seconds: float = Field(
        15.0, gt=0, description="Interval of SSE heartbeat comments on idle streams."
    )
    log_level: str = Field("INFO", description="Logging level (DEBUG, INFO, WARNING, ERROR).")
    log_json: bool = Field(True, description="Structured JSON logs; false prints plain lines.")
    trusted_proxies: str = Field(
        "", description="Comma-separated proxy addresses whose X-Forwarded-* headers are trusted."
    )
    demo_email: str = Field("owner@atende.local", description="Login created on first `serve`.")
    llm_prices: dict[str, ModelPrice] = Field(
        {},
        description='JSON: model -> {"prompt": usd, "completion": usd} per million tokens, '
        "over the built-in prices of common models (`atende.agents.llm_calls.DEFAULT_PRICES`); "
        "a model in neither costs 0 and its calls are flagged unpriced.",
    )
    llm_monthly_token_budget: int = Field(
        0,
        ge=0,
        description="Tokens each organisation may spend per calendar month (UTC); once spent, "
        "agents stop calling the model and hand conversations to people. 0: unlimited.",
    )
    llm_timeout_seconds: float = Field(
        30.0, gt=0, le=600, description="Time allowed for one chat-completions request."
    )
    llm_max_retries: int = Field(
        2,
        ge=0,
        le=10,
        description="Retries of a chat-completions request after a timeout, 429 or 5xx "
        "(exponential backoff from 0.5 s, or the server's Retry-After).",
    )

    outbound_allow_cidrs: str = Field(
        "",
        description="Comma-separated CIDRs (e.g. `10.0.0.0/8,fd00::/8`) that web pages for "
        "knowledge and agents' HTTP tools may reach although they are not public addresses. "
        "Empty: only public addresses.",
    )
    outbound_allow_private: bool = Field(
        False,
        description="Let web pages and HTTP tools reach any address, private and loopback "
        "included: only for a trusted self-hosted setup whose users may all reach its network.",
    )
    outbound_timeout_seconds: float = Field(
        15.0, gt=0, le=120, description="Time allowed for fetching a web page for knowledge."
    )
    outbound_max_bytes: int = Field(
        5_242_880, ge=1024, description="Largest web page (bytes) fetched for knowledge."
    )

    @field_validator("outbound_allow_cidrs")
    @classmethod
    def _cidrs(cls, value: str) -> str:
        for cidr in filter(None, (part.strip() for part in value.split(","))):
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError as exc:
                raise ValueError(f"{cidr!r} is not a CIDR like 10.0.0.0/8") from exc
        return value

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'atende.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    @property
    def base_url(self) -> str:
        return self.public_url.rstrip("/") or f"http://{self.host}:{self.port}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()

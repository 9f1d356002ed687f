"""Helpers shared by the HTTP adapters: typed access to webhook JSON and transport errors.

Webhook bodies come from outside: every accessor checks the type and raises `WebhookRejected`
(400) naming the field, so a malformed body never surfaces as a `KeyError` or `TypeError`.
"""

import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from atende.whatsapp.providers.base import ProviderError, WebhookRejected

JsonObject = dict[str, Any]


def load_object(body: bytes) -> JsonObject:
    try:
        payload = json.loads(body)
    except RecursionError:
        raise WebhookRejected("body is nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise WebhookRejected(f"body is not valid JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise WebhookRejected(f"body must be a JSON object, not {type_name(payload)}")
    return payload


def type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _wrong(where: str, wanted: str, value: object) -> WebhookRejected:
    return WebhookRejected(f"{where} must be {wanted}, not {type_name(value)}")


def req_str(obj: Mapping[str, Any], key: str, where: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        if key not in obj:
            raise WebhookRejected(f"{where}.{key} is missing")
        raise _wrong(f"{where}.{key}", "a non-empty string", value)
    return value


def opt_str(obj: Mapping[str, Any], key: str, where: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _wrong(f"{where}.{key}", "a string", value)
    return value


def req_obj(obj: Mapping[str, Any], key: str, where: str) -> JsonObject:
    value = obj.get(key)
    if not isinstance(value, dict):
        if key not in obj:
            raise WebhookRejected(f"{where}.{key} is missing")
        raise _wrong(f"{where}.{key}", "an object", value)
    return value


def opt_obj(obj: Mapping[str, Any], key: str, where: str) -> JsonObject:
    """The object under `key`, or `{}` when absent or null."""
    value = obj.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _wrong(f"{where}.{key}", "an object", value)
    return value


def opt_list(obj: Mapping[str, Any], key: str, where: str) -> list[Any]:
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _wrong(f"{where}.{key}", "an array", value)
    return value


def opt_bool(obj: Mapping[str, Any], key: str, where: str) -> bool:
    value = obj.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise _wrong(f"{where}.{key}", "a boolean", value)
    return value


def opt_number(obj: Mapping[str, Any], key: str, where: str) -> float | None:
    """A JSON number, or a numeric string (Baileys and Graph send both)."""
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise _wrong(f"{where}.{key}", "a number", value) from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _wrong(f"{where}.{key}", "a number", value)
    if not math.isfinite(value):  # json.loads accepts NaN and Infinity
        raise WebhookRejected(f"{where}.{key} must be a finite number")
    return value


def unix_seconds(value: object, where: str) -> datetime:
    """A Unix timestamp (number, digit string, or protobuf Long `{low, high}`) as aware UTC."""
    seconds: int
    if isinstance(value, bool):
        raise _wrong(where, "a Unix timestamp", value)
    if isinstance(value, int):
        seconds = value
    elif isinstance(value, float) and math.isfinite(value):
        seconds = int(value) if abs(value) < 1e18 else -1
    elif isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 15:
        seconds = int(value.strip())
    elif isinstance(value, dict) and isinstance(value.get("low"), int):
        # protobufjs Long, as Baileys may serialise it: low/high 32-bit halves
        high = value.get("high", 0)
        if not isinstance(high, int) or isinstance(high, bool):
            raise _wrong(f"{where}.high", "an integer", high)
        seconds = (high << 32) | (value["low"] & 0xFFFFFFFF)
    else:
        raise _wrong(where, "a Unix timestamp", value)
    if seconds > 10**11:  # milliseconds
        seconds //= 1000
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise WebhookRejected(f"{where} is out of range") from None


def iso_datetime(value: object) -> datetime | None:
    """An ISO 8601 time (Evolution's `date_time`) as aware UTC, or None when unusable."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


_NON_DIGITS = re.compile(r"\D")


def digits(text: str) -> str:
    return _NON_DIGITS.sub("", text)


async def send(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    request_timeout: httpx.Timeout,
    what: str,
    **kwargs: Any,
) -> httpx.Response:
    """One request; transport failures become retryable `ProviderError`s."""
    try:
        return await client.request(method, url, timeout=request_timeout, **kwargs)
    except httpx.UnsupportedProtocol as exc:  # a misconfigured base URL: retrying cannot help
        raise ProviderError(f"{what}: {exc}", retryable=False) from None
    except httpx.TimeoutException:
        raise ProviderError(f"{what}: timed out", retryable=True) from None
    except httpx.TransportError as exc:
        raise ProviderError(f"{what}: connection failed ({exc!r})", retryable=True) from None
    except httpx.InvalidURL as exc:
        raise ProviderError(f"{what}: invalid URL ({exc})", retryable=False) from None


def json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def snippet(response: httpx.Response, limit: int = 200) -> str:
    text = response.text.strip()
    return text[:limit] if text else response.reason_phrase or f"HTTP {response.status_code}"

"""Translations: JSON catalogs per locale, the locale of each request, and `t(key, **kw)`.

Catalogs are flat `{"key": "text with {placeholders}"}` files in `locales/`; every locale has
exactly the keys and placeholders of English (a test checks it). The locale comes from the
`atende_lang` cookie (set by the switcher), else the browser's Accept-Language, else English.
"""

import json
import logging
import string
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from babel import Locale
from babel.dates import format_datetime, format_timedelta
from fastapi import Request

log = logging.getLogger("atende.web")

LOCALES_DIR = Path(__file__).parent / "locales"
LANG_COOKIE = "atende_lang"
DEFAULT_LOCALE = "en"
# locale id -> (value of <html lang>, name shown in the switcher, in its own language)
LOCALES: dict[str, tuple[str, str]] = {"en": ("en", "English"), "pt_BR": ("pt-BR", "Português")}

Translate = Callable[..., str]


def load_catalogs(directory: Path = LOCALES_DIR) -> dict[str, dict[str, str]]:
    catalogs: dict[str, dict[str, str]] = {}
    for locale in LOCALES:
        data = json.loads((directory / f"{locale}.json").read_text(encoding="utf-8"))
        catalogs[locale] = {str(k): str(v) for k, v in data.items()}
    return catalogs


def placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field}


def _parse_accept_language(header: str) -> list[str]:
    """Language tags by preference (RFC 9110 quality values); malformed parts are skipped."""
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        if tag and quality > 0:
            weighted.append((-quality, index, tag.strip().lower()))
    return [tag for _, _, tag in sorted(weighted)]


def _locale_for_tag(tag: str) -> str | None:
    language = tag.replace("_", "-").split("-")[0]
    # Any Portuguese gets Brazilian Portuguese, any English gets English: we have one of each.
    return {"pt": "pt_BR", "en": "en"}.get(language)


def negotiate_locale(request: Request) -> str:
    cookie = request.cookies.get(LANG_COOKIE, "")
    if cookie in LOCALES:
        return cookie
    for tag in _parse_accept_language(request.headers.get("accept-language", "")):
        if locale := _locale_for_tag(tag):
            return locale
    return DEFAULT_LOCALE


class Translator:
    """`t(key, **kw)` for one locale, falling back to English, then to the key itself."""

    def __init__(self, catalogs: dict[str, dict[str, str]], locale: str) -> None:
        self.locale = locale
        self.html_lang = LOCALES[locale][0]
        self._babel = Locale.parse(locale)
        self._catalog = catalogs[locale]
        self._fallback = catalogs[DEFAULT_LOCALE]

    def has(self, key: str) -> bool:
        return key in self._catalog

    def __call__(self, key: str, **kw: Any) -> str:
        text = self._catalog.get(key) or self._fallback.get(key)
        if text is None:
            log.warning("missing translation", extra={"key": key, "locale": self.locale})
            return key
        try:
            return text.format(**kw) if kw or "{" in text else text
        except (KeyError, IndexError, ValueError):
            log.warning("bad translation arguments", extra={"key": key, "locale": self.locale})
            return text

    def format_time(self, value: datetime | None) -> str:
        if value is None:
            return ""
        return format_datetime(value, "medium", tzinfo=UTC, locale=self._babel)

    def ago(self, value: datetime) -> str:
        delta = value - datetime.now(UTC)
        return format_timedelta(delta, add_direction=True, locale=self._babel)

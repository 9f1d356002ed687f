"""A web page's main text, for a knowledge source of kind `url`.

The page is fetched through the outbound guard (`atende.core.netguard`: public addresses only
unless allowed, every redirect checked, `ATENDE_OUTBOUND_TIMEOUT_SECONDS` and
`ATENDE_OUTBOUND_MAX_BYTES`), must be HTML, and its main text is extracted with trafilatura:
it is built for exactly this (the article without menus, footers, cookie banners; tables
kept), leads the published extraction benchmarks, handles Portuguese as well as English, and
is maintained. It parses with lxml, so it runs in a worker thread.
"""

import asyncio
from dataclasses import dataclass

from atende.core.errors import InvalidInput, Problem, UnsupportedMediaType
from atende.core.netguard import OutboundPolicy, OutboundRequest, fetch

HTML_TYPES = ("text/html", "application/xhtml+xml")


class PageNotReadable(InvalidInput):
    code, title = "page-not-readable", "The page cannot be used"


@dataclass(frozen=True, slots=True)
class WebPage:
    url: str  # where it was found, after redirects
    title: str
    text: str


def main_text(html: str) -> tuple[str, str]:
    """The page's title and main text (blocking: lxml parsing)."""
    import trafilatura  # ~25 MB of RSS: loaded by the first web page, not at start-up

    text = trafilatura.extract(
        html, include_comments=False, include_tables=True, favor_recall=True, deduplicate=True
    )
    metadata = trafilatura.extract_metadata(html)
    title = (metadata.title if metadata is not None else None) or ""
    return title.strip(), (text or "").strip()


async def read_page(url: str, policy: OutboundPolicy) -> WebPage:
    """Fetches and extracts `url`; precise 4xx problems (with `field: url`) when the address
    is refused or unreachable, the page is missing, not HTML, too large or without text."""
    try:
        fetched = await fetch(
            OutboundRequest("GET", url, headers={"accept": "text/html,application/xhtml+xml"}),
            policy,
        )
    except Problem as exc:
        exc.extensions.setdefault("field", "url")
        raise
    if not 200 <= fetched.status < 300:
        raise PageNotReadable(f"The page answered HTTP {fetched.status}.", field="url")
    if fetched.content_type not in HTML_TYPES:
        raise UnsupportedMediaType(
            f"The address is not a web page (HTML) but {fetched.content_type or 'untyped'}; "
            "upload files as files.",
            field="url",
        )
    title, text = await asyncio.to_thread(main_text, fetched.text())
    if not text:
        raise PageNotReadable("The page has no text to learn from.", field="url")
    return WebPage(url=fetched.url, title=title[:200], text=text.replace("\x00", ""))

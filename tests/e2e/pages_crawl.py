"""Walk every page a signed-in person can reach by following links, in one browser.

Used by the every-page check: it starts at a few pages and follows same-site links breadth
first, visiting one page per URL shape (``/bookings/12`` and ``/bookings/13`` are one shape),
so day-by-day "next" links do not go on forever.
"""

from __future__ import annotations

import re
from collections import deque
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

# Links that are not pages: downloads, feeds, the API, switching language, static files.
SKIP = re.compile(r"^/(api/|static/|lang/|logout|calendar/|favicon)|\.(ics|csv|xlsx|pdf|png|svg|jpg|zip|json)$"
                  r"|/export|/photos/|/qr")
AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"


def shape(url: str) -> str:
    parts = urlsplit(url)
    keys = sorted(k for k, _ in parse_qsl(parts.query))
    return re.sub(r"\d+", "N", parts.path) + ("?" + "&".join(keys) if keys else "")


def same_site_links(page, base: str) -> list[str]:
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
    links = []
    for href in hrefs:
        if not href.startswith(base):
            continue
        path = href[len(base):].split("#")[0]
        if path and not SKIP.search(urlsplit(path).path):
            links.append(path)
    return links


def crawl(page, base: str, starts: list[str], visit, limit: int = 80) -> list[str]:
    """``visit(page, path, response)`` for each HTML page reached; returns the paths visited."""
    queue = deque(starts)
    seen: set[str] = set()
    visited = []
    while queue and len(visited) < limit:
        path = queue.popleft()
        if shape(path) in seen:
            continue
        seen.add(shape(path))
        try:
            response = page.goto(base + path)
        except Exception as err:  # a link that starts a download is not a page
            if "Download is starting" in str(err):
                continue
            raise
        if response is None or "text/html" not in response.headers.get("content-type", ""):
            continue
        visited.append(path)
        visit(page, path, response)
        queue.extend(same_site_links(page, base))
    return visited

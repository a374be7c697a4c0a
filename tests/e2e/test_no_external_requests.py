"""The dashboard loads nothing from any host but its own (docs/security.md): every request the browser makes
while a person signs in and opens every page, and every address the page points its icon at, is on the
dashboard's own host (or a data: or blob: address, which is no request at all)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from rota.services.access import ADMIN
from tests.e2e.browsing import ACCOUNTS, VIEWPORT, open_page, pages_of, settled, sign_in

LOCAL_SCHEMES = {"data", "blob", "about"}


def outside(urls: list[str], base: str) -> list[str]:
    own = urlsplit(base).netloc
    return sorted({u for u in urls if urlsplit(u).scheme not in LOCAL_SCHEMES and urlsplit(u).netloc != own})


def favicon(page: Any) -> str:
    """Where the page's icon comes from (Streamlit sets it from `st.set_page_config(page_icon=...)`)."""
    return str(page.evaluate("document.querySelector(\"link[rel='shortcut icon']\").href"))


def test_every_request_stays_on_the_dashboards_host(browser: Any, server: str) -> None:
    context = browser.new_context(viewport=VIEWPORT)
    requested: list[str] = []
    context.on("request", lambda request: requested.append(request.url))
    sockets: list[str] = []
    try:
        page = context.new_page()
        page.on("websocket", lambda ws: sockets.append(ws.url))
        sign_in(page, server, ACCOUNTS[ADMIN])  # the sign-in page, then Coverage
        icons = [favicon(page)]
        for title in pages_of(ADMIN)[1:]:
            open_page(page, title)
            icons.append(favicon(page))
        page.reload()  # a fresh load of a page, as after a bookmark
        settled(page)
        icons.append(favicon(page))
        page.wait_for_timeout(1_000)  # anything a page fetches after it is drawn
    finally:
        context.close()
    assert len(requested) > 10 and sockets, "the browser's requests were not recorded"
    away = outside(requested, server)
    assert not away, "requests to other hosts:\n" + "\n".join(away)
    assert not outside(sockets, server.replace("http", "ws", 1)), sockets
    assert not outside(icons, server), f"the page icon comes from another host: {icons}"

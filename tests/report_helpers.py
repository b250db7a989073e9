"""Helpers of the report tests (tests/report and the ``blindiqa report`` command's tests
in tests/cli): the cards of a report page, read as a browser reads them.

(A module of its own, not ``conftest``: other test folders have a ``conftest`` too.)
"""

from __future__ import annotations

from html.parser import HTMLParser


class _Sections(HTMLParser):
    """The ``data-*`` attributes of the cards in each section, as the browser reads them."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: dict[str, list[dict[str, str]]] = {}
        self.current = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "div" and a.get("id") in ("gallery", "worst", "best"):
            self.current = a["id"]
        elif tag == "figure":
            self.sections.setdefault(self.current, []).append(a)


def cards(page: str) -> dict[str, list[dict[str, str]]]:
    """The attributes of the cards of each section (gallery, worst, best) of a page."""
    parser = _Sections()
    parser.feed(page)
    return parser.sections


class _GalleryCards(HTMLParser):
    """Each gallery card's attributes and the burst badges inside it."""

    def __init__(self) -> None:
        super().__init__()
        self.cards: list[dict[str, str]] = []
        self.in_gallery = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "div" and a.get("id") in ("gallery", "worst", "best"):
            self.in_gallery = a["id"] == "gallery"
        elif tag == "figure" and self.in_gallery:
            self.cards.append({**a, "badge": ""})
        elif tag == "span" and self.in_gallery and "burst" in (a.get("class") or "").split():
            self.cards[-1]["badge"] = a["class"]


def gallery(page: str) -> list[dict[str, str]]:
    """The gallery's cards: their attributes and burst badge (``badge``)."""
    parser = _GalleryCards()
    parser.feed(page)
    return parser.cards

"""Escaping of data shown through Markdown: hostile values render as the same text, inert.

The rendering is checked with markdown-it-py (CommonMark, with GFM tables and strikethrough),
an implementation independent of Streamlit's.
"""

from __future__ import annotations

import html
import re

import pytest
from markdown_it import MarkdownIt

from ui.text import WORD_JOINER, code, plain

HOSTILE = [
    "[Session expired - click to log in](https://evil.example/login)",
    "![b](https://evil.example/beacon.png)",
    "<img src=https://evil.example/x.png onerror=alert(1)>",
    "<a href='https://evil.example'>x</a>",
    "<https://evil.example/auto>",
    "[ref]\n\n[ref]: https://evil.example/ref",
    "**bold** _it_ `code` ~~gone~~ # title",
    "1. first\n- item\n> quote",
    "a | b\n--|--\nc | d",
    ":red[alarm] :material/warning: $x^2$",
    "back\\slash \\[not a link\\](https://evil.example)",
    "``` fenced ``` and `` two ``",
    "https://evil.example/bare www.evil.example mail@evil.example HTTP://EVIL.EXAMPLE",
]

_RENDERER = MarkdownIt("commonmark").enable(["table", "strikethrough"])


def _rendered(markdown: str) -> str:
    return _RENDERER.render(markdown)


def _text_of(rendered: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", rendered))


@pytest.mark.parametrize("value", HOSTILE)
def test_plain_renders_as_the_same_text_without_links_or_images(value: str) -> None:
    rendered = _rendered(plain(value))
    assert "<a" not in rendered
    assert "<img" not in rendered
    assert "<strong" not in rendered and "<em" not in rendered and "<table" not in rendered
    text = _text_of(rendered)
    # GFM turns these into links even in plain text (markdown-it's CommonMark does not).
    assert re.search(r"(?i)[a-z]://|www\.|[\w.]@", text) is None
    # Line breaks and the invisible word joiners aside, the text read is the text given.
    assert text.replace(WORD_JOINER, "").split() == value.split()


@pytest.mark.parametrize("value", HOSTILE)
def test_code_renders_as_one_code_span_holding_the_text(value: str) -> None:
    one_line = " ".join(value.split())
    rendered = _rendered(code(one_line))
    assert "<a" not in rendered
    assert "<img" not in rendered
    spans = re.findall(r"<code>(.*?)</code>", rendered, flags=re.S)
    assert [html.unescape(span) for span in spans] == [one_line]


def test_the_hostile_strings_are_live_markup_without_escaping() -> None:
    # The renderer would make links and images of them: the tests above can fail.
    assert "<a href" in _rendered(HOSTILE[0])
    assert "<img" in _rendered(HOSTILE[1])

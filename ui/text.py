"""Values formatted for display: counts, and text from data files made safe for Markdown.

``st.markdown``, ``st.caption`` and the alert boxes render Markdown, so a file name or a column
name inside them could become a link or an image: such text goes through :func:`plain` or
:func:`code` first.
"""

from __future__ import annotations

import re

# Characters with a meaning in Streamlit's Markdown, including its :directive[...] syntax.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")
# Where GFM turns plain text into a link (``https://...``, ``www.``, e-mail addresses), which
# escaping cannot prevent: a word joiner (U+2060, invisible) is put there to break the pattern.
_AUTOLINK = re.compile(r"(?i)(?<=[a-z])(?=://)|(?<=www)(?=\.)|(?=@)")
WORD_JOINER = "\u2060"


def format_count(value: int | float) -> str:
    """Thousands-separated count, e.g. 1,234,567."""
    return f"{int(value):,}"


def plain(text: object) -> str:
    """``text`` with every Markdown character escaped, so it shows as written, and URLs and
    e-mail addresses kept from becoming links (an invisible word joiner breaks them)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", _AUTOLINK.sub(WORD_JOINER, str(text)))


def code(text: object) -> str:
    """``text`` as a Markdown code span, fenced by more backticks than it holds in a row."""
    value = str(text)
    longest = max((len(run) for run in re.findall(r"`+", value)), default=0)
    fence = "`" * (longest + 1)
    return f"{fence} {value} {fence}" if longest else f"{fence}{value}{fence}"


def plural(count: int | float, singular: str, plural_form: str | None = None) -> str:
    """``count`` with its noun in the right number: "1 decision", "2 decisions", "1,200 runs".

    ``plural_form`` gives an irregular plural ("1 sample query", "3 sample queries");
    by default the plural adds an "s".
    """
    number = int(count)
    noun = singular if number == 1 else (plural_form or f"{singular}s")
    return f"{number:,} {noun}"

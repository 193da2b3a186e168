"""Query understanding from the catalogue's own vocabulary: brands, colours, categories, prices.

:class:`QueryVocabulary` is read from the catalogue once: its brand names, the values of its
colour column (or, without one, the basic colour words its texts use) and the segments of its
category paths ("Home > Tables" gives "home" and "tables", and the singular "table").
:func:`parse_query` finds them in a query, longest phrase first, plus price bounds ("under 50",
"below $30", "over 100", "between 20 and 40"), and returns a :class:`ParsedQuery`: the chips
found and the free text left once price phrases are taken out (brand, colour and category words
stay in the free text: they are words a product's text contains).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd

from core.schema import BRAND, CATEGORY, DESCRIPTION, TITLE

BRAND_CHIP = "brand"
COLOUR_CHIP = "colour"
CATEGORY_CHIP = "category"
PRICE_MIN_CHIP = "price_min"
PRICE_MAX_CHIP = "price_max"
CHIP_KINDS = (BRAND_CHIP, COLOUR_CHIP, CATEGORY_CHIP, PRICE_MIN_CHIP, PRICE_MAX_CHIP)

COLOUR_COLUMNS = ("colour", "color")
# Used only for a catalogue without a colour column, and only the words its texts contain.
BASIC_COLOURS = (
    "black", "white", "grey", "gray", "silver", "gold", "red", "orange", "yellow", "green",
    "blue", "navy", "purple", "pink", "brown", "beige", "cream", "ivory", "teal", "turquoise",
)  # fmt: skip
CATEGORY_SEPARATORS = re.compile(r"\s*(?:>|/|\||›)\s*")
MAX_PHRASE_WORDS = 4

_NUMBER = r"[$€£]?\s*(\d+(?:[.,]\d+)?)\s*(?:[$€£]|\b(?:usd|eur|gbp|dollars?|euros?)\b)?"
_PRICE_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(rf"\bbetween\s+{_NUMBER}\s+(?:and|to|-)\s+{_NUMBER}", re.I), "between"),
    (re.compile(rf"\bfrom\s+{_NUMBER}\s+(?:to|-)\s+{_NUMBER}", re.I), "between"),
    (re.compile(rf"\b(?:under|below|less\s+than|cheaper\s+than|up\s+to)\s+{_NUMBER}", re.I), "max"),
    (re.compile(rf"\b(?:over|above|more\s+than|at\s+least)\s+{_NUMBER}", re.I), "min"),
)  # fmt: skip
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class Chip:
    """One thing recognised in a query.

    Attributes
    ----------
    kind : str
        One of :data:`CHIP_KINDS`.
    value : str or float
        The catalogue's own value (brand name, colour, category segment as written there) or
        the price bound.
    words : str
        The words of the query it was recognised from.
    """

    kind: str
    value: str | float
    words: str

    @property
    def label(self) -> str:
        """``kind:value``, the name a caller uses to remove the chip."""
        value = f"{self.value:g}" if isinstance(self.value, float) else self.value
        return f"{self.kind}:{value}"


@dataclass(frozen=True)
class ParsedQuery:
    """A query split into chips and the free text used for retrieval."""

    text: str
    free_text: str
    chips: tuple[Chip, ...] = field(default_factory=tuple)

    def of_kind(self, kind: str) -> list[Chip]:
        return [chip for chip in self.chips if chip.kind == kind]

    def without(self, labels: Iterable[str]) -> ParsedQuery:
        """The same query without the chips named by ``labels`` (see :attr:`Chip.label`)."""
        drop = set(labels)
        kept = tuple(chip for chip in self.chips if chip.label not in drop)
        return ParsedQuery(self.text, self.free_text, kept)


def _key(text: str) -> str:
    return " ".join(_WORD.findall(text.casefold()))


def _singular(word: str) -> str | None:
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return None


@dataclass(frozen=True)
class QueryVocabulary:
    """Phrases (normalised, single-spaced, lower case) -> (chip kind, catalogue value)."""

    phrases: dict[str, tuple[str, str]]

    @classmethod
    def from_catalog(cls, catalog: pd.DataFrame) -> QueryVocabulary:
        """The brands, colours and category words of ``catalog``."""
        phrases: dict[str, tuple[str, str]] = {}

        def values(column: str) -> list[str]:
            if column not in catalog.columns:
                return []
            return sorted({str(v).strip() for v in catalog[column].dropna() if str(v).strip()})

        for segment in sorted({s for path in values(CATEGORY) for s in _segments(path)}):
            key = _key(segment)
            if key:
                phrases.setdefault(key, (CATEGORY_CHIP, segment))
                *head, last = key.split()
                singular = _singular(last)
                if singular:
                    phrases.setdefault(" ".join([*head, singular]), (CATEGORY_CHIP, segment))
        colour_column = next((c for c in COLOUR_COLUMNS if c in catalog.columns), None)
        if colour_column is not None:
            colours = values(colour_column)
        else:
            texts = [text for column in (TITLE, DESCRIPTION) for text in values(column)]
            words = {word for text in texts for word in _key(text).split()}
            colours = [colour for colour in BASIC_COLOURS if colour in words]
        for colour in colours:
            if _key(colour):
                phrases[_key(colour)] = (COLOUR_CHIP, colour)
        # Brands last: a brand named like a colour or category is most likely meant as the brand.
        for brand in values(BRAND):
            if _key(brand):
                phrases[_key(brand)] = (BRAND_CHIP, brand)
        return cls(phrases)


def _segments(path: str) -> list[str]:
    return [part for part in CATEGORY_SEPARATORS.split(path) if part.strip()]


def _price(text: str) -> float:
    """A price as written: "1,000" is a thousand, "9,99" nine and 99 cents."""
    if re.fullmatch(r"\d{1,3},\d{3}", text):
        return float(text.replace(",", ""))
    return float(text.replace(",", "."))


def parse_query(query: str, vocabulary: QueryVocabulary) -> ParsedQuery:
    """Chips and free text of ``query`` (see the module notes).

    Examples
    --------
    >>> vocabulary = QueryVocabulary({"acme": ("brand", "Acme"), "red": ("colour", "Red")})
    >>> parsed = parse_query("red acme kettle under $40", vocabulary)
    >>> [chip.label for chip in parsed.chips], parsed.free_text
    (['price_max:40', 'colour:Red', 'brand:Acme'], 'red acme kettle')
    """
    chips: list[Chip] = []
    rest = query
    for pattern, kind in _PRICE_PATTERNS:
        for match in pattern.finditer(rest):
            words = " ".join(match.group(0).split())
            if kind == "between":
                low, high = sorted((_price(match.group(1)), _price(match.group(2))))
                chips += [Chip(PRICE_MIN_CHIP, low, words), Chip(PRICE_MAX_CHIP, high, words)]
            else:
                chip_kind = PRICE_MAX_CHIP if kind == "max" else PRICE_MIN_CHIP
                chips.append(Chip(chip_kind, _price(match.group(1)), words))
        rest = pattern.sub(" ", rest)
    words = _WORD.findall(rest)
    keys = [word.casefold() for word in words]
    seen: set[tuple[str, str]] = set()
    start = 0
    while start < len(keys):
        for length in range(min(MAX_PHRASE_WORDS, len(keys) - start), 0, -1):
            found = vocabulary.phrases.get(" ".join(keys[start : start + length]))
            if found is not None:
                if found not in seen:
                    seen.add(found)
                    chips.append(Chip(found[0], found[1], " ".join(words[start : start + length])))
                start += length
                break
        else:
            start += 1
    return ParsedQuery(query, " ".join(rest.split()), tuple(chips))

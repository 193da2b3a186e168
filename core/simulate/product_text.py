"""Titles and descriptions of products, assembled from their attribute words in varied wording."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.simulate.vocabulary import ADJECTIVES, CARE_ADJECTIVES, LOOKS


def _words(text: str) -> str:
    """Capitalise the first letter of every word, leaving the rest as written (USB-C, TV)."""
    return " ".join(w[:1].upper() + w[1:] for w in text.split(" "))


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


@dataclass(frozen=True)
class ProductWords:
    """The words a title and description are made of."""

    brand: str
    model: str
    noun: str
    unit: str
    colour: str
    material: str
    feature: str
    benefit: str
    size: str | None
    use: str
    ingredient: bool

    @property
    def counted(self) -> str:
        """The noun as one thing: "frying pan", "pair of sneakers"."""
        return f"{self.unit} {self.noun}" if self.unit else self.noun


def product_title(pick: np.ndarray, w: ProductWords) -> str:
    """One of several title layouts; attribute words are capitalised as shop titles are."""
    noun, colour, material, feature = (_words(x) for x in (w.noun, w.colour, w.material, w.feature))
    sized = f", {w.size}" if w.size else ""
    layouts = (
        f"{w.brand} {w.model} {feature} {noun}{sized}, {colour}",
        f"{w.brand} {material} {noun} {w.model} ({colour})",
        f"{w.brand} {w.model} {noun} - {colour}{sized}",
        f"{w.brand} {noun} {w.model}, {material}, {colour}",
        f"{feature} {material} {noun} by {w.brand}, {colour}{sized}",
    )
    return layouts[pick[0] % len(layouts)]


def product_description(pick: np.ndarray, w: ProductWords) -> str:
    """Two to four sentences about a product, in varied wording.

    ``pick`` holds random integers: which opener, which further sentences, in which order, and
    which wording of each.
    """
    adjectives = CARE_ADJECTIVES if w.ingredient else ADJECTIVES
    adjective = adjectives[pick[1] % len(adjectives)]
    a_adjective = f"{_article(adjective)} {adjective}"
    look = LOOKS[pick[2] % len(LOOKS)]
    made = "with" if w.ingredient else "from"
    openers = (
        (f"The {w.brand} {w.model} is {a_adjective} {w.counted} in {w.colour}.", "colour"),
        (f"This {w.colour} {w.counted} from {w.brand} is made {made} {w.material}.", "material"),
        (f"Meet the {w.model} by {w.brand}: {a_adjective} {w.counted} for {w.use}.", "use"),
        (f"If you are looking for {a_adjective} {w.counted}, the {w.brand} {w.model} has you "
         "covered.", ""),
        (f"{w.brand} built the {w.model} {w.noun} to be {w.feature} and easy to live with.",
         "feature"),
    )  # fmt: skip
    opener, covered = openers[pick[3] % len(openers)]
    options = {
        "material": (
            (
                f"Its formula is built around {w.material}.",
                f"Enriched with {w.material} for a {look} finish.",
                f"{w.material} is the star ingredient.",
            )
            if w.ingredient
            else (
                f"It is crafted from {w.material}, so it lasts for years.",
                f"Made of {w.material}, it looks {look} and feels solid.",
                f"The {w.material} construction keeps it {adjective} over time.",
            )
        ),
        "feature": (
            f"It is {w.feature}, so {w.benefit}.",
            f"Because it is {w.feature}, {w.benefit}.",
            f"Thanks to the {w.feature} design, {w.benefit}.",
        ),
        "use": (
            f"Ideal for {w.use}.",
            f"A great choice for {w.use}.",
            f"It is well suited to {w.use}.",
        ),
        "colour": (
            f"The {w.colour} finish goes with almost anything.",
            f"Its {w.colour} colour is easy to match.",
        ),
        "size": (
            (f"This one comes in {w.size}.", f"Available here in {w.size}.", f"Size: {w.size}.")
            if w.size
            else ()
        ),
        "closer": (
            f"Backed by a {2 + pick[4] % 4}-year warranty.",
            "Easy to look after and built to last.",
            "It also makes a thoughtful gift.",
            "Customers love it for its value for money.",
        ),
    }
    topics = [t for t in ("material", "feature", "use", "colour", "size") if t != covered]
    topics = [t for t in topics if options[t]]
    turn = pick[5] % len(topics)
    order = topics[turn:] + topics[:turn]
    if pick[6] % 2:
        order.reverse()
    n_more = 1 + pick[8] % 3  # 1-3 further sentences: 2-4 in all
    chosen = order[: n_more - 1] + (["closer"] if pick[9] % 2 else order[n_more - 1 : n_more])
    sentences = [opener]
    for k, topic in enumerate(chosen):
        wordings = options[topic]
        sentences.append(wordings[pick[10 + k] % len(wordings)])
    return " ".join(s[0].upper() + s[1:] for s in sentences)

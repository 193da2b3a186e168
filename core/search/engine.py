r"""Product search: lexical, semantic and personal signals fused over one query's candidates.

A :class:`SearchIndex` is built once from a catalogue (:meth:`SearchIndex.build`) or a
workspace (:meth:`SearchIndex.from_workspace`): the lexical index always, the semantic index
with an encoder, the personal scorer with a trained model run. :meth:`SearchIndex.search` then

1. parses the query into chips and free text (:mod:`core.search.query`);
2. retrieves candidates: products the lexical index matches (its best ``n_candidates``) and
   the semantic index's ``n_candidates`` closest; an empty free text (a query of filters
   only, "under 50") makes every product a candidate;
3. keeps the candidates that pass the filters: the caller's :class:`SearchFilters`, the price
   chips, and with ``chip_mode="filter"`` the brand, colour and category chips; when none is
   left, filters are dropped one at a time (price, colour, brand, category; the caller's
   before the query's) until some candidate passes, and each drop is noted in the result;
4. fuses the signals with weights :math:`w = ((1-\alpha)(1-\pi), \alpha(1-\pi), \pi)` for
   (lexical, semantic, personal), :math:`\pi` the personal weight (0 for an anonymous
   shopper; :math:`\alpha` is taken as 0 without an encoder):

   ``convex``  :math:`s = \sum_j w_j\,\mathrm{minmax}(x_j)` over the candidates (the
   Weaviate / Elasticsearch linear hybrid; a product a signal did not retrieve gets 0 from it);
   ``rrf``     :math:`s = \sum_j w_j / (k_{rrf} + r_j)` with :math:`r_j` the product's rank by
   signal :math:`j` among the candidates (none where the signal did not retrieve it);
   ``gate``    :math:`s = \sum_j w_j(q, p, u)\,\mathrm{minmax}(x_j)` with weights per product
   from the learned query-product gate (:mod:`core.search.gate`), which starts from the
   convex weights of its own :math:`\alpha` and :math:`\pi` (an index built with a gate);

5. multiplies by :math:`1 + b\,m/c` in ``chip_mode="boost"``, with :math:`m` of the
   :math:`c` brand, colour and category chips matching the product and :math:`b` the
   ``chip_boost``; then keeps the ``k`` best (ties to the earlier catalogue row).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from core.checks import check_choice, check_fraction, check_positive, check_whole
from core.data.workspace import Workspace
from core.errors import SearchError
from core.fusion.methods import RRF_K, rrf_terms
from core.fusion.normalise import minmax
from core.metrics.ranking import top_k
from core.models.runs import load_model, run_user_ids
from core.schema import BRAND, CATALOG_TABLE, CATEGORY, ITEM_ID, PRICE, TITLE
from core.search.facets import nice_round, shown_values, value_counts
from core.search.gate import SearchGate, user_features
from core.search.lexical import LexicalIndex, tokenize
from core.search.personal import PersonalScorer
from core.search.query import (
    BRAND_CHIP,
    CATEGORY_CHIP,
    CATEGORY_SEPARATORS,
    COLOUR_CHIP,
    COLOUR_COLUMNS,
    PRICE_MAX_CHIP,
    PRICE_MIN_CHIP,
    Chip,
    ParsedQuery,
    QueryVocabulary,
    parse_query,
)
from core.search.semantic import SemanticIndex, best_rows
from core.search.stages import StageClock
from core.synth.store import accepted_query_pairs
from core.text.cache import EmbeddingCache, TextEncoder
from core.text.encoders import load_encoder
from core.text.product_text import product_texts

METHODS = ("convex", "rrf", "gate")
CHIP_MODES = ("boost", "filter")
SIGNALS = ("lexical", "semantic", "personal")
RESULT_COLUMNS = (
    ITEM_ID, TITLE, CATEGORY, BRAND, PRICE, "score", "lexical", "semantic", "personal",
    "lexical_raw", "semantic_raw", "personal_raw", "boost", "chips",
    "weight_lexical", "weight_semantic", "weight_personal",
)  # fmt: skip
N_CANDIDATES = 200
CHIP_BOOST = 0.2
PERSONAL_WEIGHT = 0.2
NO_PRICE = "no price"
# Order in which filters are dropped when nothing passes them all.
_RELAX_ORDER = (PRICE_MIN_CHIP, PRICE_MAX_CHIP, COLOUR_CHIP, BRAND_CHIP, CATEGORY_CHIP)


@dataclass(frozen=True)
class SearchFilters:
    """Filters a caller sets (facet clicks): a product passes when it matches every set one.

    Values within one field are alternatives (brand A or brand B). A category matches a
    product whose category path is that value or has it as a segment.
    """

    categories: tuple[str, ...] = ()
    brands: tuple[str, ...] = ()
    colours: tuple[str, ...] = ()
    price_min: float | None = None
    price_max: float | None = None


@dataclass(frozen=True)
class SearchResult:
    """The answer to one query.

    Attributes
    ----------
    items : pandas.DataFrame
        Columns :data:`RESULT_COLUMNS`, best first: the fused ``score``; ``lexical``,
        ``semantic``, ``personal``, each signal's part of the score before the boost (the
        parts sum to ``score / boost``); the ``*_raw`` signal values (NaN where a signal did
        not retrieve the product); the ``boost`` factor; ``chips`` the labels of the chips the
        product matches; ``weight_*`` each signal's weight for the product (the same for every
        product with ``convex`` and ``rrf``, the gate's own with ``gate``).
    query : ParsedQuery
        The chips in use and the free text searched.
    facets : dict
        ``"category"``, ``"brand"``, ``"price"``: frames ``value``, ``count`` over the
        candidates that passed the filters, most frequent first.
    notes : tuple of str
        What the engine did that a shopper should know (filters relaxed, no match...).
    relaxed : tuple of str
        Labels of the filters dropped to find results.
    n_candidates : int
        Candidates that passed the filters.
    method : str
        The fusion that ranked the results: ``"convex"``, ``"rrf"`` or ``"gate"``.
    """

    items: pd.DataFrame
    query: ParsedQuery
    facets: dict[str, pd.DataFrame]
    notes: tuple[str, ...] = ()
    relaxed: tuple[str, ...] = ()
    n_candidates: int = 0
    method: str = "convex"


@dataclass(frozen=True)
class CandidateSignals:
    """One query's candidates and their signals, before filters and fusion.

    Attributes
    ----------
    rows : numpy.ndarray
        Catalogue rows of the candidates, ascending.
    raw : numpy.ndarray
        ``(3, n)`` float32 lexical, semantic and personal values (NaN: not retrieved).
    terms : numpy.ndarray
        ``(3, n)`` float32 min-max terms over the candidates (0 where not retrieved).
    """

    rows: np.ndarray
    raw: np.ndarray
    terms: np.ndarray


@dataclass(frozen=True)
class _Filter:
    label: str
    kind: str
    from_caller: bool
    passes: Callable[[np.ndarray], np.ndarray] = field(repr=False)


def _lower(values: pd.Series) -> np.ndarray:
    return values.astype(object).where(values.notna(), "").map(str).str.strip().str.casefold()


class SearchIndex:
    """Everything a product search needs, built once per catalogue (see the module notes).

    Parameters
    ----------
    catalog : pandas.DataFrame
        One row per product (the first row of a repeated ``item_id`` is kept).
    lexical : LexicalIndex
        Fitted on ``catalog``.
    semantic : SemanticIndex, optional
    personal : PersonalScorer, optional
    gate : SearchGate, optional
        A trained query-product gate (:mod:`core.search.gate`); enables ``method="gate"``.
    """

    def __init__(
        self,
        catalog: pd.DataFrame,
        lexical: LexicalIndex,
        semantic: SemanticIndex | None = None,
        personal: PersonalScorer | None = None,
        gate: SearchGate | None = None,
    ) -> None:
        self.catalog = catalog
        self.lexical = lexical
        self.semantic = semantic
        self.personal = personal
        self.gate = gate
        self.vocabulary = QueryVocabulary.from_catalog(catalog)
        self.item_ids = catalog[ITEM_ID].astype(str).to_numpy()
        self._category = _lower(catalog.get(CATEGORY, pd.Series([""] * len(catalog))))
        self._brand = _lower(catalog.get(BRAND, pd.Series([""] * len(catalog))))
        colour = next((c for c in COLOUR_COLUMNS if c in catalog.columns), None)
        self._colour = _lower(catalog[colour]) if colour else None
        # Shown columns as arrays (missing as ""): results and facets index them, no pandas.
        self._shown = {column: shown_values(catalog, column) for column in (TITLE, CATEGORY, BRAND)}
        self._facet_text = {
            name: np.array([str(value) for value in self._shown[column]], dtype=object)
            for name, column in (("category", CATEGORY), ("brand", BRAND))
        }
        self._text = np.array(
            [" " + " ".join(tokenize(t)) + " " for t in product_texts(catalog, self.item_ids)]
        )
        price = pd.to_numeric(catalog.get(PRICE, pd.Series([np.nan] * len(catalog))), "coerce")
        self._price = price.to_numpy(dtype=np.float64)
        known = self._price[np.isfinite(self._price)]
        edges = np.quantile(known, [0.2, 0.4, 0.6, 0.8]) if len(known) else np.array([])
        self.price_edges = np.unique([nice_round(edge) for edge in edges if nice_round(edge) > 0])
        self._band_labels = np.array(self.price_band(self._band_probe()), dtype=object)
        self._band = self._band_of(self._price)

    # Building ------------------------------------------------------------------------------

    @staticmethod
    def prepare_catalog(catalog: pd.DataFrame | None) -> pd.DataFrame:
        """``catalog`` with string ids, one row per id, a fresh index; checked."""
        if catalog is None or catalog.empty or ITEM_ID not in catalog.columns:
            raise SearchError("the catalogue is empty: load a catalogue with item_id first")
        table = catalog.copy()
        table[ITEM_ID] = table[ITEM_ID].astype(str)
        return table.drop_duplicates(ITEM_ID).reset_index(drop=True)

    @classmethod
    def build(
        cls,
        catalog: pd.DataFrame,
        *,
        encoder: TextEncoder | None = None,
        cache: EmbeddingCache | None = None,
        personal_model: tuple[object, Sequence[str]] | None = None,
        expansion: pd.DataFrame | None = None,
        lexical: LexicalIndex | None = None,
        gate: SearchGate | None = None,
    ) -> SearchIndex:
        """Index ``catalog``.

        Parameters
        ----------
        catalog : pandas.DataFrame
        encoder : TextEncoder, optional
            Enables semantic retrieval (products encoded through ``cache`` when given).
        cache : EmbeddingCache, optional
        personal_model : (Recommender, user ids), optional
            A fitted model and the external id of each of its rows; enables personal scores.
        expansion : pandas.DataFrame, optional
            ``item_id``, ``text``: extra queries per product for the lexical ``queries`` field.
        lexical : LexicalIndex, optional
            An unfitted lexical index with its settings; the defaults otherwise.
        gate : SearchGate, optional
            A trained search gate (needs ``encoder``).
        """
        table = cls.prepare_catalog(catalog)
        lexical_index = (lexical or LexicalIndex()).fit(table, expansion)
        semantic = None
        if encoder is not None:
            texts = product_texts(table, table[ITEM_ID].to_numpy())
            semantic = SemanticIndex.build(encoder, texts, cache)
        personal = None
        if personal_model is not None:
            model, user_ids = personal_model
            personal = PersonalScorer(model, user_ids, table)
        return cls(table, lexical_index, semantic, personal, gate)

    @classmethod
    def from_workspace(
        cls,
        workspace: Workspace,
        *,
        encoder: str | Path | TextEncoder | None = None,
        model_run: str | None = None,
        expand: bool = False,
        lexical: LexicalIndex | None = None,
    ) -> SearchIndex:
        """Index the workspace's catalogue.

        Parameters
        ----------
        workspace : Workspace
        encoder : str, Path or TextEncoder, optional
            ``"minilm"``, ``"tiny"``, a fine-tuned encoder folder (see
            :func:`core.text.encoders.load_encoder`) or an encoder; no semantic search if
            omitted. Product vectors go through the workspace's embedding cache.
        model_run : str, optional
            Id of a trained model run for personal scores.
        expand : bool
            Append the accepted synthetic queries of each product to its lexical text.
        lexical : LexicalIndex, optional
        """
        if not workspace.table_exists(CATALOG_TABLE):
            raise SearchError("this workspace has no catalogue: load one on the Data page first")
        catalog = workspace.read_table(CATALOG_TABLE)
        if isinstance(encoder, str | Path):
            encoder = load_encoder(encoder)
        personal_model = None
        if model_run is not None:
            personal_model = (load_model(workspace, model_run), run_user_ids(workspace, model_run))
        expansion = None
        if expand:
            expansion = accepted_query_pairs(workspace).rename(columns={"query": "text"})
        return cls.build(
            catalog,
            encoder=encoder,
            cache=EmbeddingCache.for_workspace(workspace) if encoder is not None else None,
            personal_model=personal_model,
            expansion=expansion,
            lexical=lexical,
        )

    # Matching ------------------------------------------------------------------------------

    def _in_category(self, value: str) -> Callable[[np.ndarray], np.ndarray]:
        key = value.strip().casefold()

        def passes(rows: np.ndarray) -> np.ndarray:
            paths = self._category[rows]
            return np.array(
                [path == key or key in (s.strip() for s in _split(path)) for path in paths],
                dtype=bool,
            )

        return passes

    def _is_brand(self, value: str) -> Callable[[np.ndarray], np.ndarray]:
        key = value.strip().casefold()
        return lambda rows: self._brand[rows] == key

    def _has_colour(self, value: str) -> Callable[[np.ndarray], np.ndarray]:
        key = value.strip().casefold()
        words = " " + " ".join(tokenize(value)) + " "

        def passes(rows: np.ndarray) -> np.ndarray:
            if self._colour is not None:
                return self._colour[rows] == key
            return np.char.find(self._text[rows].astype(str), words) >= 0

        return passes

    def _price_at_least(self, low: float) -> Callable[[np.ndarray], np.ndarray]:
        return lambda rows: np.nan_to_num(self._price[rows], nan=-np.inf) >= low

    def _price_at_most(self, high: float) -> Callable[[np.ndarray], np.ndarray]:
        return lambda rows: np.nan_to_num(self._price[rows], nan=np.inf) <= high

    def _chip_test(self, chip: Chip) -> Callable[[np.ndarray], np.ndarray]:
        makers = {
            BRAND_CHIP: self._is_brand,
            COLOUR_CHIP: self._has_colour,
            CATEGORY_CHIP: self._in_category,
            PRICE_MIN_CHIP: self._price_at_least,
            PRICE_MAX_CHIP: self._price_at_most,
        }
        return makers[chip.kind](chip.value)

    def _filters(self, filters: SearchFilters, parsed: ParsedQuery, mode: str) -> list[_Filter]:
        """The active filters, in the order they are relaxed."""
        found: list[_Filter] = []

        def any_of(kind: str, label: str, tests: list[Callable], caller: bool) -> None:
            if tests:
                found.append(_Filter(label, kind, caller, lambda rows: _any(tests, rows)))

        caller = {
            CATEGORY_CHIP: [self._in_category(v) for v in filters.categories],
            BRAND_CHIP: [self._is_brand(v) for v in filters.brands],
            COLOUR_CHIP: [self._has_colour(v) for v in filters.colours],
        }
        if filters.price_min is not None:
            low = check_positive("price_min", filters.price_min, SearchError, allow_zero=True)
            test = self._price_at_least(low)
            found.append(_Filter(f"{PRICE_MIN_CHIP}:{low:g}", PRICE_MIN_CHIP, True, test))
        if filters.price_max is not None:
            high = check_positive("price_max", filters.price_max, SearchError, allow_zero=True)
            test = self._price_at_most(high)
            found.append(_Filter(f"{PRICE_MAX_CHIP}:{high:g}", PRICE_MAX_CHIP, True, test))
        for kind in (COLOUR_CHIP, BRAND_CHIP, CATEGORY_CHIP):
            values = {COLOUR_CHIP: filters.colours, BRAND_CHIP: filters.brands,
                      CATEGORY_CHIP: filters.categories}[kind]  # fmt: skip
            any_of(kind, "|".join(f"{kind}:{v}" for v in values), caller[kind], True)
        for kind in (PRICE_MIN_CHIP, PRICE_MAX_CHIP, COLOUR_CHIP, BRAND_CHIP, CATEGORY_CHIP):
            chips = parsed.of_kind(kind)
            if not chips or (kind in (COLOUR_CHIP, BRAND_CHIP, CATEGORY_CHIP) and mode != "filter"):
                continue
            label = "|".join(chip.label for chip in chips)
            any_of(kind, label, [self._chip_test(chip) for chip in chips], False)
        rank = {kind: position for position, kind in enumerate(_RELAX_ORDER)}
        return sorted(found, key=lambda f: (not f.from_caller, rank[f.kind]))

    # Searching -----------------------------------------------------------------------------

    def search(
        self,
        query: str,
        user_id: str | None = None,
        k: int = 20,
        filters: SearchFilters | None = None,
        method: str = "convex",
        alpha: float = 0.5,
        *,
        personal_weight: float = PERSONAL_WEIGHT,
        chip_mode: str = "boost",
        chip_boost: float = CHIP_BOOST,
        drop_chips: Collection[str] = (),
        n_candidates: int = N_CANDIDATES,
        rrf_k: float = RRF_K,
        stage_seconds: dict[str, float] | None = None,
    ) -> SearchResult:
        """Search the catalogue for ``query`` (see the module notes for each step).

        Parameters
        ----------
        query : str
            What the shopper typed.
        user_id : str, optional
            A known user id personalises the ranking; ``None`` (or an id the model never saw)
            ranks as for an anonymous shopper.
        k : int
            Results to return.
        filters : SearchFilters, optional
            The caller's filters.
        method : str
            ``"convex"`` (min-max normalised weighted sum), ``"rrf"`` or ``"gate"`` (the
            index's trained gate; its own alpha and personal weight replace the arguments).
        alpha : float
            Semantic share of the lexical + semantic weight, in [0, 1] (0 = lexical only).
        personal_weight : float
            Share of the personal signal in [0, 1) for a known user.
        chip_mode : str
            ``"boost"``: brand, colour and category chips boost the products they match;
            ``"filter"``: they filter. Price chips always filter.
        chip_boost : float
            Boost of a product matching every boosting chip (``score * (1 + chip_boost)``).
        drop_chips : collection of str
            Labels of chips to ignore (``"brand:Acme"``; see :attr:`Chip.label`).
        n_candidates : int
            Candidates taken from each retriever.
        rrf_k : float
            The constant of reciprocal rank fusion.
        stage_seconds : dict, optional
            Receives the wall seconds of each step (``parse``, ``lexical``, ``encode``,
            ``semantic``, ``filters``, ``personal``, ``gate``, ``fuse``, ``top_k``, ``facets``).

        Returns
        -------
        SearchResult
        """
        clock = StageClock(stage_seconds)
        if not isinstance(query, str):
            raise SearchError(f"the query must be text, not {type(query).__name__}")
        k = check_whole("k", k, 1, SearchError)
        n_candidates = check_whole("n_candidates", n_candidates, 1, SearchError)
        method = check_choice("method", method, METHODS, SearchError)
        chip_mode = check_choice("chip_mode", chip_mode, CHIP_MODES, SearchError)
        alpha = check_fraction("alpha", alpha, SearchError, allow_zero=True)
        personal_weight = check_fraction(
            "personal_weight", personal_weight, SearchError, allow_zero=True
        )
        if personal_weight >= 1:
            raise SearchError("personal_weight must be below 1: the query must count")
        chip_boost = check_positive("chip_boost", chip_boost, SearchError, allow_zero=True)
        if method == "gate" and (self.gate is None or self.semantic is None):
            raise SearchError(
                "the gate ranker needs a trained search gate and an encoder: build the index "
                "with both, or choose convex or rrf"
            )
        parsed = parse_query(query, self.vocabulary).without(drop_chips)
        notes: list[str] = []
        if user_id is not None and (self.personal is None or not self.personal.knows(user_id)):
            notes.append(f"user {user_id!r} is unknown to the personal model: not personalised")
        known_user = self.personal is not None and self.personal.knows(user_id)
        clock.lap("parse")
        lexical, candidates, vector = self._retrieve(
            parsed.free_text, n_candidates, notes, clock=clock
        )
        active = self._filters(filters or SearchFilters(), parsed, chip_mode)
        rows, relaxed = self._apply_filters(candidates, active, notes)
        clock.lap("filters")
        if len(rows) == 0:
            if not notes:
                notes.append(f"no product matches {parsed.free_text!r}")
            return SearchResult(self._frame(rows), parsed, self._facets(rows), tuple(notes),
                                tuple(relaxed), 0)  # fmt: skip

        raw = self._raw(rows, lexical, vector, user_id if known_user else None)
        clock.lap("personal")
        pi = personal_weight if known_user else 0.0
        a = alpha if self.semantic is not None else 0.0
        weights = np.array([(1 - a) * (1 - pi), a * (1 - pi), pi], dtype=np.float32)
        weights = np.repeat(weights[:, None], len(rows), axis=1)
        if method == "gate" and vector is None:  # a query of filters only: no text to gate
            weights = np.repeat(self._gate_prior(known_user)[:, None], len(rows), axis=1)
        elif method == "gate":
            features = user_features(self.personal, user_id)
            weights = self.gate.weights(vector, self.semantic.vectors[rows], features).T
        clock.lap("gate")
        terms = rrf_terms(raw, rrf_k) if method == "rrf" else minmax(raw)
        parts = weights * terms
        fused = parts.sum(axis=0)
        boosting = [c for c in parsed.chips if c.kind in (BRAND_CHIP, COLOUR_CHIP, CATEGORY_CHIP)]
        matched = [[] for _ in rows]
        for chip in boosting:
            for position in np.flatnonzero(self._chip_test(chip)(rows)):
                matched[position].append(chip.label)
        boost = np.ones(len(rows), dtype=np.float32)
        if chip_mode == "boost" and boosting:
            counts = np.array([len(labels) for labels in matched], dtype=np.float32)
            boost = 1 + chip_boost * counts / len(boosting)
        score = (fused * boost).astype(np.float32)
        clock.lap("fuse")
        order, _ = top_k(score[None, :], k)
        picked = order[0][order[0] >= 0]
        chips = np.empty(len(picked), dtype=object)
        chips[:] = [tuple(matched[p]) for p in picked]
        values: dict[str, object] = {"score": score[picked], "boost": boost[picked], "chips": chips}
        for position, name in enumerate(SIGNALS):
            values[name] = parts[position, picked]
            values[f"{name}_raw"] = raw[position, picked]
            values[f"weight_{name}"] = weights[position, picked]
        frame = self._frame(rows[picked], values)
        clock.lap("top_k")
        facets = self._facets(rows)
        clock.lap("facets")
        return SearchResult(frame, parsed, facets, tuple(notes), tuple(relaxed), len(rows),
                            method)  # fmt: skip

    def _gate_prior(self, known_user: bool) -> np.ndarray:
        pi = self.gate.personal_weight if known_user else 0.0
        a = self.gate.alpha
        return np.array([(1 - a) * (1 - pi), a * (1 - pi), pi], dtype=np.float32)

    def _raw(
        self,
        rows: np.ndarray,
        lexical: np.ndarray | None,
        query_vector: np.ndarray | None,
        user_id: str | None,
    ) -> np.ndarray:
        """``(3, n)`` raw signals of ``rows`` (NaN where a signal did not retrieve); the
        semantic one is the exact cosine of each row, whichever retriever found it."""
        raw = np.full((3, len(rows)), np.nan, dtype=np.float32)
        if lexical is not None:
            raw[0] = np.where(lexical[rows] > 0, lexical[rows], np.nan)
        if query_vector is not None:
            raw[1] = self.semantic.cosines(query_vector, rows)
        if user_id is not None:
            raw[2] = self.personal.score(user_id, rows).score
        return raw

    def free_text(self, query: str) -> str:
        """The text :meth:`search` retrieves with: ``query`` without its chips."""
        return parse_query(query, self.vocabulary).free_text

    def signals(
        self,
        text: str,
        user_id: str | None = None,
        *,
        n_candidates: int = N_CANDIDATES,
        query_vector: np.ndarray | None = None,
    ) -> CandidateSignals:
        """Candidates of free text ``text`` and their signals, as :meth:`search` fuses them
        (no filters, no boost); ``query_vector`` saves encoding ``text`` again."""
        known = self.personal is not None and self.personal.knows(user_id)
        lexical, rows, vector = self._retrieve(text, n_candidates, [], query_vector)
        raw = self._raw(rows, lexical, vector, user_id if known else None)
        return CandidateSignals(rows, raw, minmax(raw))

    def _retrieve(
        self,
        text: str,
        n_candidates: int,
        notes: list[str],
        query_vector: np.ndarray | None = None,
        clock: StageClock | None = None,
    ) -> tuple[np.ndarray | None, np.ndarray, np.ndarray | None]:
        """Lexical scores of every product, the candidate rows (ascending) and the query's
        vector (None without an encoder or free text)."""
        n, clock = len(self.catalog), clock or StageClock(None)
        if not text.strip():
            return None, np.arange(n), None
        scores = self.lexical.score(text)
        if scores.fallback:
            notes.append(f"no exact word match for {text!r}: showing close spellings")
        lexical = scores.score
        matched = np.flatnonzero(lexical > 0)
        if len(matched) > n_candidates:  # the best of the matches (ascending rows: same ties)
            matched = matched[best_rows(lexical[matched], n_candidates)]
        found = [matched]
        clock.lap("lexical")
        if self.semantic is not None:
            if query_vector is None:
                query_vector = self.semantic.query_vector(text)
            clock.lap("encode")
            found.append(self.semantic.shortlist(query_vector, n_candidates))
            clock.lap("semantic")
        rows = np.unique(np.concatenate(found)).astype(np.int64)
        return lexical, rows, query_vector

    def _apply_filters(
        self, candidates: np.ndarray, active: list[_Filter], notes: list[str]
    ) -> tuple[np.ndarray, list[str]]:
        """Candidates passing every filter, relaxing filters in order while none passes."""
        relaxed: list[str] = []
        remaining = list(active)
        while True:
            keep = np.ones(len(candidates), dtype=bool)
            for item in remaining:
                keep &= item.passes(candidates)
            rows = candidates[keep]
            if len(rows) or not remaining or not len(candidates):
                return rows, relaxed
            dropped = remaining.pop(0)
            relaxed.append(dropped.label)
            notes.append(f"no results with {dropped.label}: showing results without it")

    # Output --------------------------------------------------------------------------------

    def _frame(self, rows: np.ndarray, values: dict[str, object] | None = None) -> pd.DataFrame:
        """The result frame of ``rows`` with the computed ``values`` (empty columns else)."""
        columns: dict[str, object] = {ITEM_ID: self.item_ids[rows]}
        columns.update({column: shown[rows] for column, shown in self._shown.items()})
        columns[PRICE] = self._price[rows]
        for column in RESULT_COLUMNS[5:]:
            empty = np.empty(len(rows), dtype=object if column == "chips" else np.float32)
            columns[column] = (values or {}).get(column, empty)
        return pd.DataFrame(columns, columns=list(RESULT_COLUMNS))

    def price_band(self, prices: np.ndarray) -> list[str]:
        """The band of each price (bands cut at the catalogue's price quintiles, rounded)."""
        edges = self.price_edges
        labels = []
        for price in prices:
            if not np.isfinite(price):
                labels.append(NO_PRICE)
                continue
            slot = int(np.searchsorted(edges, price, side="right"))
            if not len(edges):
                labels.append("any price")
            elif slot == 0:
                labels.append(f"under {edges[0]:g}")
            elif slot == len(edges):
                labels.append(f"{edges[-1]:g} and over")
            else:
                labels.append(f"{edges[slot - 1]:g} to {edges[slot]:g}")
        return labels

    def _band_probe(self) -> np.ndarray:
        """One price inside each band, ascending, then NaN (the ``no price`` band)."""
        edges = self.price_edges
        if not len(edges):
            return np.array([0.0, np.nan])
        return np.concatenate([[edges[0] - 1], edges, [np.nan]])

    def _band_of(self, prices: np.ndarray) -> np.ndarray:
        """Position of each price's band in ``_band_labels``."""
        slots = (
            np.searchsorted(self.price_edges, prices, side="right")
            if len(self.price_edges)
            else np.zeros(len(prices), dtype=np.int64)
        )
        return np.where(np.isfinite(prices), slots, len(self._band_labels) - 1)

    def _facets(self, rows: np.ndarray) -> dict[str, pd.DataFrame]:
        facets = {name: value_counts(text[rows]) for name, text in self._facet_text.items()}
        facets["price"] = value_counts(self._band_labels[self._band[rows]])
        return facets


def _any(tests: list[Callable[[np.ndarray], np.ndarray]], rows: np.ndarray) -> np.ndarray:
    return np.any([test(rows) for test in tests], axis=0)


def _split(path: str) -> list[str]:
    return CATEGORY_SEPARATORS.split(path)

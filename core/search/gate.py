r"""The report's query-product gate: signal weights that depend on the query, the product and
the shopper, learned from search sessions.

For a query with unit encoder vector :math:`q`, a candidate product with vector :math:`p` and
a shopper with features :math:`z` (:data:`USER_FEATURES`), a small network gives one logit per
signal (lexical, semantic, personal):

.. math:: g(q, p, z) = W_o \begin{bmatrix} \tanh(A q + B p + C z + b) \\
          (D q) \odot (E p) \end{bmatrix} + b_o

and the weights are the convex combination's weights :math:`\pi` (the prior:
:math:`((1-\alpha)(1-\rho), \alpha(1-\rho), \rho)`, :math:`\rho` the personal weight, 0 for an
anonymous shopper) moved by the logits:

.. math:: w_j(q, p, z) = \frac{\pi_j e^{g_j}}{\sum_k \pi_k e^{g_k}}, \qquad
          s(q, p) = \sum_j w_j(q, p, z)\, x_j(q, p)

with :math:`x_j` the signal's min-max term over the query's candidates (what ``convex`` sums).
This is the report's :math:`R^T = \mathrm{softmax}(a(Q^B, P^B)^\top W) \cdot R` with the user's
features beside the BERT vectors. :math:`W_o, b_o` start at zero: an untrained gate (a zero
gate) is exactly the convex combination, and training learns where to depart from it. A signal
with prior weight 0 keeps weight 0 (an anonymous shopper's personal signal).

Training is listwise (ListNet, top-one): for each training search with engaged candidates,

.. math:: L = -\sum_c y_c \log \frac{e^{t s_c}}{\sum_{c'} e^{t s_{c'}}}, \qquad
          y_c = \frac{\mathrm{grade}_c}{\sum_{c'} \mathrm{grade}_{c'}}

over its candidates, :math:`t` a learned sharpness (it changes no ranking). The gate overfits
quickly (a few thousand searches against a network over 384-dimensional vectors), so training
keeps dropout on the hidden units, weight decay, and, given validation lists, early stopping:
the mean NDCG@10 of the validation searches is measured before training (the zero gate, the
convex combination itself) and after each epoch, training stops after ``patience`` epochs
without a better value, and the best epoch's weights are kept. When no epoch beats the convex
combination on validation, the gate stays the convex combination. The gate is saved as
``search_gate.safetensors`` (tensors) and ``search_gate.json`` (settings, loss history).
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Self

import numpy as np
import torch
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors

from core.checks import Constraint, Fraction, Positive, Whole, validate_params
from core.data.workspace import Workspace, atomic_write_bytes, atomic_write_json
from core.errors import SearchError
from core.metrics import graded_ndcg_at_k
from core.metrics.ranking import top_k
from core.progress import ProgressCallback, ProgressInfo
from core.search.personal import PersonalScorer
from core.search.sessions import GRADE, PART, SEARCH_ID, SearchSessions, search_sessions
from core.text.runtime import torch_threads

if TYPE_CHECKING:
    from core.search.engine import SearchIndex

N_SIGNALS = 3
USER_FEATURES = ("known_user", "log_history")
WEIGHTS_FILE = "search_gate.safetensors"
META_FILE = "search_gate.json"
GATES_DIR = "search_gates"
_INITIAL_SHARPNESS = 10.0


def prior_weights(alpha: float, personal_weight: float, known_user: np.ndarray) -> np.ndarray:
    """``(n, 3)`` convex weights (lexical, semantic, personal) per search; see the notes."""
    known = np.asarray(known_user, dtype=bool)
    rho = np.where(known, personal_weight, 0.0)
    return np.column_stack([(1 - alpha) * (1 - rho), alpha * (1 - rho), rho]).astype(np.float32)


def user_features(personal: PersonalScorer | None, user_id: str | None) -> np.ndarray:
    """``(2,)`` float32 features :data:`USER_FEATURES`: 1 for a user the personal model knows
    and ``log(1 + distinct training items)``; zeros for an anonymous or unknown shopper."""
    if personal is None or not personal.knows(user_id):
        return np.zeros(len(USER_FEATURES), dtype=np.float32)
    history = personal.model.train_[personal.user_index[str(user_id)]].nnz
    return np.array([1.0, np.log1p(history)], dtype=np.float32)


@dataclass(frozen=True)
class GateLists:
    """Candidate lists of searches, padded to the longest (row ``-1`` = padding).

    Attributes
    ----------
    query_vectors : numpy.ndarray
        ``(n, dim)`` unit vectors of the queries' free text.
    rows : numpy.ndarray
        ``(n, c)`` int64 catalogue rows of the candidates.
    terms : numpy.ndarray
        ``(n, c, 3)`` float32 min-max terms of the signals over each list's candidates.
    raw : numpy.ndarray
        ``(n, c, 3)`` float32 raw signal values (NaN: not retrieved by the signal, or padding).
    features : numpy.ndarray
        ``(n, 2)`` float32 :data:`USER_FEATURES` of each search's shopper.
    relevance : numpy.ndarray
        ``(n, c)`` float32 engagement grade of each candidate (0: not engaged).
    grades : numpy.ndarray
        ``(n, m)`` float32 grades of every engaged item of each search, found among the
        candidates or not, best first, 0-padded: the ideal list of NDCG.
    """

    query_vectors: np.ndarray
    rows: np.ndarray
    terms: np.ndarray
    raw: np.ndarray
    features: np.ndarray
    relevance: np.ndarray
    grades: np.ndarray

    @property
    def known_user(self) -> np.ndarray:
        return self.features[:, 0] > 0


def gate_lists(
    index: SearchIndex,
    sessions: SearchSessions,
    part: str,
    *,
    n_candidates: int = 200,
    max_searches: int | None = None,
    random_state: int = 0,
    callback: ProgressCallback | None = None,
) -> GateLists:
    """The candidate lists of ``part``'s searches followed by engagement, from ``index``.

    Queries are parsed as :meth:`SearchIndex.search` parses them and their free texts encoded
    in one batch; ``max_searches`` keeps a seeded random subset. ``callback(done, total,
    info)`` follows the searches.
    """
    if index.semantic is None:
        raise SearchError("the gate needs query and product vectors: index with an encoder")
    searches = sessions.searches[sessions.searches[PART] == part]
    judged = sessions.judgements[sessions.judgements[SEARCH_ID].isin(searches[SEARCH_ID])]
    searches = searches[searches[SEARCH_ID].isin(judged[SEARCH_ID])]
    if searches.empty:
        raise SearchError(f"no {part} search is followed by engagement: nothing to learn from")
    if max_searches is not None and len(searches) > max_searches:
        chosen = np.random.default_rng(random_state).choice(len(searches), max_searches, False)
        searches = searches.iloc[np.sort(chosen)]
    texts = [index.free_text(query) for query in searches["query"]]
    distinct = sorted(set(texts))
    encoded = index.semantic.encoder.encode(distinct, batch_size=128)
    vector_of = dict(zip(distinct, encoded, strict=True))
    row_of = {item: row for row, item in enumerate(index.item_ids)}
    grades = judged.groupby(SEARCH_ID)[["item_id", GRADE]].apply(
        lambda g: dict(zip(g["item_id"].astype(str), g[GRADE], strict=True))
    )
    lists = []
    for done, (search_id, text, user) in enumerate(
        zip(searches[SEARCH_ID], texts, searches["user_id"], strict=True)
    ):
        if callback is not None and done % 50 == 0:
            callback(done, len(searches), f"{part} searches: {done:,} of {len(searches):,}")
        found = index.signals(text, user, n_candidates=n_candidates, query_vector=vector_of[text])
        graded = grades[search_id]
        relevance = np.zeros(len(found.rows), dtype=np.float32)
        position = {row: i for i, row in enumerate(found.rows)}
        for item, grade in graded.items():
            if row_of.get(item) in position:
                relevance[position[row_of[item]]] = grade
        lists.append((vector_of[text], found, user_features(index.personal, user), relevance,
                      sorted(graded.values(), reverse=True)))  # fmt: skip
    width = max(1, max(len(found.rows) for _, found, *_ in lists))
    n = len(lists)
    rows = np.full((n, width), -1, dtype=np.int64)
    terms = np.zeros((n, width, N_SIGNALS), dtype=np.float32)
    raw = np.full((n, width, N_SIGNALS), np.nan, dtype=np.float32)
    relevance = np.zeros((n, width), dtype=np.float32)
    all_grades = np.zeros((n, max(len(entry[4]) for entry in lists)), dtype=np.float32)
    for i, (_, found, _, graded, engaged) in enumerate(lists):
        rows[i, : len(found.rows)] = found.rows
        terms[i, : len(found.rows)] = found.terms.T
        raw[i, : len(found.rows)] = found.raw.T
        relevance[i, : len(found.rows)] = graded
        all_grades[i, : len(engaged)] = engaged
    return GateLists(
        query_vectors=np.stack([entry[0] for entry in lists]).astype(np.float32),
        rows=rows,
        terms=terms,
        raw=raw,
        features=np.stack([entry[2] for entry in lists]),
        relevance=relevance,
        grades=all_grades,
    )


def list_ndcg(scores: np.ndarray, lists: GateLists, k: int = 10) -> np.ndarray:
    """Graded NDCG@k per search of ranking each list's candidates by ``scores`` ``(n, c)``
    (gain = grade; engaged items outside the candidates count in the ideal)."""
    masked = np.where(lists.rows >= 0, scores, -np.inf)
    order, _ = top_k(masked, k)
    found = np.take_along_axis(lists.relevance, np.maximum(order, 0), axis=1)
    gains = np.where(order >= 0, found, 0)
    ideal = np.zeros((len(scores), k))
    width = min(k, lists.grades.shape[1])
    ideal[:, :width] = lists.grades[:, :width]
    return graded_ndcg_at_k(gains, ideal, k)


def convex_scores(lists: GateLists, alpha: float, personal_weight: float) -> np.ndarray:
    """``(n, c)`` convex-combination scores of the candidates (what ``convex`` ranks by)."""
    prior = prior_weights(alpha, personal_weight, lists.known_user)
    return np.einsum("ncs,ns->nc", lists.terms, prior)


def tune_convex(
    lists: GateLists,
    alphas: Sequence[float] = tuple(np.round(np.linspace(0, 1, 11), 2)),
    personal_weights: Sequence[float] = (0.0, 0.1, 0.2, 0.3, 0.5),
    k: int = 10,
) -> tuple[float, float, dict[str, float]]:
    """The ``(alpha, personal_weight)`` of the grid with the best mean NDCG@k on ``lists``,
    and every grid point's value (keys ``"alpha,personal_weight"``); ties to the first."""
    values = {}
    for alpha in alphas:
        for rho in personal_weights:
            ndcg = list_ndcg(convex_scores(lists, alpha, rho), lists, k)
            values[f"{alpha:g},{rho:g}"] = float(ndcg.mean())
    best = max(values, key=values.get)
    alpha, rho = (float(value) for value in best.split(","))
    return alpha, rho, values


class _GateNetwork(torch.nn.Module):
    def __init__(self, dim: int, n_features: int, hidden: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.dropout = torch.nn.Dropout(dropout)
        self.query = torch.nn.Linear(dim, hidden)
        self.product = torch.nn.Linear(dim, 2 * hidden, bias=False)
        self.user = torch.nn.Linear(n_features, hidden, bias=False)
        self.query_match = torch.nn.Linear(dim, hidden, bias=False)
        self.out = torch.nn.Linear(2 * hidden, N_SIGNALS)
        torch.nn.init.zeros_(self.out.weight)
        torch.nn.init.zeros_(self.out.bias)
        self.hidden = hidden

    def forward(
        self, query: torch.Tensor, products: torch.Tensor, features: torch.Tensor
    ) -> torch.Tensor:
        """Logits ``(n, c, 3)`` from queries ``(n, d)``, projected products ``(n, c, 2h)``."""
        side, match = products[..., : self.hidden], products[..., self.hidden :]
        active = torch.tanh(self.query(query)[:, None] + side + self.user(features)[:, None])
        interaction = self.query_match(query)[:, None] * match
        return self.out(self.dropout(torch.cat([active, interaction], dim=-1)))


class SearchGate:
    """Query-, product- and shopper-dependent weights over the search signals (module notes).

    Parameters
    ----------
    alpha, personal_weight : float
        The prior: the convex combination the gate starts from (tune them first, e.g. with
        :func:`tune_convex`); the engine's ``gate`` method uses these, not its own arguments.
    hidden_size : int
        Units of each hidden part.
    epochs, learning_rate, weight_decay, batch_size : training settings (Adam).
    dropout : float
        Dropout rate of the hidden units while training.
    patience : int
        With validation lists, stop after this many epochs without a better validation NDCG.
    random_state : int
    num_threads : int
        Torch CPU threads while training and scoring.

    Attributes
    ----------
    network_ : torch.nn.Module
    log_sharpness_ : torch.nn.Parameter
    dim_ : int
        Length of the encoder vectors.
    loss_history_ : list of float
        Mean training loss per epoch; ``initial_loss_``, ``final_loss_`` over every list (the
        final one with the kept weights).
    valid_ndcg_history_ : list of float
        Mean validation NDCG@10 before training (index 0: the convex combination) and after
        each epoch; empty without validation lists.
    best_epoch_ : int
        The epoch whose weights were kept (0: the zero gate); the last one without validation.
    """

    _parameter_constraints: ClassVar[dict[str, Constraint]] = {
        "hidden_size": Whole(1),
        "epochs": Whole(1),
        "learning_rate": Positive(),
        "weight_decay": Positive(allow_zero=True),
        "batch_size": Whole(1),
        "dropout": Fraction(allow_zero=True),
        "patience": Whole(1),
        "num_threads": Whole(1),
    }

    def __init__(
        self,
        alpha: float = 0.5,
        personal_weight: float = 0.2,
        hidden_size: int = 16,
        epochs: int = 30,
        learning_rate: float = 0.003,
        weight_decay: float = 1e-4,
        batch_size: int = 128,
        dropout: float = 0.1,
        patience: int = 3,
        random_state: int = 0,
        num_threads: int = 1,
    ) -> None:
        self.alpha = alpha
        self.personal_weight = personal_weight
        self.hidden_size = hidden_size
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.dropout = dropout
        self.patience = patience
        self.random_state = random_state
        self.num_threads = num_threads

    def get_params(self) -> dict[str, Any]:
        """Settings as given to ``__init__``."""
        names = ("alpha", "personal_weight", "hidden_size", "epochs", "learning_rate",
                 "weight_decay", "batch_size", "dropout", "patience", "random_state",
                 "num_threads")  # fmt: skip
        return {name: getattr(self, name) for name in names}

    def _check(self) -> None:
        validate_params(self.get_params(), self._parameter_constraints, SearchError)
        for name in ("alpha", "personal_weight"):
            value = getattr(self, name)
            if not 0 <= value <= 1 or (name == "personal_weight" and value >= 1):
                raise SearchError(f"{name} must lie in [0, 1{']' if name == 'alpha' else ')'}")

    @classmethod
    def untrained(cls, dim: int, **params: Any) -> SearchGate:
        """A gate at its initial weights (a zero gate): the convex combination of its
        ``alpha`` and ``personal_weight`` for ``dim``-dimensional vectors, at the full cost."""
        gate = cls(**params)
        gate._check()
        gate._build(dim)
        gate.loss_history_, gate.valid_ndcg_history_, gate.best_epoch_ = [], [], 0
        gate.initial_loss_ = gate.final_loss_ = float("nan")
        return gate

    def _build(self, dim: int) -> None:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.random_state)
            self.network_ = _GateNetwork(dim, len(USER_FEATURES), self.hidden_size, self.dropout)
        self.network_.eval()
        self.log_sharpness_ = torch.nn.Parameter(torch.tensor(np.log(_INITIAL_SHARPNESS)))
        self.dim_ = dim

    def _check_fitted(self) -> None:
        if not hasattr(self, "network_"):
            raise SearchError("the search gate is not trained; call fit() or load() first")

    def _weights(
        self, query: torch.Tensor, products: torch.Tensor, features: torch.Tensor
    ) -> torch.Tensor:
        known = features[:, 0].numpy() > 0
        prior = torch.from_numpy(prior_weights(self.alpha, self.personal_weight, known))
        logits = self.network_(query, products, features) + torch.log(prior)[:, None]
        return torch.softmax(logits, dim=-1)

    def _loss(
        self,
        table: torch.Tensor,
        query: torch.Tensor,
        rows: torch.Tensor,
        terms: torch.Tensor,
        features: torch.Tensor,
        relevance: torch.Tensor,
    ) -> torch.Tensor:
        products = self.network_.product(table)[rows.clamp_min(0)]
        fused = (self._weights(query, products, features) * terms).sum(-1)
        fused = (fused * self.log_sharpness_.exp()).masked_fill(rows < 0, float("-inf"))
        log_probability = torch.log_softmax(fused, dim=1).masked_fill(rows < 0, 0)
        target = relevance / relevance.sum(dim=1, keepdim=True)
        return -(target * log_probability).sum(dim=1).mean()

    def _tensors(self, lists: GateLists) -> tuple[torch.Tensor, ...]:
        keep = lists.relevance.sum(axis=1) > 0
        arrays = (lists.query_vectors, lists.rows, lists.terms, lists.features, lists.relevance)
        return tuple(torch.from_numpy(np.ascontiguousarray(array[keep])) for array in arrays)

    def fit(
        self,
        lists: GateLists,
        product_vectors: np.ndarray,
        valid: GateLists | None = None,
        callback: ProgressCallback | None = None,
    ) -> Self:
        """Learn the gate on ``lists`` (searches with engaged candidates) over the catalogue's
        ``(n_products, dim)`` ``product_vectors``; with ``valid``, stop early on its NDCG@10 and
        keep the best epoch's weights (epoch 0, the convex combination, included).
        ``callback(epoch, epochs, info)`` after each epoch, ``info`` a ProgressInfo with the
        epoch's training loss and validation NDCG@10."""
        self._check()
        table = torch.from_numpy(np.ascontiguousarray(product_vectors, dtype=np.float32))
        data = self._tensors(lists)
        if len(data[0]) == 0:
            raise SearchError("no search has an engaged candidate: nothing to learn the gate from")
        self._build(table.shape[1])
        parameters = [*self.network_.parameters(), self.log_sharpness_]
        optimiser = torch.optim.Adam(parameters, lr=self.learning_rate,
                                     weight_decay=self.weight_decay)  # fmt: skip
        generator = torch.Generator().manual_seed(self.random_state)
        self.valid_ndcg_history_: list[float] = []
        self.loss_history_: list[float] = []
        with torch_threads(self.num_threads), torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.random_state)  # dropout masks
            self.initial_loss_ = self._full_loss(table, data)
            best = self._validate(valid, table)
            kept = self._state()
            self.best_epoch_ = 0
            for epoch in range(1, self.epochs + 1):
                self.network_.train()
                order = torch.randperm(len(data[0]), generator=generator)
                total = 0.0
                for start in range(0, len(order), self.batch_size):
                    batch = order[start : start + self.batch_size]
                    optimiser.zero_grad()
                    loss = self._loss(table, *(tensor[batch] for tensor in data))
                    loss.backward()
                    optimiser.step()
                    total += float(loss.detach()) * len(batch)
                self.network_.eval()
                self.loss_history_.append(total / len(order))
                value = self._validate(valid, table)
                if callback is not None:
                    point = {"epoch": epoch, "train_loss": self.loss_history_[-1]}
                    point |= {} if valid is None else {"ndcg@10": value}
                    callback(epoch, self.epochs, ProgressInfo(f"epoch {epoch}", point))
                if valid is None or value > best:
                    best, kept, self.best_epoch_ = value, self._state(), epoch
                elif epoch - self.best_epoch_ >= self.patience:
                    break
            self._restore(kept)
            self.final_loss_ = self._full_loss(table, data)
        return self

    def _validate(self, valid: GateLists | None, table: torch.Tensor) -> float:
        """Mean NDCG@10 of ``valid`` now (recorded), or NaN without validation lists."""
        if valid is None:
            return float("nan")
        value = float(list_ndcg(self._scores(valid, table), valid).mean())
        self.valid_ndcg_history_.append(value)
        return value

    def _state(self) -> dict[str, torch.Tensor]:
        state = copy.deepcopy(self.network_.state_dict())
        state["log_sharpness"] = self.log_sharpness_.detach().clone()
        return state

    def _restore(self, state: dict[str, torch.Tensor]) -> None:
        state = dict(state)
        with torch.no_grad():
            self.log_sharpness_.copy_(state.pop("log_sharpness"))
        self.network_.load_state_dict(state)
        self.network_.eval()

    def _full_loss(self, table: torch.Tensor, data: tuple[torch.Tensor, ...]) -> float:
        with torch.no_grad():
            return float(self._loss(table, *data))

    def loss(self, lists: GateLists, product_vectors: np.ndarray) -> float:
        """The training loss on other lists (e.g. the validation searches)."""
        self._check_fitted()
        table = torch.from_numpy(np.ascontiguousarray(product_vectors, dtype=np.float32))
        with torch_threads(self.num_threads):
            return self._full_loss(table, self._tensors(lists))

    def weights(
        self, query_vector: np.ndarray, product_vectors: np.ndarray, features: np.ndarray
    ) -> np.ndarray:
        """``(c, 3)`` weights (rows sum to 1) of ``c`` candidates of one query and shopper."""
        self._check_fitted()
        query = np.asarray(query_vector, dtype=np.float32).reshape(1, -1)
        products = np.asarray(product_vectors, dtype=np.float32)
        if query.shape[1] != self.dim_ or products.ndim != 2 or products.shape[1] != self.dim_:
            raise SearchError(
                f"the gate was trained on {self.dim_}-dimensional vectors; got a query of "
                f"{query.shape[1]} and products of shape {products.shape}: retrain the gate"
            )
        user = np.asarray(features, dtype=np.float32).reshape(1, -1)
        with torch_threads(self.num_threads), torch.no_grad():
            projected = self.network_.product(torch.from_numpy(products))[None]
            weights = self._weights(torch.from_numpy(query), projected, torch.from_numpy(user))
            return weights[0].numpy().astype(np.float32)

    def scores(self, lists: GateLists, product_vectors: np.ndarray) -> np.ndarray:
        """``(n, c)`` fused scores of the candidates of ``lists``."""
        self._check_fitted()
        table = torch.from_numpy(np.ascontiguousarray(product_vectors, dtype=np.float32))
        with torch_threads(self.num_threads):
            return self._scores(lists, table)

    def _scores(self, lists: GateLists, table: torch.Tensor) -> np.ndarray:
        with torch.no_grad():
            products = self.network_.product(table)
            rows = torch.from_numpy(lists.rows)
            weights = self._weights(torch.from_numpy(lists.query_vectors),
                                    products[rows.clamp_min(0)],
                                    torch.from_numpy(lists.features))  # fmt: skip
            return (weights.numpy() * lists.terms).sum(-1)

    def save(self, folder: Path) -> Path:
        """Write :data:`WEIGHTS_FILE` and :data:`META_FILE` into ``folder``."""
        self._check_fitted()
        folder = Path(folder)
        tensors = {f"network.{k}": v for k, v in self.network_.state_dict().items()}
        tensors["log_sharpness"] = self.log_sharpness_.detach().clone()
        atomic_write_bytes(folder / WEIGHTS_FILE, save_tensors(tensors))
        meta = {"params": self.get_params(), "dim": self.dim_,
                "user_features": list(USER_FEATURES), "loss_history": self.loss_history_,
                "initial_loss": self.initial_loss_, "final_loss": self.final_loss_,
                "valid_ndcg_history": self.valid_ndcg_history_,
                "best_epoch": self.best_epoch_}  # fmt: skip
        atomic_write_json(folder / META_FILE, meta)
        return folder

    @classmethod
    def load(cls, folder: Path) -> SearchGate:
        """Read a gate written by :meth:`save`."""
        folder = Path(folder)
        try:
            meta = json.loads((folder / META_FILE).read_text())
            tensors = load_tensors((folder / WEIGHTS_FILE).read_bytes())
            gate = cls(**meta["params"])
            gate._build(int(meta["dim"]))
            gate.network_.load_state_dict(
                {k.removeprefix("network."): v for k, v in tensors.items() if k != "log_sharpness"}
            )
            with torch.no_grad():
                gate.log_sharpness_.copy_(tensors["log_sharpness"])
            gate.loss_history_ = [float(value) for value in meta["loss_history"]]
            gate.initial_loss_ = float(meta["initial_loss"])
            gate.final_loss_ = float(meta["final_loss"])
            gate.valid_ndcg_history_ = [float(v) for v in meta.get("valid_ndcg_history", [])]
            gate.best_epoch_ = int(meta.get("best_epoch", len(gate.loss_history_)))
        except (OSError, ValueError, KeyError, RuntimeError, TypeError) as error:
            raise SearchError(f"cannot load a search gate from {folder}: {error}") from error
        return gate


def gate_folder(workspace: Workspace, *settings: str | None) -> Path:
    """Where the gate of an index built with ``settings`` (e.g. the encoder's model id, the
    personal model's run id or None) is saved in ``workspace``."""
    key = hashlib.sha256("|".join(value or "" for value in settings).encode()).hexdigest()[:16]
    return workspace.artifacts_dir / GATES_DIR / key


def train_search_gate(
    workspace: Workspace,
    index: SearchIndex,
    folder: Path,
    *,
    max_searches: int = 3000,
    callback: ProgressCallback | None = None,
    **params: Any,
) -> SearchGate:
    """Train a gate for ``index`` on ``workspace``'s search sessions and save it in ``folder``.

    The convex weights are tuned on the validation searches (:func:`tune_convex`, at most
    ``max_searches``, seeded) and the gate starts from them. It is fitted on two thirds of
    those searches and stops early on the other third, not fitted on the training searches:
    their clicks are usually in the personal model's training data, where the personal signal
    already knows the answer, and a gate fitted there learns to over-trust it (on the sample
    world, validation NDCG@10 fell from 0.400 to 0.334 after one such epoch). ``params`` go
    to :class:`SearchGate`. ``callback`` follows the candidate lists, then the epochs
    (``total`` is 100: percent done).
    """
    sessions = search_sessions(workspace)

    def stage(start: int, width: int) -> ProgressCallback:
        def report(done: int, total: int, info: str) -> None:
            if callback is not None:
                callback(start + width * done // max(total, 1), 100, info)

        return report

    valid = gate_lists(index, sessions, "valid", max_searches=max_searches,
                       callback=stage(0, 80))  # fmt: skip
    if len(valid.rows) < 3:
        raise SearchError(
            f"only {len(valid.rows)} validation search(es) with engagement: the gate needs at "
            "least 3 (fitted on two thirds, stopped on the rest); load a longer search log"
        )
    alpha, personal_weight, _ = tune_convex(valid)
    order = np.random.default_rng(0).permutation(len(valid.rows))
    n_fit = round(2 * len(order) / 3)
    fit, stop = _subset_lists(valid, order[:n_fit]), _subset_lists(valid, order[n_fit:])
    gate = SearchGate(alpha=alpha, personal_weight=personal_weight, **params)
    gate.fit(fit, index.semantic.vectors, valid=stop, callback=stage(80, 20))
    gate.save(folder)
    if callback is not None:
        callback(100, 100, f"gate saved (best epoch {gate.best_epoch_})")
    return gate


def _subset_lists(lists: GateLists, rows: np.ndarray) -> GateLists:
    rows = np.sort(rows)
    return GateLists(*(getattr(lists, name)[rows] for name in GateLists.__dataclass_fields__))

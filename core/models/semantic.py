"""BERT semantic model: product embeddings from a sentence encoder, users as their mean.

Each product's text (see :func:`core.text.product_text.product_texts`) is embedded by the
encoder (all-MiniLM-L6-v2 by default, the tiny test encoder, or a fine-tuned checkpoint; see
:func:`core.text.encoders.load_encoder`). A user's vector is the recency-weighted mean of the
embeddings of the items in their history (see :func:`core.models.content.recency_weights`)
and an item's score is its cosine similarity to that vector. Products without any text get a
zero embedding and score 0 for everyone.

The encoder is only needed by :meth:`SemanticRecommender.fit`; a fitted or loaded model scores
from its stored embeddings. Embeddings are read from and added to an
:class:`core.text.cache.EmbeddingCache` when ``cache_dir`` is given, so refitting on an
unchanged catalogue runs no encoder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from core.checks import Constraint, Whole
from core.data.interactions import Interactions
from core.models.base import Catalog, ProgressCallback
from core.models.content import ProfileRecommender, similar_by_vectors
from core.text.cache import EmbeddingCache


class SemanticRecommender(ProfileRecommender):
    """Cosine similarity between product embeddings and a user's recency-weighted mean.

    Parameters
    ----------
    encoder : str or None
        ``"minilm"``, ``"tiny"`` or the folder of a fine-tuned encoder (written by
        :func:`core.text.finetune.finetune_encoder`). None takes ``$SHOPSYNTH_ENCODER`` when
        set, else ``"minilm"``.
    half_life_days : float or None
        Half-life of the recency weighting of a user's history; None or 0 for none.
    batch_size : int
        Texts per encoder batch.
    num_threads : int or None
        CPU threads for encoding; torch's setting if None.
    device : str or None
        Torch device for encoding; CUDA when available if None.
    cache_dir : str or None
        Folder of an embedding cache (``<workspace>/artifacts/embeddings``); no cache if None.
    """

    name = "semantic_bert"
    _parameter_constraints: ClassVar[dict[str, Constraint]] = {
        **ProfileRecommender._parameter_constraints,
        "batch_size": Whole(1),
    }

    def __init__(
        self,
        encoder: str | None = None,
        half_life_days: float | None = 30.0,
        batch_size: int = 64,
        num_threads: int | None = None,
        device: str | None = None,
        cache_dir: str | None = None,
    ) -> None:
        self.encoder = encoder
        self.half_life_days = half_life_days
        self.batch_size = batch_size
        self.num_threads = num_threads
        self.device = device
        self.cache_dir = cache_dir

    def _fit(
        self, train: Interactions, catalog: Catalog, callback: ProgressCallback | None
    ) -> None:
        texts = self.catalog_texts(train, catalog)
        # Imported here: torch and transformers load only when a semantic model is trained.
        from core.text.encoders import default_encoder_spec, load_encoder

        with_text = np.flatnonzero([bool(text) for text in texts])
        encoder = load_encoder(self.encoder, device=self.device, num_threads=self.num_threads)
        chosen = [texts[row] for row in with_text]
        if self.cache_dir is None:
            vectors = encoder.encode(chosen, batch_size=self.batch_size, callback=callback)
        else:
            vectors = EmbeddingCache(Path(self.cache_dir)).encode(
                encoder, chosen, batch_size=self.batch_size, callback=callback
            )
        self.item_embeddings_ = np.zeros((len(texts), encoder.dim), dtype=np.float32)
        self.item_embeddings_[with_text] = vectors
        self.fit_profiles(train)
        self.encoder_id_ = encoder.model_id
        self.encoder_spec_ = str(
            self.encoder if self.encoder is not None else default_encoder_spec()
        )

    # Scoring ---------------------------------------------------------------------------------

    def user_vectors(self, history: sp.csr_matrix) -> np.ndarray:
        """Unit-length user vectors: the weighted mean of the history's embeddings, normalised.

        A user without history (or with only text-less items) gets the zero vector.
        """
        self._check_fitted()
        summed = np.asarray(sp.csr_matrix(history, dtype=np.float32) @ self.item_embeddings_)
        norms = np.linalg.norm(summed, axis=1, keepdims=True)
        return np.divide(summed, norms, out=np.zeros_like(summed), where=norms > 0)

    def score_history(
        self, history: sp.csr_matrix, item_idx: np.ndarray | None = None
    ) -> np.ndarray:
        """Cosine similarity of each item's embedding to the history's weighted mean.

        ``history`` rows carry no times, so their weights are used as given.
        """
        users = self.user_vectors(history)
        items = self.item_embeddings_ if item_idx is None else self.item_embeddings_[item_idx]
        return np.asarray(users @ items.T, dtype=np.float32)

    def similar_items(self, item_idx: np.ndarray | int, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` products whose embeddings are closest to each of ``item_idx``."""
        self._check_fitted()
        return similar_by_vectors(self.item_embeddings_, item_idx, k)

    # Persistence -----------------------------------------------------------------------------

    def _state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        arrays = {"item_embeddings": self.item_embeddings_, "profile_data": self.profile_data_}
        return arrays, {"encoder_id": self.encoder_id_, "encoder_spec": self.encoder_spec_}

    def _set_state(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        self.item_embeddings_ = arrays["item_embeddings"]
        self.profile_data_ = arrays["profile_data"]
        self.encoder_id_ = str(meta["encoder_id"])
        self.encoder_spec_ = str(meta["encoder_spec"])

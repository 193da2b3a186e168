"""Training of the synthetic-text language models: a byte-level BPE tokenizer, then the model.

Both are trained from scratch on the given texts (nothing is downloaded); see :mod:`core.synth.lm`
for the model and its training examples.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from core.errors import LMError
from core.progress import ProgressCallback, ProgressInfo
from core.synth.lm import (
    EOS_TOKEN,
    PAD_TOKEN,
    SEP_TOKEN,
    SPECIAL_TOKENS,
    LMConfig,
    StopCheck,
    TextLM,
    check_stop,
)
from core.synth.prompts import normalise_text
from core.text.runtime import torch_threads

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast


def train_tokenizer(
    texts: Sequence[str], vocab_size: int, *, lowercase: bool
) -> PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer trained on ``texts``, with ``<pad>``, ``<sep>`` and ``<eos>``.

    Byte-level: any text, misspellings and unseen characters included, has a tokenization.
    """
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    if lowercase:
        tokenizer.normalizer = normalizers.Lowercase()
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(list(texts), trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        pad_token=PAD_TOKEN,
        eos_token=EOS_TOKEN,
        sep_token=SEP_TOKEN,
    )


def _length_batches(
    lengths: np.ndarray, rows: np.ndarray, batch_size: int, rng: np.random.Generator
) -> list[np.ndarray]:
    """Shuffled batches of ``rows``; each batch holds sequences of similar length.

    Rows are shuffled, cut into pools of 50 batches, each pool sorted by length and cut into
    batches, and the batches shuffled: little padding, and still a random order.
    """
    shuffled = rng.permutation(rows)
    pool = 50 * batch_size
    batches = []
    for start in range(0, len(shuffled), pool):
        chunk = shuffled[start : start + pool]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]


def train_lm(
    sources: Sequence[str],
    targets: Sequence[str],
    config: LMConfig | None = None,
    *,
    callback: ProgressCallback | None = None,
    should_stop: StopCheck | None = None,
) -> TextLM:
    """Train a tokenizer and a GPT-2 model from scratch to write ``targets`` after ``sources``.

    Parameters
    ----------
    sources, targets : sequence of str
        Training pairs (pairs with an empty target are dropped).
    config : LMConfig, optional
        Model size and training settings; defaults if omitted.
    callback : callable, optional
        ``callback(step, total, info)`` after each optimiser step; ``info`` is a
        :class:`core.progress.ProgressInfo` whose point holds ``epoch`` and ``train_loss`` (and
        ``valid_loss`` at the end of an epoch).
    should_stop : callable, optional
        Checked before each step; True raises TrainingCancelled.

    Returns
    -------
    TextLM
        The trained model; ``training_targets`` the distinct normalised targets,
        ``metadata["history"]`` holds one row per epoch (``epoch``,
        ``train_loss``, ``valid_loss``, ``seconds``), ``metadata["n_train"]`` and
        ``metadata["n_valid"]`` the pair counts.
    """
    import torch

    config = config or LMConfig()
    if len(sources) != len(targets):
        raise LMError(f"{len(sources)} sources for {len(targets)} targets")
    keep = [i for i, target in enumerate(targets) if str(target).strip()]
    sources = [str(sources[i]) for i in keep]
    targets = [str(targets[i]) for i in keep]
    if len(targets) < 2:
        raise LMError(f"only {len(targets)} training pair(s) with a target: at least 2 are needed")
    started = time.perf_counter()
    tokenizer = train_tokenizer([*sources, *targets], config.vocab_size, lowercase=config.lowercase)
    lm = TextLM.new(tokenizer, config)
    sequences = lm.training_sequences(sources, targets)
    lengths = np.array([len(ids) for ids, _ in sequences])
    rng = np.random.default_rng(config.random_state)
    rows = rng.permutation(len(sequences))
    n_valid = round(config.valid_fraction * len(sequences))
    valid_rows, train_rows = np.sort(rows[:n_valid]), rows[n_valid:]
    valid = [sequences[i] for i in valid_rows]
    steps_per_epoch = math.ceil(len(train_rows) / config.batch_size)
    total = steps_per_epoch * config.epochs
    warmup = round(config.warmup_fraction * total)
    model = lm.model
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: (
            (step + 1) / (warmup + 1)
            if step < warmup
            else max(0.0, (total - step) / max(1, total - warmup))
        ),
    )
    history: list[dict[str, float]] = []
    step = 0
    with torch.random.fork_rng(devices=[]), torch_threads(config.num_threads):
        torch.manual_seed(config.random_state)
        for epoch in range(1, config.epochs + 1):
            model.train()
            losses = []
            for rows_of_batch in _length_batches(lengths, train_rows, config.batch_size, rng):
                check_stop(should_stop)
                loss = lm.target_loss(lm.batch_tensors([sequences[i] for i in rows_of_batch]))
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
                scheduler.step()
                step += 1
                losses.append(float(loss.detach()))
                if callback is not None:
                    point = {"epoch": (step / steps_per_epoch), "train_loss": losses[-1]}
                    text = f"epoch {epoch}/{config.epochs}: loss {losses[-1]:.3f}"
                    callback(step, total, ProgressInfo(text, point))
            model.eval()
            row = {
                "epoch": epoch,
                "train_loss": float(np.mean(losses)),
                "valid_loss": lm.sequences_loss(valid, 4 * config.batch_size)
                if valid
                else math.nan,
                "seconds": time.perf_counter() - started,
            }
            history.append(row)
            if callback is not None and valid:
                text = f"epoch {epoch}/{config.epochs}: validation loss {row['valid_loss']:.3f}"
                point = {"epoch": float(epoch), "valid_loss": row["valid_loss"]}
                callback(step, total, ProgressInfo(text, point))
    lm.training_targets = sorted({normalise_text(target) for target in targets})
    lm.metadata.update(
        {
            "history": [
                {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
                for r in history
            ],
            "n_train": len(train_rows),
            "n_valid": len(valid),
            "n_parameters": lm.n_parameters,
        }
    )
    return lm

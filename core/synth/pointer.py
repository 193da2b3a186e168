"""Copy attention for the warm-started generator (:mod:`core.synth.warm`), and its decoding.

A pointer-generator (See, Liu and Manning 2017, "Get To The Point"): at each target position
the decoder's last hidden state :math:`h_t` attends over the encoder states :math:`e_s` of the
source's word pieces, :math:`a_{ts} = \\mathrm{softmax}_s((W_q h_t)^\\top (W_k e_s) / \\sqrt{d})`,
and a gate :math:`g_t = \\sigma(w^\\top [h_t; \\sum_s a_{ts} e_s] + b)` mixes copying with
writing from the vocabulary:

.. math:: p(w) = (1 - g_t)\\, p_{vocab}(w) + g_t \\sum_{s: x_s = w} a_{ts}

Product queries are mostly the product's own words (brand, type, colour, model), so copying
them is what the model must learn first; a new cross-attention alone learns it slowly. The
source's ``[SEP]`` is the decoder's end token, so a copy can also end the text; ``[CLS]``,
padding and pieces outside the decoder vocabulary are never copied. ``W_q`` and ``W_k`` start
as the identity: encoder and decoder start from the same MiniLM weights, so a decoder state
already resembles the states of the source pieces it is about to write.

:func:`decode` writes texts by sampling (temperature, top-p) with the decoder's key/value
cache, never repeating a word piece (queries do not say "spade spade"), or by beam search
(sum of log-probabilities over length).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

if TYPE_CHECKING:
    from transformers import BertLMHeadModel

NEVER = -1e9  # the score of a source position that cannot be copied


class CopyHead(nn.Module):
    """Copy attention and gate over a source; ``forced_gate`` (tests) fixes :math:`g_t`.

    Parameters
    ----------
    width : int
        Hidden size of the encoder and decoder states.
    """

    def __init__(self, width: int) -> None:
        super().__init__()
        self.query = nn.Linear(width, width)
        self.key = nn.Linear(width, width)
        self.gate = nn.Linear(2 * width, 1)
        with torch.no_grad():
            for layer in (self.query, self.key):
                layer.weight.copy_(torch.eye(width))
                layer.bias.zero_()
            self.gate.weight.zero_()
            self.gate.bias.zero_()
        self.forced_gate: float | None = None

    def forward(
        self,
        hidden: torch.Tensor,
        logits: torch.Tensor,
        states: torch.Tensor,
        copyable: torch.Tensor,
        source_ids: torch.Tensor,
    ) -> torch.Tensor:
        """Log-probabilities over the decoder vocabulary, ``(batch, target, vocabulary)``.

        ``hidden`` (batch, target, width): the decoder's last hidden states; ``logits``: its
        vocabulary logits; ``states`` (batch, source, width): encoder states; ``copyable``
        (batch, source) bool; ``source_ids`` (batch, source): decoder id of each source piece.
        """
        scores = self.query(hidden) @ self.key(states).transpose(1, 2)
        scores = scores / math.sqrt(hidden.shape[-1])
        scores = scores.masked_fill(~copyable[:, None, :], NEVER)
        attention = torch.softmax(scores, dim=-1)
        context = attention @ states
        if self.forced_gate is None:
            gate = torch.sigmoid(self.gate(torch.cat([hidden, context], dim=-1)))
        else:
            gate = torch.full_like(hidden[..., :1], float(self.forced_gate))
        index = source_ids[:, None, :].expand(-1, hidden.shape[1], -1)
        copied = torch.zeros_like(logits).scatter_add(-1, index, attention)
        mixed = (1 - gate) * torch.softmax(logits, dim=-1) + gate * copied
        return torch.log(mixed.clamp_min(1e-12))


def log_probs(
    decoder: BertLMHeadModel,
    head: CopyHead | None,
    input_ids: torch.Tensor,
    source: dict[str, torch.Tensor],
    *,
    attention_mask: torch.Tensor | None = None,
    past: Any = None,
) -> tuple[torch.Tensor, Any]:
    """Next-token log-probabilities at every input position, and the key/value cache.

    ``source``: ``states``, ``mask`` (encoder attention mask), ``copyable`` and ``ids``.
    """
    out = decoder(
        input_ids=input_ids,
        attention_mask=attention_mask,
        encoder_hidden_states=source["states"],
        encoder_attention_mask=source["mask"],
        cache=past,
        use_cache=past is not None or not decoder.training,
        output_hidden_states=head is not None,
    )
    if head is None:
        return torch.log_softmax(out.logits, dim=-1), out.cache
    hidden = out.hidden_states[-1]
    return head(hidden, out.logits, source["states"], source["copyable"], source["ids"]), out.cache


def _repeat(source: dict[str, torch.Tensor], times: int) -> dict[str, torch.Tensor]:
    return {name: value.repeat_interleave(times, dim=0) for name, value in source.items()}


def _top_p(log_p: torch.Tensor, temperature: float, top_p: float) -> torch.Tensor:
    """One token per row, drawn from the smallest set of tokens holding ``top_p`` of the
    tempered probability."""
    probs = torch.softmax(log_p / temperature, dim=-1)
    ordered, order = probs.sort(dim=-1, descending=True)
    before = ordered.cumsum(dim=-1) - ordered
    ordered = ordered.masked_fill(before >= top_p, 0.0)
    drawn = torch.multinomial(ordered, 1)
    return order.gather(-1, drawn).squeeze(-1)


def decode(
    decoder: BertLMHeadModel,
    head: CopyHead | None,
    source: dict[str, torch.Tensor],
    *,
    n: int,
    max_new_tokens: int,
    start: int,
    end: int,
    pad: int,
    temperature: float = 1.0,
    top_p: float = 1.0,
    num_beams: int = 1,
) -> list[list[list[int]]]:
    """``n`` token lists (start token dropped, end kept) per source row.

    Samples when ``num_beams`` is 1 and ``temperature`` > 0 (a piece already written is not
    drawn again); else searches ``max(num_beams,
    n)`` beams and returns the ``n`` best (mean log-probability per token).
    """
    if num_beams > 1 or temperature == 0:
        return _beams(decoder, head, source, n, max(num_beams, n), max_new_tokens, start, end, pad)
    rows = len(source["states"]) * n
    expanded = _repeat(source, n)
    tokens = torch.full((rows, 1), start, dtype=torch.long)
    done = torch.zeros(rows, dtype=torch.bool)
    past, written = None, None
    for _ in range(max_new_tokens):
        log_p, past = log_probs(decoder, head, tokens[:, -1:], expanded, past=past)
        log_p = log_p[:, -1]
        if written is None:
            written = torch.zeros_like(log_p, dtype=torch.bool)
        chosen = _top_p(log_p.masked_fill(written, NEVER), temperature, top_p)
        chosen = torch.where(done, torch.full_like(chosen, pad), chosen)
        written[torch.arange(rows), chosen] = True
        written[:, end] = False
        tokens = torch.cat([tokens, chosen[:, None]], dim=1)
        done |= chosen == end
        if bool(done.all()):
            break
    written = [_until_end(row, end, pad) for row in tokens[:, 1:].tolist()]
    return [written[i * n : (i + 1) * n] for i in range(len(source["states"]))]


def _until_end(row: list[int], end: int, pad: int) -> list[int]:
    out = []
    for token in row:
        if token == pad:
            break
        out.append(token)
        if token == end:
            break
    return out


def _beams(
    decoder: BertLMHeadModel,
    head: CopyHead | None,
    source: dict[str, torch.Tensor],
    n: int,
    width: int,
    max_new_tokens: int,
    start: int,
    end: int,
    pad: int,
) -> list[list[list[int]]]:
    """Beam search over whole prefixes (no cache: beams are reordered at every step)."""
    sources = len(source["states"])
    expanded = _repeat(source, width)
    tokens = torch.full((sources * width, 1), start, dtype=torch.long)
    scores = torch.full((sources, width), NEVER)
    scores[:, 0] = 0.0
    lengths = torch.zeros(sources * width)
    for _ in range(max_new_tokens):
        log_p = log_probs(decoder, head, tokens, expanded)[0][:, -1]
        finished = (tokens[:, -1] == end) | (tokens[:, -1] == pad)
        frozen = torch.full_like(log_p, NEVER)
        frozen[:, pad] = 0.0
        log_p = torch.where(finished[:, None], frozen, log_p)
        vocabulary = log_p.shape[-1]
        total = (scores.reshape(-1, 1) + log_p).reshape(sources, width * vocabulary)
        scores, picked = total.topk(width, dim=-1)
        parent = (picked // vocabulary + torch.arange(sources)[:, None] * width).reshape(-1)
        token = (picked % vocabulary).reshape(-1)
        lengths = lengths[parent] + (~finished[parent]).float()
        tokens = torch.cat([tokens[parent], token[:, None]], dim=1)
        if bool(((token == end) | (token == pad)).all()):
            break
    mean = scores / lengths.reshape(sources, width).clamp_min(1)
    out = []
    for row in range(sources):
        best = mean[row].argsort(descending=True)[:n].tolist()
        out.append([_until_end(tokens[row * width + b, 1:].tolist(), end, pad) for b in best])
    return out


def pad_rows(rows: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded ids and the attention mask of token rows."""
    width = max(1, max((len(row) for row in rows), default=1))
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for index, row in enumerate(rows):
        if len(row):
            ids[index, : len(row)] = torch.tensor(list(row))
            mask[index, : len(row)] = 1
    return ids, mask

"""Torch settings for a block of work; torch is imported only when the block runs.

Pages that never encode or train import their modules without loading torch (seconds saved on
every page open), so nothing here imports torch at module level.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run the body with torch limited to ``n`` CPU threads, then restore (unchanged if None)."""
    if n is None:
        yield
        return
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)

"""Embedding cache: vectors stored on disk, keyed by encoder id and a hash of each text.

Layout under the cache root (``<workspace>/artifacts/embeddings`` by default)::

    <model key>/model.json          the encoder's model_id
    <model key>/shard-*.npz         arrays ``keys`` (hex text hashes) and ``vectors`` (float32)

Each :meth:`EmbeddingCache.encode` call encodes only the texts whose hash is not stored yet and
appends them as one new shard (written to a temporary file, then renamed), so re-encoding an
unchanged catalogue reads the shards and runs no model at all. Shards are merged into one when
there are more than :data:`MAX_SHARDS`.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import numpy as np

from core.data.workspace import Workspace, atomic_write_bytes, atomic_write_json
from core.errors import EmbeddingCacheError

ProgressCallback = Callable[[int, int, str], None]

CACHE_FOLDER = "embeddings"
MAX_SHARDS = 16
_KEY_DTYPE = "<U32"  # 128-bit BLAKE2b digests in hex


class TextEncoder(Protocol):
    """What the cache needs from an encoder (see :class:`core.text.encoders.BertEncoder`)."""

    model_id: str

    @property
    def dim(self) -> int: ...

    def encode(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = ...,
        callback: ProgressCallback | None = ...,
    ) -> np.ndarray: ...


def text_keys(texts: Sequence[str]) -> np.ndarray:
    """The cache key of each text: the hex BLAKE2b-128 digest of its UTF-8 bytes."""
    return np.array(
        [hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest() for text in texts],
        dtype=_KEY_DTYPE,
    )


def model_key(model_id: str) -> str:
    """A folder name for ``model_id``: its readable part plus a hash against collisions."""
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", model_id).strip("._")[:48]
    digest = hashlib.blake2b(model_id.encode("utf-8"), digest_size=6).hexdigest()
    return f"{readable}-{digest}"


class EmbeddingCache:
    """Stored embeddings of texts, per encoder.

    Parameters
    ----------
    root : Path
        Folder of the cache (created on the first write).
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @classmethod
    def for_workspace(cls, workspace: Workspace) -> EmbeddingCache:
        """The cache in ``<workspace>/artifacts/embeddings``."""
        return cls(workspace.artifacts_dir / CACHE_FOLDER)

    def __repr__(self) -> str:
        return f"EmbeddingCache({str(self.root)!r})"

    def folder(self, model_id: str) -> Path:
        """Where the embeddings of encoder ``model_id`` are stored."""
        return self.root / model_key(model_id)

    def _shards(self, model_id: str) -> list[Path]:
        folder = self.folder(model_id)
        return sorted(folder.glob("shard-*.npz")) if folder.is_dir() else []

    def load(self, model_id: str) -> tuple[np.ndarray, np.ndarray]:
        """Every stored ``(keys, vectors)`` of ``model_id``; keys may repeat across shards."""
        keys: list[np.ndarray] = []
        vectors: list[np.ndarray] = []
        for shard in self._shards(model_id):
            try:
                with np.load(shard, allow_pickle=False) as npz:
                    keys.append(npz["keys"])
                    vectors.append(npz["vectors"])
            except FileNotFoundError:  # merged away by another process meanwhile
                continue
        if not keys:
            return np.empty(0, dtype=_KEY_DTYPE), np.empty((0, 0), dtype=np.float32)
        if len({block.shape[1] for block in vectors}) > 1:
            raise EmbeddingCacheError(
                f"the cached embeddings of {model_id!r} differ in dimensions: clear the cache at "
                f"{self.folder(model_id)}"
            )
        return np.concatenate(keys), np.concatenate(vectors)

    def lookup(self, model_id: str, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Stored vectors of ``keys``.

        Returns
        -------
        found : numpy.ndarray
            bool per key.
        vectors : numpy.ndarray
            ``(len(keys), dim)`` float32; rows of keys not found are zero. ``dim`` is 0 when
            nothing is stored.
        """
        stored_keys, stored_vectors = self.load(model_id)
        found = np.zeros(len(keys), dtype=bool)
        vectors = np.zeros((len(keys), stored_vectors.shape[1]), dtype=np.float32)
        if len(stored_keys) == 0 or len(keys) == 0:
            return found, vectors
        row_of = dict(zip(stored_keys.tolist(), range(len(stored_keys)), strict=True))
        rows = np.fromiter((row_of.get(key, -1) for key in keys.tolist()), np.int64, len(keys))
        found = rows >= 0
        vectors[found] = stored_vectors[rows[found]]
        return found, vectors

    def store(self, model_id: str, keys: np.ndarray, vectors: np.ndarray) -> None:
        """Add ``vectors`` under ``keys`` as a new shard (atomically)."""
        if len(keys) == 0:
            return
        folder = self.folder(model_id)
        if not (folder / "model.json").is_file():
            atomic_write_json(folder / "model.json", {"model_id": model_id})
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        _write_shard(folder / f"shard-{stamp}-{uuid.uuid4().hex[:8]}.npz", keys, vectors)
        if len(self._shards(model_id)) > MAX_SHARDS:
            self.compact(model_id)

    def compact(self, model_id: str) -> None:
        """Merge the shards of ``model_id`` into one, keeping one vector per key."""
        shards = self._shards(model_id)
        if len(shards) <= 1:
            return
        keys, vectors = self.load(model_id)
        keys, first = np.unique(keys, return_index=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        _write_shard(self.folder(model_id) / f"shard-{stamp}-merged.npz", keys, vectors[first])
        for shard in shards:
            shard.unlink(missing_ok=True)

    def clear(self, model_id: str | None = None) -> None:
        """Delete the stored embeddings of ``model_id`` (of every encoder when omitted)."""
        folders = [self.folder(model_id)] if model_id is not None else self.model_folders()
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)

    def model_folders(self) -> list[Path]:
        """Folders of the encoders with stored embeddings."""
        return sorted(p for p in self.root.glob("*") if (p / "model.json").is_file())

    def model_ids(self) -> list[str]:
        """Ids of the encoders with stored embeddings."""
        return [
            json.loads((p / "model.json").read_text())["model_id"] for p in self.model_folders()
        ]

    def encode(
        self,
        encoder: TextEncoder,
        texts: Sequence[str],
        *,
        batch_size: int = 64,
        callback: ProgressCallback | None = None,
    ) -> np.ndarray:
        """Embeddings of ``texts`` (as ``encoder.encode``), encoding only texts not yet stored.

        Repeated texts are encoded once. The new embeddings are stored before returning.

        Parameters
        ----------
        encoder : TextEncoder
            Encoder with a ``model_id``, a ``dim`` and an ``encode`` method.
        texts : sequence of str
            Texts to embed.
        batch_size : int
            Passed to ``encoder.encode``.
        callback : callable, optional
            ``callback(done, total, info)``: once after the lookup, then per encoded batch.

        Returns
        -------
        numpy.ndarray
            ``(len(texts), encoder.dim)`` float32, in input order.
        """
        texts = list(texts)
        keys = text_keys(texts)
        found, vectors = self.lookup(encoder.model_id, keys)
        if vectors.shape[1] not in (0, encoder.dim):
            raise EmbeddingCacheError(
                f"cached embeddings of {encoder.model_id!r} have {vectors.shape[1]} dimensions, "
                f"the encoder {encoder.dim}: clear the cache at {self.folder(encoder.model_id)}"
            )
        out = np.zeros((len(texts), encoder.dim), dtype=np.float32)
        if found.any():
            out[found] = vectors[found]
        missing_rows = np.flatnonzero(~found)
        if callback is not None:
            callback(len(texts) - len(missing_rows), len(texts), _lookup_text(found))
        if len(missing_rows):
            unique_keys, first, inverse = np.unique(
                keys[missing_rows], return_index=True, return_inverse=True
            )
            # Encode each new text once, in the order it first appears.
            order = np.argsort(first)
            rank = np.empty_like(order)
            rank[order] = np.arange(len(order))
            new_texts = [texts[row] for row in missing_rows[first[order]]]
            offset = len(texts) - len(missing_rows)

            def progress(done: int, total: int, info: str) -> None:
                if callback is not None:
                    callback(offset + done, offset + total, info)

            new_vectors = encoder.encode(new_texts, batch_size=batch_size, callback=progress)
            out[missing_rows] = new_vectors[rank[inverse.ravel()]]
            self.store(encoder.model_id, unique_keys[order], new_vectors)
        return out


def _lookup_text(found: np.ndarray) -> str:
    """What the lookup found, said as it is: all, some or none of the embeddings."""
    n_found, n_texts = int(found.sum()), len(found)
    if n_found == n_texts:
        return f"all {n_texts:,} embeddings read from the cache"
    if n_found == 0:
        return f"no embedding in the cache: encoding {n_texts:,} texts"
    return f"{n_found:,} of {n_texts:,} embeddings read from the cache: encoding the others"


def _write_shard(path: Path, keys: np.ndarray, vectors: np.ndarray) -> None:
    buffer = io.BytesIO()
    np.savez(
        buffer,
        keys=np.asarray(keys, dtype=_KEY_DTYPE),
        vectors=np.asarray(vectors, dtype=np.float32),
    )
    atomic_write_bytes(path, buffer.getvalue())

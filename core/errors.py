"""Every error ShopSynth raises on purpose, in one place.

Each is a :class:`ShopSynthError`; those about bad input are also :class:`ValueError`, so a
caller may catch either. Messages say what to do, e.g. ``SchemaError("column 'timestamp' not
found; map one of: ts, time, date")``.
"""

from __future__ import annotations


class ShopSynthError(Exception):
    """Base class of every error ShopSynth raises on purpose; its message says what to do."""


class TrainingCancelled(ShopSynthError):  # noqa: N818 (a stop, not a failure)
    """Raised by a progress callback to stop a training run; nothing of the run is kept."""


class IngestError(ShopSynthError, ValueError):
    """A file cannot be read as a behaviour log or catalogue.

    A message longer than :data:`MAX_INGEST_MESSAGE` characters keeps its start (what is wrong)
    and its end (what to do): a header, a value or a column list from a file is never echoed
    whole.
    """

    def __init__(self, message: object = "") -> None:
        text = str(message)
        if len(text) > MAX_INGEST_MESSAGE:
            text = f"{text[:300]} [...] {text[-(MAX_INGEST_MESSAGE - 307) :]}"
        super().__init__(text)


MAX_INGEST_MESSAGE = 500


class SchemaError(IngestError):
    """Columns are missing, duplicated or of the wrong kind for the canonical schema."""


class WorkspaceError(ShopSynthError):
    """The workspace is missing something a step needs, or cannot be written."""


class CleaningError(ShopSynthError, ValueError):
    """A cleaning parameter is invalid, or the rules would leave no event at all."""


class ComparisonError(ShopSynthError, ValueError):
    """Inputs to a comparison of variants are inconsistent (lengths, names, shapes, settings)."""


class DescriptionGenerationError(ShopSynthError, ValueError):
    """Descriptions cannot be generated with the given input."""


class EmbeddingCacheError(ShopSynthError, ValueError):
    """Stored embeddings do not fit the encoder asking for them."""


class EncoderError(ShopSynthError, ValueError):
    """An encoder spec names nothing loadable, or an encoder was given bad input."""


class FinetuneError(ShopSynthError, ValueError):
    """Fine-tuning cannot run: no pairs, bad settings, or an unknown encoder name."""


class FusionError(ShopSynthError, ValueError):
    """Bad candidates, weights, method or normalisation name, or an unfitted gate."""


class InteractionsError(ShopSynthError, ValueError):
    """Invalid weights, ids or split parameters."""


class LMError(ShopSynthError, ValueError):
    """A language model cannot be trained, loaded or used with the given input."""


class MetricError(ShopSynthError, ValueError):
    """A metric name, a recommendation array or the metric context is not usable."""


class ModelError(ShopSynthError, ValueError):
    """A model was used before fitting, with bad hyperparameters, or loaded from a bad folder."""


class QualityError(ShopSynthError, ValueError):
    """Inputs a quality measure cannot be computed from."""


class QueryGenerationError(ShopSynthError, ValueError):
    """Queries cannot be generated or filtered with the given input."""


class SampleStoreError(ShopSynthError, ValueError):
    """Samples cannot be added, found or changed as asked."""


class SyntheticInteractionsError(ShopSynthError, ValueError):
    """Synthetic interactions cannot be generated, stored or used as asked."""


class SearchError(ShopSynthError, ValueError):
    """A product search cannot run: no catalogue, a bad query, filter or setting."""


class DiskFullError(WorkspaceError):
    """The disk of the workspace filled up during a step; the step was rolled back."""


class PathNotAllowedError(IngestError):
    """A server path lies outside the folders the dashboard may read (``SHOPSYNTH_DATA_ROOTS``)."""


class SearchEvaluationError(ShopSynthError, ValueError):
    """Search sessions or a search evaluation cannot be built from the data given."""


class RetryError(Exception):
    """Reading must start again with other options for one file (``"events"``/``"catalog"``).

    A signal inside ingest, caught there; it never reaches a user.
    """

    def __init__(self, which: str, **options: object) -> None:
        super().__init__(which)
        self.which = which
        self.options = options


class SparkEngineError(ShopSynthError, RuntimeError):
    """The Spark engine cannot run: pyspark or Java missing, a bad master URL, a failed job."""

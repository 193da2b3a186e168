"""Product texts, sentence encoders, the embedding cache and encoder fine-tuning.

:mod:`core.text.product_text` and :mod:`core.text.cache` are light; :mod:`core.text.encoders`,
:mod:`core.text.finetune` and :mod:`core.text.saved_encoders` import torch and transformers, so
import them where needed.
"""

from core.text.cache import EmbeddingCache, text_keys
from core.text.product_text import TEXT_FIELDS, align_catalog, product_texts

__all__ = ["TEXT_FIELDS", "EmbeddingCache", "align_catalog", "product_texts", "text_keys"]

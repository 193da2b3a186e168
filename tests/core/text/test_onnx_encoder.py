"""The ONNX Runtime encoder route: same vectors as the torch encoder (fp32), int8 close."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.data.workspace import Workspace
from core.errors import EncoderError
from core.text.encoders import tiny_encoder
from core.text.onnx_encoder import FP32_FILE, INT8_FILE, OnnxEncoder, export_onnx, onnx_encoder

TEXTS = ["red mug", "a much longer product title with many more words in it", "x", "blue plate 2"]


def test_fp32_export_matches_the_torch_encoder_and_int8_stays_close(tmp_path: Path) -> None:
    encoder = tiny_encoder()
    folder = export_onnx(encoder, tmp_path / "tiny")
    expected = encoder.encode(TEXTS, batch_size=2)
    fp32 = OnnxEncoder(encoder, folder, quantized=False, num_threads=1)
    # Batches of two texts of different lengths: padding and pooling must match.
    np.testing.assert_allclose(fp32.encode(TEXTS, batch_size=2), expected, atol=1e-5)
    int8 = OnnxEncoder(encoder, folder, quantized=True, num_threads=1)
    vectors = int8.encode(TEXTS, batch_size=3)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1, rtol=1e-5)
    assert (vectors * expected).sum(axis=1).min() > 0.9
    assert {fp32.model_id, int8.model_id, encoder.model_id} == {
        "tiny-bert/seed-0+onnx-fp32", "tiny-bert/seed-0+onnx-int8pc", "tiny-bert/seed-0",
    }  # fmt: skip
    assert int8.dim == 32 and int8.encode([]).shape == (0, 32)


def test_an_existing_export_is_reused(tmp_path: Path) -> None:
    encoder = tiny_encoder()
    folder = export_onnx(encoder, tmp_path / "tiny")
    stamps = [(folder / name).stat().st_mtime_ns for name in (FP32_FILE, INT8_FILE)]
    export_onnx(encoder, folder)
    assert [(folder / name).stat().st_mtime_ns for name in (FP32_FILE, INT8_FILE)] == stamps


def test_workspace_route_and_errors(workspace: Workspace, tmp_path: Path) -> None:
    encoder = onnx_encoder("tiny", workspace=workspace, num_threads=1)
    assert (workspace.artifacts_dir / "onnx_encoders" / "tiny-bert_seed-0" / INT8_FILE).is_file()
    assert encoder.encode(["mug"]).shape == (1, 32)
    with pytest.raises(EncoderError, match="export_onnx first"):
        OnnxEncoder(tiny_encoder(), tmp_path / "missing")
    with pytest.raises(EncoderError, match="folder of the ONNX export"):
        onnx_encoder("tiny")

"""The embedding backends: settings, pooling, and the ONNX and static models against the torch one."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from storydesk import nlp
from storydesk.config import ModelSettings, Settings
from storydesk.errors import ConfigError, ModelError

TEXTS = [
    "Flooding in the north forced 5,000 people from their homes on Monday, officials said.",
    "The central bank raised its main rate by a quarter point to 4.5%.",
    "Striker scores twice as the home side wins the cup final.",
]


def test_nlp_backend_setting_is_checked_when_built() -> None:
    assert (
        Settings().with_overrides(["models.embedding_backend=onnx-int8"]).models.embedding_backend
        == "onnx-int8"
    )
    with pytest.raises(ConfigError, match="expected one of torch, onnx, onnx-int8, static"):
        Settings().with_overrides(["models.embedding_backend=gpu"])


def test_nlp_mean_pool_ignores_padding_and_unit_scales() -> None:
    hidden = np.array([[[1.0, 0.0], [3.0, 0.0], [100.0, 100.0]]], dtype=np.float32)
    mask = np.array([[1, 1, 0]])
    pooled = nlp._mean_pool(hidden, mask)
    assert pooled.tolist() == [[2.0, 0.0]]
    unit = nlp._unit(np.array([[3.0, 4.0], [0.0, 0.0]], dtype=np.float32))
    assert unit[0].tolist() == pytest.approx([0.6, 0.8])
    assert unit[1].tolist() == [0.0, 0.0]  # an empty text stays a zero vector, not NaN


def test_nlp_cache_root_follows_the_setting(tmp_path: Path) -> None:
    assert nlp.cache_root(ModelSettings(cache_dir=str(tmp_path))) == tmp_path


def test_nlp_derived_backends_need_a_local_model(tmp_path: Path) -> None:
    models = ModelSettings(
        embedding_model="someone/on-the-hub", embedding_backend="static", cache_dir=str(tmp_path)
    )
    with pytest.raises(ModelError, match="needs a local model folder"):
        nlp.StaticEmbedder(models)


@pytest.mark.models
def test_nlp_onnx_backend_matches_torch(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    torch_vectors = nlp.Embedder(ModelSettings()).encode(TEXTS)
    models = ModelSettings(embedding_backend="onnx", cache_dir=str(tmp_path))
    onnx_vectors = nlp.OnnxEmbedder(models).encode(TEXTS)
    assert (onnx_vectors * torch_vectors).sum(axis=1).min() > 0.9999
    assert list(tmp_path.glob("*-fp32.onnx"))  # exported once, kept for the next load
    int8 = nlp.OnnxEmbedder(dataclasses.replace(models, embedding_backend="onnx-int8")).encode(TEXTS)
    assert np.allclose(np.linalg.norm(int8, axis=1), 1.0, atol=1e-5)
    assert (int8 * torch_vectors).sum(axis=1).min() > 0.85


@pytest.mark.models
def test_nlp_static_vectors_mean_their_tokens(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The static embedder averages its tokens' rows (a small made-up table stands in for the
    distilled one, which takes a minute to make)."""
    models = ModelSettings(embedding_backend="static", cache_dir=str(tmp_path))
    table = np.random.default_rng(0).normal(size=(31_000, 8)).astype(np.float32)
    path = tmp_path / "table.npy"
    np.save(path, table)
    monkeypatch.setattr(nlp, "distill_static", lambda settings: path)
    embedder = nlp.StaticEmbedder(models)
    vectors = embedder.encode(["storm", "storm storm", ""])
    assert embedder.dimension == 8
    assert vectors[0] == pytest.approx(vectors[1])  # a mean, not a sum
    assert vectors[2].tolist() == [0.0] * 8
    ids = embedder._tok.encode("storm", add_special_tokens=False).ids
    assert vectors[0] == pytest.approx(nlp._unit(table[ids].mean(axis=0, keepdims=True))[0], abs=1e-6)

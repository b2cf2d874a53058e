"""The engines that run the MiniLM ONNX model (``RAG_EMBED_RUNTIME``).

Both read the same verified ``model.onnx`` and return its ``last_hidden_state``; tokenising
and pooling stay in ``minilm_onnx.py``, so the two differ only in how the graph is executed:

* ``openvino`` (default): OpenVINO folds the model's int8-stored weights to constants once at
  load and runs at the CPU's fastest inference precision: bfloat16 on CPUs with AMX or
  AVX512-BF16 (Intel Sapphire Rapids and later), float32 elsewhere. On the project's machine
  (AMX) it embeds 200-word chunks about 4x faster than ONNX Runtime, its vectors within cosine
  0.9999 of ONNX Runtime's (``tests/retrieval/test_embedder.py`` holds it to that; the
  embedder contract suite runs on both engines).
* ``onnxruntime``: ONNX Runtime's CPU provider in float32, the reference.

An engine runs one inference at a time; callers serialise (``MiniLmOnnxEmbedder`` holds a lock).
Both release the GIL while they run, so the event loop keeps serving.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Protocol

import numpy as np
from numpy.typing import NDArray

EngineName = Literal["openvino", "onnxruntime"]

# OpenVINO compiles each new input shape once and keeps it (5,000 shapes by default). With
# every length from 1 to 256 and batches of 1 to 32 it grew a server by 400 MiB in a
# minute of the load test; lengths rounded to 16 (minilm_onnx.py) and this cap hold it:
# measured on 800 inferences of mixed shapes, 210 -> 490-550 MiB, against 1,269 MiB for
# unrounded lengths. Beyond the cap the least recently used shape is compiled again.
SHAPE_CACHE = 256


class OnnxEngine(Protocol):
    """Runs the model on one padded batch."""

    def run(
        self, ids: NDArray[np.int64], mask: NDArray[np.int64], types: NDArray[np.int64]
    ) -> NDArray[np.float32]:
        """``last_hidden_state`` (batch, tokens, 384) for inputs of shape (batch, tokens)."""
        ...


class OnnxRuntimeEngine:
    """ONNX Runtime's CPU provider, float32."""

    def __init__(self, model: Path, *, threads: int) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # Spinning pool threads wait for the next operator on a core instead of sleeping:
        # measured on the shared 2-core machine (load 12), two spinning threads spent twice
        # the CPU per batch of 16 queries (125 ms against 70 ms) and were slower too.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = onnxruntime.InferenceSession(
            str(model), sess_options=options, providers=["CPUExecutionProvider"]
        )

    def run(
        self, ids: NDArray[np.int64], mask: NDArray[np.int64], types: NDArray[np.int64]
    ) -> NDArray[np.float32]:
        (hidden,) = self._session.run(
            ["last_hidden_state"],
            {"input_ids": ids, "attention_mask": mask, "token_type_ids": types},
        )
        out: NDArray[np.float32] = hidden
        return out


class OpenVinoEngine:
    """OpenVINO's CPU plugin at its default inference precision (bf16 where the CPU has it)."""

    def __init__(self, model: Path, *, threads: int) -> None:
        import openvino
        from openvino.passes import ConstantFolding, Manager

        core = openvino.Core()
        graph = core.read_model(str(model))
        # The file stores its weights as int8 with a scale (Cast, Mul); left in the graph
        # they are decompressed on every inference (measured: 94 against 106 chunks/s).
        passes = Manager()
        passes.register_pass(ConstantFolding())
        passes.run_passes(graph)
        self._compiled = core.compile_model(
            graph,
            "CPU",
            {
                "INFERENCE_NUM_THREADS": threads,
                # One request at a time on all the threads: the THROUGHPUT hint's several
                # streams halved the rate of a single caller (58 against 109 chunks/s).
                "PERFORMANCE_HINT": "LATENCY",
                "CPU_RUNTIME_CACHE_CAPACITY": SHAPE_CACHE,
            },
        )
        self._request = self._compiled.create_infer_request()
        self._output = self._compiled.output("last_hidden_state")

    def run(
        self, ids: NDArray[np.int64], mask: NDArray[np.int64], types: NDArray[np.int64]
    ) -> NDArray[np.float32]:
        result = self._request.infer(
            {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        )
        # A copy: the request reuses its output buffer on the next inference.
        hidden: NDArray[np.float32] = np.array(result[self._output], dtype=np.float32, copy=True)
        return hidden


ENGINES: dict[str, type[OnnxRuntimeEngine] | type[OpenVinoEngine]] = {
    "openvino": OpenVinoEngine,
    "onnxruntime": OnnxRuntimeEngine,
}


def engine(name: EngineName, model: Path, *, threads: int) -> OnnxEngine:
    """The engine ``name`` over the verified ``model`` file."""
    return ENGINES[name](model, threads=threads)

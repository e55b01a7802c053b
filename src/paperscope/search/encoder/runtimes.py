"""Runtimes that run an ONNX file on a (batch, tokens) id matrix and its attention mask:
onnxruntime (CPU, CUDA) and OpenVINO (CPU), and which one a precision runs on."""

from __future__ import annotations

import functools
import importlib.util
import os
from pathlib import Path
from typing import Any, Literal

import numpy as np

from paperscope.search.encoder.base import Precision, Runtime

# oneDNN instruction sets with bfloat16 arithmetic. ONEDNN_MAX_CPU_ISA caps what OpenVINO's
# kernels use (AVX2 makes this CPU behave like one without AVX-512 or bfloat16), while its
# reported capabilities still describe the hardware, so the cap is read here as well.
_BF16_ISAS = frozenset(
    {
        "ALL",
        "AVX512_CORE_BF16",
        "AVX512_CORE_FP16",
        "AVX512_CORE_AMX",
        "AVX512_CORE_AMX_FP16",
        "AVX10_1_512",
        "AVX10_1_512_AMX",
        "AVX10_1_512_AMX_FP16",
        "AVX10_2_512",
        "AVX10_2_512_AMX_2",
    }
)


@functools.cache
def cpu_supports_bf16() -> bool:
    """Whether OpenVINO can compute in bfloat16 here (AVX512-BF16 or AMX, not capped off)."""
    import openvino as ov

    cap = os.environ.get("ONEDNN_MAX_CPU_ISA", "").strip().upper()
    if cap and cap not in _BF16_ISAS:
        return False
    return "BF16" in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")


# --- runtimes: run an ONNX file on a (batch, tokens) id matrix and its attention mask ------


class _OpenVinoModel:
    """OpenVINO on CPU, computing in ``computes_in`` ("f32" or "bf16"), always set explicitly:
    OpenVINO's own default is bfloat16 on a CPU that has it and float32 on others.

    A single text of STATIC_WIDTH tokens (a padded search query) runs on a copy compiled for
    exactly that shape, made on first use: a fixed shape skips the per-call shape work of a
    dynamic model and runs a query about a fifth faster."""

    STATIC_WIDTH = 16

    def __init__(self, model_path: Path, threads: int, computes_in: str) -> None:
        import openvino as ov

        self._core = ov.Core()
        self._source = self._core.read_model(str(model_path))
        self.input_names = {port.get_any_name() for port in self._source.inputs}
        self.output_rank = self._source.outputs[0].get_partial_shape().rank.get_length()
        self._config = {
            "INFERENCE_NUM_THREADS": threads,
            "PERFORMANCE_HINT": "LATENCY",
            "EXECUTION_MODE_HINT": "ACCURACY" if computes_in == "f32" else "PERFORMANCE",
            "INFERENCE_PRECISION_HINT": computes_in,
        }
        compiled = self._core.compile_model(self._source, "CPU", self._config)
        actual = compiled.get_property("INFERENCE_PRECISION_HINT").to_string()
        if actual != computes_in:
            raise RuntimeError(f"OpenVINO computes in {actual}, not the {computes_in} asked for")
        self._request = compiled.create_infer_request()
        # The InferRequest for one-text batches, made on the first one.
        self._static_request: Any = None
        self.compute_precision = computes_in

    def run(self, feed: dict[str, np.ndarray]) -> np.ndarray:
        if feed["input_ids"].shape == (1, self.STATIC_WIDTH):
            if self._static_request is None:
                fixed = self._source.clone()
                fixed.reshape({name: [1, self.STATIC_WIDTH] for name in self.input_names})
                compiled = self._core.compile_model(fixed, "CPU", self._config)
                self._static_request = compiled.create_infer_request()
            return self._static_request.infer(feed)[0]
        return self._request.infer(feed)[0]


class _OnnxRuntimeModel:
    """onnxruntime on CUDA when ``use_gpu``, else on CPU (float32).

    On CUDA, onnxruntime lets cuBLAS use TF32 (10-bit mantissas) for float32 matrix products
    on Ampere and newer GPUs unless told not to: ``computes_in="f32"`` turns it off."""

    def __init__(self, model_path: Path, threads: int, use_gpu: bool, computes_in: str) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        providers: list = ["CPUExecutionProvider"]
        if use_gpu:
            tf32 = str(int(computes_in == "tf32"))
            providers.insert(0, ("CUDAExecutionProvider", {"use_tf32": tf32}))
        self._session = ort.InferenceSession(str(model_path), options, providers=providers)
        self.compute_precision = computes_in
        self.input_names = {i.name for i in self._session.get_inputs()}
        self.output_rank = len(self._session.get_outputs()[0].shape)

    def run(self, feed: dict[str, np.ndarray]) -> np.ndarray:
        return self._session.run(None, feed)[0]


def _cuda_available() -> bool:
    if importlib.util.find_spec("onnxruntime") is None:
        return False
    import onnxruntime as ort

    return "CUDAExecutionProvider" in ort.get_available_providers()


RuntimeKind = Literal["openvino", "onnxruntime", "cuda"]
_DEVICES = {
    "openvino": "openvino-cpu",
    "onnxruntime": "onnxruntime-cpu",
    "cuda": "onnxruntime-cuda",
}


def _runtime_kind(
    runtime: Runtime,
    use_gpu: bool | None,
    precision: Precision,
    *,
    int8: bool = False,
    cuda_available: bool | None = None,
) -> RuntimeKind:
    """Where a model runs. With onnxruntime-gpu installed and a CUDA device present
    (``cuda_available``, probed when None) ``use_gpu`` None means CUDA, for float32 weights:
    int8 weights run on onnxruntime's CPU, their format (CUDA has no kernel for their integer
    products, so it would hand them back to the CPU, batch by batch). On a CPU, "auto" runs
    float32 on onnxruntime and bfloat16 on OpenVINO: OpenVINO 2026.4's float32 path was seen
    to answer wrong vectors (cosine 0.8 to the right one) for some padded widths, depending
    on what the process had allocated before; onnxruntime, the reference runtime for ONNX,
    never was."""
    if int8:
        if use_gpu:
            raise ValueError(
                "int8 weights run on the CPU only: set embedding_weights=float32 to embed on a GPU"
            )
        if runtime == "openvino":
            raise ValueError("int8 weights run on onnxruntime only: set runtime='auto'")
        return "onnxruntime"
    if cuda_available is None:
        cuda_available = _cuda_available()
    if use_gpu is None:
        use_gpu = runtime != "openvino" and cuda_available
    if use_gpu:
        if not cuda_available:
            raise RuntimeError(
                "use_gpu=True but onnxruntime has no CUDAExecutionProvider: "
                "pip install onnxruntime-gpu"
            )
        return "cuda"
    if runtime != "auto":
        return runtime
    has_openvino = importlib.util.find_spec("openvino") is not None
    if precision == "fast" and has_openvino and cpu_supports_bf16():
        return "openvino"
    if importlib.util.find_spec("onnxruntime") is not None or not has_openvino:
        return "onnxruntime"
    return "openvino"


def _computes_in(kind: RuntimeKind, precision: Precision, *, int8: bool = False) -> str:
    """The number format a runtime computes in for a precision option, decided here, never
    left to the runtime's own default: "f32", "bf16" (OpenVINO on a CPU with bfloat16),
    "tf32" (cuBLAS matrix products on CUDA) or "int8" (int8 weights: their linear layers in
    integers, the rest in float32)."""
    if int8:
        return "int8"
    if precision == "exact":
        return "f32"
    if kind == "openvino":
        return "bf16" if cpu_supports_bf16() else "f32"
    return "tf32" if kind == "cuda" else "f32"


def _open_model(
    model_path: Path, *, kind: RuntimeKind, threads: int, computes_in: str
) -> _OpenVinoModel | _OnnxRuntimeModel:
    if kind == "openvino":
        return _OpenVinoModel(model_path, threads, computes_in)
    return _OnnxRuntimeModel(model_path, threads, use_gpu=kind == "cuda", computes_in=computes_in)

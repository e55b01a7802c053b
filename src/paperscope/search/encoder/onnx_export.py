"""Building a BERT ONNX graph from safetensors weights, without PyTorch."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np

Pooling = Literal["mean", "cls"]
"""How token states become one vector: "mean" of the unmasked ones (sentence-transformers'
MiniLM, e5, gte) or the first ([CLS]) token's (bge, arctic-embed)."""
POOLINGS: tuple[Pooling, ...] = ("mean", "cls")


def build_bert_onnx(
    weights: dict[str, np.ndarray], config: dict, output_path: Path, *, pooling: Pooling = "mean"
) -> None:
    """Write a BERT encoder with its pooling as ONNX (opset 17), from HF BertModel weights.

    Inputs: input_ids and attention_mask, int64 (batch, tokens); token types are all 0.
    Output: sentence_embedding, float32 (batch, hidden): the mean of the unmasked token
    states, or the [CLS] token's state with ``pooling="cls"``. Weight names may carry the
    "bert." prefix of BertFor* checkpoints. The graph follows HF's BertModel op for op, so
    runtimes fuse it as they fuse exports; the mean-pooled graph is byte-for-byte the one
    MINILM_ONNX_SHA256 pins.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}, not {pooling!r}")
    if config.get("model_type", "bert") != "bert":
        raise ValueError(f"not a BERT model (model_type {config.get('model_type')!r})")
    weights = {name.removeprefix("bert."): value for name, value in weights.items()}

    hidden = int(config["hidden_size"])
    heads = int(config["num_attention_heads"])
    eps = float(config.get("layer_norm_eps", 1e-12))
    head_dim = hidden // heads
    nodes: list[onnx.NodeProto] = []
    inits: list[onnx.TensorProto] = []

    def const(name: str, value: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def node(op: str, inputs: list[str], output: str, **attrs) -> str:
        nodes.append(helper.make_node(op, inputs, [output], name=output, **attrs))
        return output

    def linear(x: str, prefix: str, out: str) -> str:
        w = const(f"{prefix}.weight_t", weights[f"{prefix}.weight"].T)
        b = const(f"{prefix}.bias", weights[f"{prefix}.bias"])
        return node("Add", [node("MatMul", [x, w], f"{out}_mm"), b], out)

    def layer_norm(x: str, prefix: str, out: str) -> str:
        g = const(f"{prefix}.weight", weights[f"{prefix}.weight"])
        b = const(f"{prefix}.bias", weights[f"{prefix}.bias"])
        return node("LayerNormalization", [x, g, b], out, axis=-1, epsilon=eps)

    emb = "embeddings"
    word = const(f"{emb}.word", weights[f"{emb}.word_embeddings.weight"])
    # Token type 0 for every token: fold its embedding into the position table.
    positions = weights[f"{emb}.position_embeddings.weight"]
    position_type = const(
        f"{emb}.position_plus_type", positions + weights[f"{emb}.token_type_embeddings.weight"][0]
    )
    const("zero", np.array([0], dtype=np.int64))
    const("one", np.array([1], dtype=np.int64))
    const("two", np.array([2], dtype=np.int64))
    seq_len = node("Slice", [node("Shape", ["input_ids"], "ids_shape"), "one", "two"], "seq_len")
    pos = node("Slice", [position_type, "zero", seq_len, "zero"], "pos")
    x = node("Add", [node("Gather", [word, "input_ids"], "tok_emb"), pos], "emb_sum")
    x = layer_norm(x, f"{emb}.LayerNorm", "emb_out")

    mask = node("Cast", ["attention_mask"], "mask_f", to=TensorProto.FLOAT)
    # (1 - mask) * -10000 as in BERT: small enough to stay finite in bfloat16 and float16.
    inverted = node("Sub", [const("f_one", np.array(1, np.float32)), mask], "mask_inv")
    bias = node("Mul", [inverted, const("neg_big", np.array(-10000.0, np.float32))], "mask_b")
    bias = node("Unsqueeze", [bias, const("axes_1_2", np.array([1, 2]))], "mask_bias")
    split_heads = const("split_heads", np.array([0, 0, heads, head_dim], dtype=np.int64))
    merge_heads = const("merge_heads", np.array([0, 0, hidden], dtype=np.int64))
    scale = const("scale", np.array(1.0 / np.sqrt(head_dim), dtype=np.float32))
    half = const("half", np.array(0.5, np.float32))
    sqrt2 = const("sqrt2", np.array(np.sqrt(2.0), np.float32))

    for i in range(int(config["num_hidden_layers"])):
        p = f"encoder.layer.{i}"
        parts = {}
        for part, perm in (("query", [0, 2, 1, 3]), ("key", [0, 2, 3, 1]), ("value", [0, 2, 1, 3])):
            projected = linear(x, f"{p}.attention.self.{part}", f"l{i}_{part}")
            shaped = node("Reshape", [projected, split_heads], f"l{i}_{part}_4d")
            parts[part] = node("Transpose", [shaped], f"l{i}_{part}_t", perm=perm)
        scores = node("MatMul", [parts["query"], parts["key"]], f"l{i}_scores")
        scores = node("Add", [node("Mul", [scores, scale], f"l{i}_scaled"), bias], f"l{i}_masked")
        probs = node("Softmax", [scores], f"l{i}_probs", axis=-1)
        context = node("MatMul", [probs, parts["value"]], f"l{i}_context")
        context = node("Transpose", [context], f"l{i}_context_t", perm=[0, 2, 1, 3])
        context = node("Reshape", [context, merge_heads], f"l{i}_context_3d")
        attended = linear(context, f"{p}.attention.output.dense", f"l{i}_attn_out")
        x = layer_norm(
            node("Add", [attended, x], f"l{i}_attn_res"), f"{p}.attention.output.LayerNorm",
            f"l{i}_attn_ln",
        )  # fmt: skip
        h = linear(x, f"{p}.intermediate.dense", f"l{i}_ffn_in")
        erf = node("Erf", [node("Div", [h, sqrt2], f"l{i}_gelu_div")], f"l{i}_gelu_erf")
        erf = node("Add", [erf, "f_one"], f"l{i}_gelu_add")
        h = node("Mul", [node("Mul", [h, erf], f"l{i}_gelu_mul"), half], f"l{i}_gelu")
        out = linear(h, f"{p}.output.dense", f"l{i}_ffn_out")
        x = layer_norm(node("Add", [out, x], f"l{i}_ffn_res"), f"{p}.output.LayerNorm", f"l{i}_out")

    if pooling == "cls":
        # const() stores 0-d arrays as 1-d: gather token [0], then drop that axis.
        cls = node("Gather", [x, const("cls_index", np.array([0]))], "cls_state", axis=1)
        node("Squeeze", [cls, "one"], "sentence_embedding")
    else:
        token_mask = node("Unsqueeze", [mask, "two"], "mask_3d")
        summed = node("ReduceSum", [node("Mul", [x, token_mask], "masked_states"), "one"], "sum",
                      keepdims=0)  # fmt: skip
        counts = node("ReduceSum", [token_mask, "one"], "count", keepdims=0)
        counts = node("Max", [counts, const("min_count", np.array(1e-9, np.float32))],
                      "count_safe")  # fmt: skip
        node("Div", [summed, counts], "sentence_embedding")

    ids_type = helper.make_tensor_type_proto(TensorProto.INT64, ["batch", "tokens"])
    graph = helper.make_graph(
        nodes,
        f"bert_{pooling}_pooling",
        [helper.make_value_info("input_ids", ids_type),
         helper.make_value_info("attention_mask", ids_type)],
        [helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", hidden])],
        initializer=inits,
    )  # fmt: skip
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="paperscope"
    )
    model.ir_version = 8  # fixed, so the bytes (and the pinned hash) do not follow onnx's version
    onnx.checker.check_model(model)
    output_path.write_bytes(model.SerializeToString(deterministic=True))

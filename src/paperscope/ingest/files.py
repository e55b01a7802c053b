"""JSONL and JSONL.gz files of paper metadata, in either supported format.

Formats are told apart per record, so one file may even mix them:
- paperscope / shared-corpus format: ``id, arxiv_id, title, authors (list), abstract,
  categories (list), primary_category, comment, published, updated``;
- Kaggle "arxiv-metadata-oai-snapshot": ``id, title, abstract, authors (text),
  authors_parsed, categories (text), versions, update_date, comments, journal-ref, doi``.
"""

from __future__ import annotations

import gzip
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import orjson

from paperscope.arxiv_ids import InvalidArxivId, parse_arxiv_id
from paperscope.ingest.source import Skipped
from paperscope.records import BadRecord, PaperRecord, make_record

MAX_LINE_BYTES = 1_000_000  # a real record is a few kB
_VERSION = re.compile(r"v(\d+)")


class JsonlFileSource:
    """One JSONL file, gzip-compressed or not (told by its magic bytes, not its name)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.description = self.path.name
        self._raw: IO[bytes] | None = None
        self._total = self.path.stat().st_size

    def position(self) -> tuple[float, float | None]:
        done = self._raw.tell() if self._raw and not self._raw.closed else self._total
        return float(done), float(self._total)

    def read(self) -> Iterator[PaperRecord | Skipped]:
        with open(self.path, "rb") as raw:
            self._raw = raw
            compressed = raw.read(2) == b"\x1f\x8b"
            raw.seek(0)
            stream: io.BufferedIOBase = gzip.GzipFile(fileobj=raw, mode="rb") if compressed else raw
            try:
                yield from self._read_lines(stream)
            except (OSError, EOFError) as error:  # truncated or corrupt gzip
                yield Skipped(f"{self.path.name}", f"unreadable file from here on: {error}")

    def _read_lines(self, stream: io.BufferedIOBase) -> Iterator[PaperRecord | Skipped]:
        number = 0
        while True:
            line = stream.readline(MAX_LINE_BYTES + 1)
            if not line:
                return
            number += 1
            where = f"{self.path.name}:{number}"
            if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
                size = len(line) + _skip_rest_of_line(stream)
                yield Skipped(where, f"oversized line: {size:,} bytes (limit {MAX_LINE_BYTES:,})")
                continue
            if not line.strip():
                continue
            yield parse_line(line, where)


def _skip_rest_of_line(stream: io.BufferedIOBase) -> int:
    skipped = 0
    while True:
        chunk = stream.readline(1 << 20)
        skipped += len(chunk)
        if not chunk or chunk.endswith(b"\n"):
            return skipped


def parse_line(line: bytes, where: str) -> PaperRecord | Skipped:
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as error:
        return Skipped(where, f"invalid UTF-8 at byte {error.start}")
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        return Skipped(where, f"broken JSON: {error}")
    if not isinstance(data, dict):
        return Skipped(where, f"broken JSON: expected an object, got {type(data).__name__}")
    try:
        return record_from_json(data)
    except BadRecord as error:
        paper_id = data.get("id")
        label = f"{where} ({paper_id})" if isinstance(paper_id, str) else where
        return Skipped(label, str(error))


def record_from_json(data: dict) -> PaperRecord:
    """Build a record from either supported JSON layout."""
    paper_id = data.get("id")
    if not isinstance(paper_id, str):
        raise BadRecord("missing id")
    if "versions" in data or "authors_parsed" in data:
        return _from_kaggle(data, paper_id)
    version = None
    if isinstance(data.get("arxiv_id"), str) and data["arxiv_id"]:
        try:
            version = parse_arxiv_id(data["arxiv_id"]).version
        except InvalidArxivId as error:
            raise BadRecord(str(error)) from error
    return make_record(
        id=paper_id,
        version=version,
        title=data.get("title"),
        abstract=data.get("abstract") or data.get("summary"),
        authors=data.get("authors") or [],
        categories=data.get("categories") or [],
        primary_category=data.get("primary_category"),
        comment=data.get("comment") or data.get("comments"),
        journal_ref=data.get("journal_ref") or data.get("journal-ref"),
        doi=data.get("doi"),
        published=data.get("published"),
        updated=data.get("updated"),
    )


def _from_kaggle(data: dict, paper_id: str) -> PaperRecord:
    versions = data.get("versions") or []
    if not isinstance(versions, list) or not all(isinstance(v, dict) for v in versions):
        raise BadRecord("versions is not a list of objects")
    numbers = [
        int(m.group(1))
        for v in versions
        if isinstance(v.get("version"), str) and (m := _VERSION.fullmatch(v["version"]))
    ]
    created = [v.get("created") for v in versions]
    return make_record(
        id=paper_id,
        version=max(numbers) if numbers else None,
        title=data.get("title"),
        abstract=data.get("abstract"),
        authors=_kaggle_authors(data),
        categories=data.get("categories") or "",
        comment=data.get("comments"),
        journal_ref=data.get("journal-ref"),
        doi=data.get("doi"),
        published=created[0] if created else None,
        updated=created[-1] if created else data.get("update_date"),
    )


def _kaggle_authors(data: dict) -> list[str]:
    parsed = data.get("authors_parsed")
    if isinstance(parsed, list) and parsed:
        names = []
        for parts in parsed:
            if not isinstance(parts, list) or not parts:
                raise BadRecord("authors_parsed entry is not a list")
            last, first, suffix = ([*parts, "", ""])[:3]
            names.append(" ".join(p for p in (first, last, suffix) if isinstance(p, str) and p))
        return names
    text = data.get("authors")
    if isinstance(text, str):
        return [name.strip() for name in re.split(r",\s*|\s+and\s+", text) if name.strip()]
    return []

"""Published copies of the keyword index, so that a new node starts from one instead of
indexing every paper (50 minutes at 2.7M papers).

An indexer (`Indexer.update`, `paperscope index`) publishes one commit of its node's tantivy
index into a shared directory (`lexical_snapshot_dir`, on storage every node can read): the
commit's files, its manifest, and a description saying which store and index schema it is
of and the index generation it is level with. A server whose own index is missing or far
behind copies the newest, checks every file against the description, moves it in
(`LexicalIndex.install`) and then catches up with the ordinary sync: only the papers
changed since are indexed.

The shared directory:

    lexical-v2-<ns since 1970>/   a published snapshot: the index's files + snapshot.json
    .incoming-*/                   one being written; renamed whole when complete
    publish.lock                   one publisher at a time (any host)

A snapshot of another schema or store, or one whose files do not match its description (a
torn copy, a disk error), is refused with a log line, and the node indexes from scratch.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import socket
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from filelock import FileLock

from paperscope.errors import PaperscopeError
from paperscope.search.lexical import MANIFEST, SCHEMA_VERSION, LexicalIndex
from paperscope.store import Store

DESCRIPTION = "snapshot.json"
FORMAT = 1
KEEP = 2  # published snapshots kept: a node still copying the older one can finish
# A local index lacking at least this many of the store's papers is rebuilt from a snapshot
# holding that many more: indexing 10k papers takes seconds, copying an index about as long.
FAR_BEHIND = 10_000
_NAME = re.compile(r"^lexical-v(\d+)-(\d+)$")
_CHUNK = 1 << 20

log = logging.getLogger(__name__)


class SnapshotRefused(PaperscopeError):
    """A published snapshot this node must not use; the message says why."""


@dataclass(frozen=True)
class Published:
    """One published snapshot, as its description says (not yet checked file by file)."""

    path: Path
    schema_version: int
    store: str
    generation: int
    papers: int
    published_at: str
    host: str
    files: dict[str, list]  # name -> [size in bytes, sha256]

    @property
    def name(self) -> str:
        return self.path.name

    def as_json(self) -> dict:
        return {
            "snapshot": self.name,
            "generation": self.generation,
            "papers": self.papers,
            "published_at": self.published_at,
            "host": self.host,
        }


def store_identity(store: Store) -> str:
    """A random name the store is given once (kept in the database): a snapshot built from
    one store is never taken for another's."""
    return store.limits.secret("lexical-store-identity")


# -- publishing ---------------------------------------------------------------------------
def publish(
    index: LexicalIndex, shared: Path, *, store: str, generation: int, keep: int = KEEP
) -> Published:
    """Copy the index's current commit into `shared` as a new snapshot, level with at least
    `generation`; keep the newest `keep`. Written whole under a temporary name and renamed,
    one publisher at a time, so a reader sees complete snapshots only."""
    shared.mkdir(parents=True, exist_ok=True)
    with FileLock(shared / "publish.lock"):
        _remove_leftovers(shared)
        incoming = Path(tempfile.mkdtemp(prefix=".incoming-", dir=shared))
        try:
            files: dict[str, list] = {}

            def copy(source: Path, target: Path) -> None:
                files[target.name] = _copy(source, target)

            index.copy_commit(incoming, copy)
            manifest = json.loads((incoming / MANIFEST).read_text())
            description = {
                "format": FORMAT,
                "schema_version": SCHEMA_VERSION,
                "store": store,
                "generation": generation,
                "papers": len(manifest),
                "published_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "host": socket.gethostname(),
                "files": files,
            }
            _write_durably(incoming / DESCRIPTION, json.dumps(description, indent=1))
            _sync_directory(incoming)
            final = shared / f"lexical-v{SCHEMA_VERSION}-{time.time_ns()}"
            os.rename(incoming, final)
            _sync_directory(shared)
        except BaseException:
            shutil.rmtree(incoming, ignore_errors=True)
            raise
        for old in _published_dirs(shared)[keep:]:
            shutil.rmtree(old, ignore_errors=True)
    published = _described(final)
    log.info("keyword index published as %s (%s papers)", final, f"{published.papers:,}")
    return published


def newest(shared: Path, store: str) -> Published | None:
    """The newest snapshot of this schema and store, by its description only."""
    for path in _published_dirs(shared):
        try:
            published = _described(path)
            _check_fits(published, store)
            return published
        except SnapshotRefused:
            continue
    return None


def due(shared: Path, store: str, *, changed: bool, every_s: float) -> bool:
    """Whether an indexer should publish now: none of this store yet, or the index changed
    and the newest is older than `every_s`."""
    latest = newest(shared, store)
    if latest is None:
        return True
    age = time.time_ns() - int(_NAME.match(latest.name).group(2))  # type: ignore[union-attr]
    return changed and age >= every_s * 1e9


# -- starting from one --------------------------------------------------------------------
def restore(
    index: LexicalIndex, shared: Path, *, store: str, store_papers: int
) -> Published | None:
    """Give this node's index the newest usable snapshot in `shared`, when the index is empty
    or lacks at least FAR_BEHIND of the store's `store_papers`; None when none was taken
    (the caller's sync then indexes what is missing). Every refusal is logged with why.

    Holds the node's writer lock throughout: the other processes of the node (server
    workers) wait, then find the index restored."""
    with index.writing():
        for leftover in index.directory.parent.glob(".incoming-snapshot-*"):
            shutil.rmtree(leftover, ignore_errors=True)  # a restore that died half-way
        have = index.papers()
        if have and store_papers - have < FAR_BEHIND:
            return None
        for path in _published_dirs(shared):
            try:
                published = _described(path)
                _check_fits(published, store)
                if have and published.papers - have < FAR_BEHIND:
                    log.info(
                        "keyword index: snapshot %s holds %s papers, this node %s: not worth "
                        "copying",
                        path,
                        f"{published.papers:,}",
                        f"{have:,}",
                    )
                    return None
                started = time.perf_counter()
                incoming = _copy_checked(published, index.directory.parent)
                index.install(incoming)
            except SnapshotRefused as refusal:
                log.warning("keyword index: snapshot %s refused: %s", path, refusal)
                continue
            log.info(
                "keyword index: restored from snapshot %s (generation %d, %s papers, published "
                "%s by %s) in %.1f s; catching up with the store",
                path,
                published.generation,
                f"{published.papers:,}",
                published.published_at,
                published.host,
                time.perf_counter() - started,
            )
            return published
    return None


def _copy_checked(published: Published, beside: Path) -> Path:
    """Copy the snapshot's files into a new folder in `beside`, each checked against the
    description; SnapshotRefused (and nothing left behind) if any differs or is missing."""
    incoming = Path(tempfile.mkdtemp(prefix=".incoming-snapshot-", dir=beside))
    try:
        for name, (size, digest) in published.files.items():
            if "/" in name or name.startswith("."):
                raise SnapshotRefused(f"its description names an odd file {name!r}")
            try:
                copied = _copy(published.path / name, incoming / name)
            except FileNotFoundError:
                raise SnapshotRefused(f"{name} is missing (a torn copy?)") from None
            if copied != [size, digest]:
                raise SnapshotRefused(
                    f"{name} differs from its description ({copied[0]:,} bytes, expected "
                    f"{size:,}): a torn or damaged copy"
                )
        return incoming
    except BaseException:
        shutil.rmtree(incoming, ignore_errors=True)
        raise


def _check_fits(published: Published, store: str) -> None:
    if published.schema_version != SCHEMA_VERSION:
        raise SnapshotRefused(
            f"it is of keyword index schema {published.schema_version}, this version reads "
            f"{SCHEMA_VERSION}"
        )
    if published.store != store:
        raise SnapshotRefused("it was built from another store (another database)")


def _described(path: Path) -> Published:
    try:
        found = json.loads((path / DESCRIPTION).read_text())
        if found.get("format") != FORMAT:
            raise SnapshotRefused(f"unknown snapshot format {found.get('format')!r}")
        return Published(
            path=path,
            schema_version=int(found["schema_version"]),
            store=str(found["store"]),
            generation=int(found["generation"]),
            papers=int(found["papers"]),
            published_at=str(found["published_at"]),
            host=str(found["host"]),
            files={str(k): [int(v[0]), str(v[1])] for k, v in found["files"].items()},
        )
    except FileNotFoundError:
        raise SnapshotRefused(f"it has no {DESCRIPTION} (a torn copy?)") from None
    except (ValueError, KeyError, TypeError, IndexError, AttributeError) as error:
        raise SnapshotRefused(f"its {DESCRIPTION} is unreadable: {error}") from None


def _published_dirs(shared: Path) -> list[Path]:
    """Published snapshots, newest first."""
    try:
        found = [(int(m.group(2)), p) for p in shared.iterdir() if (m := _NAME.match(p.name))]
    except FileNotFoundError:
        return []
    return [path for _, path in sorted(found, reverse=True)]


def _remove_leftovers(shared: Path) -> None:
    """Folders a publisher left half-written (it died): none is being written while the
    publish lock is held."""
    for path in shared.glob(".incoming-*"):
        shutil.rmtree(path, ignore_errors=True)


def _copy(source: Path, target: Path) -> list:
    """Copy a file durably; its [size, sha256] as read."""
    digest = hashlib.sha256()
    size = 0
    with open(source, "rb") as reader, open(target, "wb") as writer:
        while chunk := reader.read(_CHUNK):
            digest.update(chunk)
            writer.write(chunk)
            size += len(chunk)
        writer.flush()
        os.fsync(writer.fileno())
    return [size, digest.hexdigest()]


def _write_durably(path: Path, text: str) -> None:
    with open(path, "w") as writer:
        writer.write(text)
        writer.flush()
        os.fsync(writer.fileno())


def _sync_directory(path: Path) -> None:
    """Make a folder's new entries durable (a rename survives a crash)."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)

"""Indexer: brings the search indexes level with the store (`paperscope index`, and the end
of an ingest): this node's keyword index, the papers' vectors, the vector index. Resumable,
and only what is new or changed is touched.

It writes; `SearchEngine` reads. After an update the engine it was given searches what was
just built; other processes and hosts pick it up through the index generation. With
`lexical_snapshot_dir` set it also publishes the keyword index there now and then, for new
nodes to start from (search/lexical_snapshot.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from paperscope.search import lexical_snapshot
from paperscope.search.engine import SearchEngine, SearchUnavailable
from paperscope.search.vectors.embed import embed_papers, stale_paper_ids

# (stage, done, total): a progress bar per named stage.
StageProgress = Callable[[str, int, int], None]

log = logging.getLogger(__name__)


class Indexer:
    def __init__(self, search: SearchEngine) -> None:
        self.search = search
        self.settings = search.settings
        self.store = search.store

    def update(
        self,
        *,
        embed: bool | None = True,
        on_progress: StageProgress | None = None,
        on_note: Callable[[str], None] | None = None,
    ) -> dict[str, int]:
        """Bring every index level with the store and return what was done.

        `embed=None` is an ingest's choice: embed only when the model is installed and few
        papers (`embed_on_ingest_max`) wait for a vector, since embedding many takes a while;
        `on_note` hears why not otherwise.
        """
        if embed is None:
            embed = self._embed_after_ingest(on_note or (lambda _note: None))
        say = on_progress or (lambda _stage, _done, _total: None)
        search = self.search
        search.start_lexical()  # a new node: from the newest published snapshot
        # Read before the sync: the index is then level with at least this generation.
        generation = self.store.generations.current()
        # Waits for another process of this node that is at it.
        indexed, removed = search.lexical.sync(
            self.store, on_progress=lambda done, total: say("lexical index", done, total)
        )
        report = {"lexical_indexed": indexed, "lexical_removed": removed}
        if self._publish_lexical(generation, changed=bool(indexed or removed)):
            report["lexical_published"] = 1
        built = None
        if embed:
            embedded = embed_papers(
                self.store,
                search.encoder,
                on_progress=lambda done, total: say("embedding papers", done, total),
            )
            say("dense index", 0, 1)
            built = search.vector_source.open(build=True)
            say("dense index", 1, 1)
            report |= {"embedded": embedded, "dense_vectors": len(built) if built else 0}
        search.take_in(built, dense=embed)
        return report

    def _publish_lexical(self, generation: int, *, changed: bool) -> bool:
        """Publish the keyword index for new nodes when it is due (see
        `lexical_snapshot.due`); a failure is logged, never fails the update."""
        shared = self.settings.lexical_snapshot_dir
        if shared is None:
            return False
        try:
            store = lexical_snapshot.store_identity(self.store)
            every_s = self.settings.lexical_snapshot_every_s
            if not lexical_snapshot.due(shared, store, changed=changed, every_s=every_s):
                return False
            lexical_snapshot.publish(
                self.search.lexical, shared, store=store, generation=generation
            )
        except OSError as error:
            log.warning("keyword index not published to %s: %s", shared, error)
            return False
        return True

    def _embed_after_ingest(self, note: Callable[[str], None]) -> bool:
        try:
            encoder = self.search.encoder  # loads the model, or says how to install it
        except SearchUnavailable as error:
            note(f"keyword search only for now: {error}")
            return False
        waiting = len(stale_paper_ids(self.store, encoder.name))
        if waiting > self.settings.embed_on_ingest_max:
            note(
                f"{waiting:,} papers need embeddings for semantic search, which takes a while: "
                "run `paperscope index` when convenient (keyword search works meanwhile)"
            )
            return False
        return True

"""Semantic search's engines, one a file, behind the `VectorSearch` interface in base.py.

base.py      the interface (`VectorSearch`, `VectorIndex`, `Allowed`) and filtered search
embed.py     paper vectors: computed for new or changed papers, stored in the database
local.py     `DenseIndex`: vectors in files on this node (SQLite deployments)
exact.py     `ExactIndex`: exact search, one matrix product (numpy)
hnsw.py      `HnswIndex`: approximate search, usearch's HNSW graph
pgvector.py  `PgVectors`: the embeddings table in PostgreSQL, pgvector's HNSW index
"""

"""Papers in: files, arXiv OAI-PMH harvesting and the arXiv API. Entry point: ``ingest``."""

from paperscope.ingest.files import JsonlFileSource
from paperscope.ingest.source import IngestReport, Skipped, Source, ingest

__all__ = ["IngestReport", "JsonlFileSource", "Skipped", "Source", "ingest"]

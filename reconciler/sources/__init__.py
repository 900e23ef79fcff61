"""Specs and config from files: the only layer that parses YAML, JSON Schema and git."""

from reconciler.sources.documents import SpecError
from reconciler.sources.validate import CatalogNames, LoadResult, load_desired, load_for

__all__ = ["CatalogNames", "LoadResult", "SpecError", "load_desired", "load_for"]

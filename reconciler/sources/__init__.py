"""Specs and config from files: the only layer that parses YAML, JSON Schema and git."""

from reconciler.sources.documents import SpecError
from reconciler.sources.validate import LoadResult, load_desired

__all__ = ["LoadResult", "SpecError", "load_desired"]

"""Views over a Plan (text, JSON) and drift reports; they format, never compute."""

from reconciler.render.json_doc import render_json
from reconciler.render.text import render_text

__all__ = ["render_json", "render_text"]

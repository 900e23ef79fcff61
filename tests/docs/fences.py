"""Fenced blocks of README.md and docs/*.md, and the command lines inside them."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")))
_FENCE = re.compile(r"^```(\w*)\s*$")


@dataclass(frozen=True)
class Block:
    """One fenced block: where it is, its info string and its text."""

    file: Path
    line: int  # line of the opening fence, 1-based
    lang: str
    text: str

    @property
    def where(self) -> str:
        return f"{self.file.relative_to(ROOT)}:{self.line}"


def blocks(lang: str | None = None) -> list[Block]:
    """Every fenced block of the docs, optionally only one info string."""
    found: list[Block] = []
    for path in DOCS:
        opened: tuple[int, str] | None = None
        body: list[str] = []
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            match = _FENCE.match(line)
            if match is None:
                if opened is not None:
                    body.append(line)
                continue
            if opened is None:
                opened, body = (number, match.group(1)), []
            else:
                found.append(Block(path, opened[0], opened[1], "\n".join(body) + "\n"))
                opened = None
    return [b for b in found if lang is None or b.lang == lang]


@dataclass(frozen=True)
class Command:
    """One shell command line of a block (continuations joined, comment and prompt removed)."""

    block: Block
    argv: tuple[str, ...]
    synopsis: bool  # a usage line with [optional] parts or a|b choices, not runnable as is

    @property
    def where(self) -> str:
        return self.block.where


def _logical_lines(text: str) -> list[str]:
    lines: list[str] = []
    pending = ""
    for raw in text.splitlines():
        if raw.rstrip().endswith("\\"):
            pending += raw.rstrip()[:-1] + " "
            continue
        lines.append(pending + raw)
        pending = ""
    return lines


def _strip_comment(line: str) -> str:
    """Drop a trailing `# comment` outside quotes."""
    quote = ""
    for index, char in enumerate(line):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 0 or line[index - 1].isspace()):
            return line[:index].rstrip()
    return line.rstrip()


def commands(langs: tuple[str, ...] = ("sh", "bash", "", "text", "console")) -> list[Command]:
    """Command lines: every line of sh/bash blocks, `$ `-prompted lines of text blocks."""
    found: list[Command] = []
    for block in blocks():
        if block.lang not in langs:
            continue
        shell = block.lang in ("sh", "bash") or (
            block.lang == "" and block.text.lstrip().startswith("reconcile")
        )
        for line in _logical_lines(block.text):
            stripped = line.strip()
            if stripped.startswith("$ "):
                stripped = stripped[2:]
            elif not shell:
                continue
            stripped = _strip_comment(stripped)
            if not stripped:
                continue
            first = stripped.split(" | ")[0].split(" > ")[0]
            synopsis = bool(re.search(r"\[[A-Z.-]|\[--|\w\|\w|\.\.\.", first))
            try:
                argv = tuple(shlex.split(first))
            except ValueError:
                argv = tuple(first.split())
            found.append(Command(block, argv, synopsis))
    return found

"""The texts of a plan preview: the pull-request comment (Markdown) and the status line."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from reconciler.plan.change import Plan
from reconciler.render.markdown import render_plan_markdown
from reconciler.render.text import summary_line

MARKER = "<!-- reconcile-plan -->"  # how the daemon finds its own comment again
CONTEXT = "reconcile/plan"
MAX_DESCRIPTION = 255
MAX_COMMENT = 60_000  # Gitea keeps more, but nobody reads a longer plan in a comment
_ZERO = re.compile(r"0 [^,]+")


@dataclass(frozen=True)
class Head:
    """The pull request and commit a preview is for."""

    number: int
    sha: str
    ref: str


def plan_summary(plan: Plan) -> str:
    """`3 to create, 1 to update, 1 refused` (counts of zero left out), or `no changes`."""
    text = summary_line(plan).removeprefix("Plan: ").removesuffix(".")
    parts = [p for p in text.split(", ") if not _ZERO.fullmatch(p)]
    return ", ".join(parts) if parts else "no changes"


def short(text: str) -> str:
    """One line of at most MAX_DESCRIPTION characters, for a commit status."""
    line = " ".join(text.split())
    return line if len(line) <= MAX_DESCRIPTION else line[: MAX_DESCRIPTION - 3] + "..."


def _title(head: Head) -> list[str]:
    return [f"Commit `{head.sha[:12]}` of pull request #{head.number} (`{head.ref}`)."]


def _fenced(lines: Sequence[str]) -> list[str]:
    """A code block no line can close early (a fence longer than any backtick run)."""
    longest = max((len(m) for ln in lines for m in re.findall(r"`+", ln)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence + "text", *lines, fence]


def _cap(text: str) -> str:
    """The marker first (the comment is found by it), then at most MAX_COMMENT characters."""
    if len(text) > MAX_COMMENT:
        text = text[:MAX_COMMENT] + "\n\n... (truncated; `reconcile plan` shows it whole)\n"
    return f"{MARKER}\n{text}"


def plan_comment(
    head: Head, plan: Plan, notes: Sequence[tuple[str, str]], problem: str | None
) -> str:
    """The plan of the PR head; `problem`: why some lines are unknown (a source was down)."""
    header = _title(head)
    header.append("Nothing is applied until the pull request is merged.")
    if problem:
        header += ["", f"**The plan is incomplete:** {problem}"]
    return _cap(render_plan_markdown(plan, notes, header))


def invalid_comment(head: Head, problems: Sequence[str]) -> str:
    """Every validation problem as `file:line: path: message`; nothing would be applied."""
    lines = ["# Plan", "", *_title(head), ""]
    lines += [f"**The specs are invalid** ({len(problems)} problem(s)); this commit would be"]
    lines += ["rejected whole and nothing applied.", ""]
    lines += _fenced(problems)
    return _cap("\n".join(lines) + "\n")


def error_comment(head: Head, why: str) -> str:
    """No plan could be made (an API down, the commit not fetchable): the reason."""
    lines = ["# Plan", "", *_title(head), "", "**No plan could be made:**", ""]
    lines += _fenced(why.splitlines() or [why])
    lines += ["", "The preview runs again on the next push to the pull request."]
    return _cap("\n".join(lines) + "\n")


__all__ = [
    "CONTEXT",
    "MARKER",
    "Head",
    "error_comment",
    "invalid_comment",
    "plan_comment",
    "plan_summary",
    "short",
]

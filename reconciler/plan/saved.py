"""The saved plan (`plan --out FILE`, JSON plan format version 2) and its staleness test; pure."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from reconciler.plan.change import (
    PROCEDURE_ACTIONS,
    Action,
    Change,
    FieldChange,
    JSONScalar,
    JSONValue,
    Plan,
)
from reconciler.plan.operations import (
    OperationDecodeError,
    decode_operations,
    encode_operations,
)
from reconciler.plan.serialize import change_to_dict

SAVED_FORMAT_VERSION = "2"
# What must still be equal, line by line, for a saved plan to run (`reason` is for people).
_COMPARED = ("operations", "fields", "preconditions", "options", "depends_on")
_AGED = frozenset({Action.EXPIRE_SNAPSHOTS.value, Action.REMOVE_ORPHAN_FILES.value})


class SavedPlanError(ValueError):
    """The file is not a saved plan this version can apply (its message names why)."""


class SavedPlanVersionError(SavedPlanError):
    """The file is of another plan format version (its message names the version)."""


@dataclass(frozen=True)
class SavedOptions:
    """The options the plan was made with; `apply FILE` re-plans with exactly these."""

    targets: tuple[str, ...] = ()
    prune: bool = False
    allow_destructive: bool = False
    allow_restart: bool = False


@dataclass(frozen=True)
class SavedPlan:
    plan: Plan
    revision: str | None  # the git commit the specs came from; None for a local specs dir
    spec_digest: str  # "sha256:<hex>" over the tree's sorted relative paths and bytes
    created_at: str  # UTC ISO 8601
    reconciler_version: str
    options: SavedOptions = SavedOptions()
    notes: tuple[tuple[str, str], ...] = ()


def saved_change_dict(change: Change) -> dict[str, JSONValue]:
    """A plan line as `plan --output json` writes it, plus its preconditions and options."""
    doc = change_to_dict(change)
    doc["preconditions"] = dict(change.preconditions)
    doc["options"] = dict(change.options)
    doc["depends_on"] = list(change.depends_on)
    doc["operations"] = encode_operations(change.operations)
    normal: dict[str, JSONValue] = json.loads(json.dumps(doc))  # tuples become lists
    return normal


def saved_to_dict(saved: SavedPlan) -> dict[str, JSONValue]:
    options: dict[str, JSONValue] = {
        "targets": list(saved.options.targets),
        "prune": saved.options.prune,
        "allow_destructive": saved.options.allow_destructive,
        "allow_restart": saved.options.allow_restart,
    }
    doc: dict[str, JSONValue] = {
        "format_version": SAVED_FORMAT_VERSION,
        "created_at": saved.created_at,
        "reconciler_version": saved.reconciler_version,
        "source": {"revision": saved.revision, "spec_digest": saved.spec_digest},
        "options": options,
        "changes": [saved_change_dict(c) for c in saved.plan.changes],
        "summary": dict(saved.plan.summary()),
    }
    if saved.notes:
        doc["notes"] = [
            {"address": a, "action": "noop", "reason": r} for a, r in sorted(saved.notes)
        ]
    return doc


def saved_to_json(saved: SavedPlan) -> str:
    return json.dumps(saved_to_dict(saved), indent=2, ensure_ascii=False) + "\n"


def _need(doc: Mapping[str, object], key: str, kind: type | tuple[type, ...]) -> object:
    value = doc.get(key)
    if not isinstance(value, kind):
        raise SavedPlanError(f"field {key!r} is missing or not a {_kind_name(kind)}")
    return value


def _list(doc: Mapping[str, object], key: str) -> list[object]:
    return cast("list[object]", _need(doc, key, list))


def _dict(doc: Mapping[str, object], key: str) -> dict[str, Any]:
    return cast("dict[str, Any]", _need(doc, key, dict))


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(k.__name__ for k in kinds)


def _change_from_dict(doc: object, index: int) -> Change:
    if not isinstance(doc, dict):
        raise SavedPlanError(f"changes[{index}] is not an object")
    try:
        action = Action(str(doc.get("action")))
    except ValueError:
        raise SavedPlanError(f"changes[{index}].action {doc.get('action')!r} is unknown") from None
    if action in PROCEDURE_ACTIONS:
        raise SavedPlanError(
            f"changes[{index}].action {action.value!r} is a procedure call, not a plan line "
            "(a table's calls are one `maintain` line): make the plan again"
        )
    fields = []
    for j, f in enumerate(_list(doc, "fields")):
        if not isinstance(f, dict) or not isinstance(f.get("path"), str):
            raise SavedPlanError(f"changes[{index}].fields[{j}] is not a field change")
        fields.append(FieldChange(f["path"], f.get("before"), f.get("after")))
    pre: Mapping[str, JSONScalar] = _dict(doc, "preconditions")
    opts: Mapping[str, JSONValue] = _dict(doc, "options")
    deps = _list(doc, "depends_on")
    try:
        operations = decode_operations(doc.get("operations", []), f"changes[{index}]")
    except OperationDecodeError as exc:
        raise SavedPlanError(str(exc)) from None
    return Change(
        address=str(_need(doc, "address", str)),
        action=action,
        reason=str(doc.get("reason") or ""),
        fields=tuple(fields),
        depends_on=tuple(str(d) for d in deps),
        preconditions=tuple(pre.items()),
        options=tuple(opts.items()),
        operations=operations,
    )


def saved_from_dict(doc: object) -> SavedPlan:
    """Read a saved plan; any other format version is refused naming it."""
    if not isinstance(doc, dict):
        raise SavedPlanError("not a JSON object")
    version = doc.get("format_version")
    if version != SAVED_FORMAT_VERSION:
        if version is None:
            raise SavedPlanVersionError(
                "it has no format_version: not a saved plan (plan --out writes version 2)"
            )
        hint = " (the `plan --output json` document, not a saved plan)" if version == "1" else ""
        raise SavedPlanVersionError(
            f"format version {version!r}{hint}: this reconciler applies saved plans of "
            f"format version {SAVED_FORMAT_VERSION} only (write one with `plan --out FILE`)"
        )
    source, options = _dict(doc, "source"), _dict(doc, "options")
    revision = source.get("revision")
    notes = doc.get("notes") or []
    if not isinstance(notes, list):
        raise SavedPlanError("field 'notes' is not a list")
    return SavedPlan(
        plan=Plan(tuple(_change_from_dict(c, i) for i, c in enumerate(_list(doc, "changes")))),
        revision=revision if isinstance(revision, str) else None,
        spec_digest=str(_need(source, "spec_digest", str)),
        created_at=str(_need(doc, "created_at", str)),
        reconciler_version=str(_need(doc, "reconciler_version", str)),
        options=SavedOptions(
            targets=tuple(str(t) for t in _list(options, "targets")),
            prune=options.get("prune") is True,
            allow_destructive=options.get("allow_destructive") is True,
            allow_restart=options.get("allow_restart") is True,
        ),
        notes=tuple(
            (str(n.get("address")), str(n.get("reason"))) for n in notes if isinstance(n, dict)
        ),
    )


def _line(doc: Mapping[str, JSONValue]) -> str:
    return f"{doc['address']} ({doc['action']})"


def stale_reason(saved: SavedPlan, fresh: Plan) -> str | None:
    """Why a plan made now is not the saved plan (the first difference), or None if equal."""
    old = [saved_change_dict(c) for c in saved.plan.changes]
    new = [saved_change_dict(c) for c in fresh.changes]
    keys_old = [(d["address"], d["action"]) for d in old]
    keys_new = [(d["address"], d["action"]) for d in new]
    for d in old:
        if (d["address"], d["action"]) not in keys_new:
            return f"{_line(d)} is no longer planned"
    for d in new:
        if (d["address"], d["action"]) not in keys_old:
            return f"a plan made now adds {_line(d)}"
    if keys_old != keys_new:
        return "a plan made now orders its lines differently"
    for before, now in zip(old, new, strict=True):
        for key in _COMPARED:
            if _compared(before, key) != _compared(now, key):
                return _difference(before, now, key)
    return None


def _compared(doc: Mapping[str, JSONValue], key: str) -> JSONValue:
    """What must still be equal. A maintenance line's `older_than` option is only the display
    of the cutoff at plan time: its operation carries the age, and the cutoff is computed
    when it runs, so a saved plan does not go stale as the clock moves. A compaction's
    `estimate` is display too (the history it comes from grows with every run)."""
    value = doc.get(key)
    if key == "options" and isinstance(value, dict):
        action = str(doc.get("action"))
        listed = value.get("calls")
        if action == Action.MAINTAIN.value and isinstance(listed, list):
            calls: list[JSONValue] = [
                {
                    **c,
                    "reason": None,  # for people
                    "options": _compared(
                        {"action": c.get("procedure"), "options": c.get("options")}, "options"
                    ),
                }
                if isinstance(c, dict)
                else c
                for c in listed
            ]
            return {**value, "calls": calls}
        dropped = {"estimate", "older_than"} if action in _AGED else {"estimate"}
        return {k: v for k, v in value.items() if k not in dropped}
    return value


def _difference(before: Mapping[str, JSONValue], now: Mapping[str, JSONValue], key: str) -> str:
    saved_value, now_value = before.get(key), now.get(key)
    if key == "fields" and isinstance(saved_value, list) and isinstance(now_value, list):
        what, saved_text, now_text = "fields differ", _fields(saved_value), _fields(now_value)
    else:
        what = "a precondition no longer holds" if key == "preconditions" else f"{key} differ"
        saved_text, now_text = json.dumps(saved_value), json.dumps(now_value)
    return f"{_line(before)}: {what}: saved {saved_text}, now {now_text}"


def _fields(fields: Sequence[JSONValue]) -> str:
    parts = []
    for f in fields:
        if isinstance(f, dict):
            parts.append(
                f"{f.get('path')} {json.dumps(f.get('before'))} -> {json.dumps(f.get('after'))}"
            )
    return ", ".join(parts) or "(none)"

"""order_changes: dependencies first, then address; cycles release their smallest member."""

from __future__ import annotations

from reconciler.diff.planner import order_changes
from reconciler.plan.change import Action, Change


def _addresses(changes: tuple[Change, ...]) -> list[str]:
    return [c.address for c in changes]


def _line(address: str, *needs: str, action: Action = Action.UPDATE) -> Change:
    return Change(address, action, "r", depends_on=needs)


def test_dependencies_first_then_address_among_ready() -> None:
    changes = [_line("ct/c"), _line("ct/a", "ct/d"), _line("ct/b"), _line("ct/d")]
    assert _addresses(order_changes(changes, {})) == ["ct/b", "ct/c", "ct/d", "ct/a"]


def test_order_holds_through_an_address_without_changes() -> None:
    # a -> m (no change of its own) -> z: z still comes before a.
    changes = [_line("ct/a"), _line("ct/z")]
    depends = {"ct/a": ("ct/m",), "ct/m": ("ct/z",)}
    assert _addresses(order_changes(changes, depends)) == ["ct/z", "ct/a"]


def test_input_order_never_matters() -> None:
    changes = [_line("ct/b", "ct/a"), _line("ct/a", action=Action.RESIZE), _line("ct/a")]
    once = order_changes(changes, {})
    assert order_changes(list(reversed(changes)), {}) == once
    assert [(c.address, c.action) for c in once] == [
        ("ct/a", Action.UPDATE),
        ("ct/a", Action.RESIZE),
        ("ct/b", Action.UPDATE),
    ]


def test_a_cycle_falls_back_to_address_order_for_its_members() -> None:
    # b <-> c is a cycle (validation rejects it; the planner must still terminate);
    # d depends on the cycle, a is free.
    changes = [_line("ct/d", "ct/c"), _line("ct/c", "ct/b"), _line("ct/b", "ct/c"), _line("ct/a")]
    assert _addresses(order_changes(changes, {})) == ["ct/a", "ct/b", "ct/c", "ct/d"]


def test_a_self_dependency_is_ignored() -> None:
    changes = [_line("ct/b", "ct/b"), _line("ct/a", "ct/b")]
    assert _addresses(order_changes(changes, {})) == ["ct/b", "ct/a"]

"""What a PUT sends for some field paths: the differ's operations, then the applier's body."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from reconciler.diff.container_writes import config_operations
from reconciler.diff.normalize import flatten, normalize_settings
from reconciler.model.containers import ContainerSpec, ObservedContainer
from reconciler.plan.change import FieldChange, Operation
from reconciler.providers.proxmox.config_put import config_body


def update_operations(
    spec: ContainerSpec, observed: ObservedContainer, paths: Iterable[str]
) -> tuple[Operation, ...]:
    desired = normalize_settings(spec.settings, desired=True)
    actual = normalize_settings(observed.settings, desired=False)
    want, have = flatten(desired), flatten(actual)
    fields = [FieldChange(p, have.get(p), want.get(p)) for p in paths]
    return config_operations(fields, desired, actual)


def encode_update(
    spec: ContainerSpec,
    observed: ObservedContainer,
    paths: Iterable[str],
    raw: Mapping[str, object],
    destructive: bool = True,
) -> tuple[dict[str, str | int], list[str]]:
    """(params, delete) of the PUT for `paths`, as the applier builds it over `raw`."""
    return config_body(update_operations(spec, observed, paths), raw, destructive)

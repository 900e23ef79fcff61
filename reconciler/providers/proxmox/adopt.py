"""Executes an `adopt` plan line on a CT: one digest-guarded PUT of `tags`; decides nothing.

The tags written are the CT's own tags as PVE spells them plus the AddTags operation's
`add` (OWNER_TAG), when they are still the operation's `expect`, so a user's tag is never dropped
or respelled. The digest check makes a CT that changed since the plan fail as
PreconditionFailed instead of being overwritten.
"""

from __future__ import annotations

from typing import Any

import structlog

from reconciler.apply.errors import PermanentError
from reconciler.apply.retry import RetryPolicy
from reconciler.model.containers import OWNER_TAG
from reconciler.plan.change import Change
from reconciler.plan.container_ops import AddTags
from reconciler.plan.pve_text import normalise_tags, split_list
from reconciler.providers.proxmox.client import PveClient
from reconciler.providers.proxmox.errors import PvePreconditionFailed
from reconciler.providers.proxmox.guard import DigestLedger

log = structlog.get_logger(__name__)


class Adopter:
    """Marks one CT as ours (the ProxmoxApplier dispatches `adopt` lines here)."""

    def __init__(self, client: PveClient, retry: RetryPolicy, ledger: DigestLedger) -> None:
        self._client = client
        self._retry = retry
        self._ledger = ledger

    def adopt(self, change: Change, op: AddTags) -> str:
        vmid, node = change.precondition("vmid"), change.precondition("node")
        if not isinstance(vmid, int) or isinstance(vmid, bool) or not isinstance(node, str):
            raise PermanentError(f"{change.address}: an adopt line needs vmid and node")
        tags = _planned_tags(change, op)
        return self._retry.call(f"adopt CT {vmid}", lambda: self._put(change, vmid, node, tags))

    def _put(self, change: Change, vmid: int, node: str, tags: tuple[list[str], list[str]]) -> str:
        before, after = tags
        path = f"nodes/{node}/lxc/{vmid}/config"
        raw = self._client.get(path)
        config: dict[str, Any] = dict(raw) if isinstance(raw, dict) else {}
        digest = str(config.get("digest", ""))
        have = normalise_tags(split_list(config.get("tags")))
        if OWNER_TAG in have and have == normalise_tags(after):
            return f"CT {vmid} already carries {OWNER_TAG}"  # a retried PUT had gone through
        self._ledger.check(vmid, change.precondition("digest"), digest)
        if have != normalise_tags(before):  # the digest matched, so this is only a safety net
            raise PvePreconditionFailed(f"CT {vmid} tags are {list(have)}, the plan saw {before}")
        own = [t for t in split_list(config.get("tags")) if t.strip()]
        write = [*own, *(t for t in after if t not in normalise_tags(own))]
        if normalise_tags(write) != normalise_tags(after):
            raise PermanentError(f"{change.address}: adopt would write {write}, planned {after}")
        self._client.put(path, tags=";".join(write), digest=digest)
        log.info("pve.adopted", vmid=vmid, node=node, tags=write)
        after_digest = str(dict(self._client.get(path)).get("digest", ""))
        self._ledger.record(vmid, (change.precondition("digest"), digest), after_digest)
        return f"marked CT {vmid} as managed by the reconciler (tags {';'.join(write)})"


def _planned_tags(change: Change, op: AddTags) -> tuple[list[str], list[str]]:
    """(tags the plan saw, tags after) from the operation; it must add OWNER_TAG."""
    if OWNER_TAG not in op.add:
        raise PermanentError(f"{change.address}: adopt must add {OWNER_TAG}")
    before = list(op.expect)
    return before, [*before, *(t for t in op.add if t not in before)]

"""One human line from a maintenance procedure's result row (for an Outcome message)."""

from __future__ import annotations

from reconciler.providers.spark.runner import ActionResult


def describe(result: ActionResult) -> str:
    """One human line from a procedure's result row."""
    r = dict(result.result)
    action = result.action.value
    if action == "rewrite_data_files":
        text = (
            f"rewrote {r.get('rewritten_data_files_count', 0)} data files into "
            f"{r.get('added_data_files_count', 0)} ({r.get('rewritten_bytes_count', 0)} bytes)"
        )
    elif action == "expire_snapshots":
        text = (
            f"expired snapshots: deleted {r.get('deleted_data_files_count', 0)} data files, "
            f"{r.get('deleted_manifest_files_count', 0)} manifests, "
            f"{r.get('deleted_manifest_lists_count', 0)} manifest lists"
        )
    elif action == "remove_orphan_files":
        text = f"{r.get('orphan_files_count', 0)} orphan files"
    elif action == "rewrite_manifests":
        text = (
            f"rewrote {r.get('rewritten_manifests_count', 0)} manifests into "
            f"{r.get('added_manifests_count', 0)}"
        )
    elif action == "rewrite_position_delete_files":
        text = (
            f"rewrote {r.get('rewritten_delete_files_count', 0)} delete files into "
            f"{r.get('added_delete_files_count', 0)} ({r.get('rewritten_bytes_count', 0)} bytes)"
        )
    else:
        text = action
    return f"{text} in {result.seconds:.1f}s"

"""Backups of Iceberg tables: the current snapshot streamed to Parquet files on the policy's
target, a manifest written last (atomic publish), then old backups beyond keepLast pruned."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.parquet as pq
import structlog
from pyarrow import fs
from pyiceberg.io.pyarrow import schema_to_pyarrow
from pyiceberg.table import Table

from reconciler.apply.errors import PermanentError
from reconciler.model.backups import BackupListing, BackupRecord
from reconciler.model.policies import Backup, BackupCredentials, MaintenancePolicy
from reconciler.model.tables import TableSpec
from reconciler.plan.backup_ops import ExportBackup
from reconciler.plan.change import Action, Change
from reconciler.providers.iceberg.backup_rows import CHECKSUM, RowChecksum
from reconciler.providers.iceberg.backup_target import (
    FORMAT,
    ID_FORMAT,
    MANIFEST,
    BackupError,
    Target,
    record,
    table_target,
)
from reconciler.providers.iceberg.catalog import Catalogs
from reconciler.report.outcome import Outcome, Status

log = structlog.get_logger("reconciler.backup")

ROWS_PER_FILE = 1_000_000


def target_of(spec: TableSpec, rule: Backup, env: Mapping[str, str] | None = None) -> Target:
    return table_target(rule, spec.catalog, spec.namespace, spec.name, env)


def _sha256(target: Target, path: str) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with target.filesystem.open_input_stream(path) as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def export(
    table: Table,
    identifier: str,
    target: Target,
    now: datetime,
    *,
    rows_per_file: int = ROWS_PER_FILE,
) -> BackupRecord:
    """Write the current snapshot under a new backup id and publish it with its manifest.

    Batches stream from the scan into files of at most `rows_per_file` rows; the whole table
    is never in memory. Until the manifest is written the backup is incomplete: not listed,
    never restored, removed by a later prune."""
    snapshot = table.current_snapshot()
    if snapshot is None:
        raise BackupError(f"{identifier} has no snapshot: nothing to back up")
    backup_id = now.astimezone(UTC).strftime(ID_FORMAT)
    if any(existing == backup_id for existing, _ in target.ids()):
        raise BackupError(f"backup {backup_id} already exists under {target.uri}")
    schema = table.schema()
    arrow_schema = schema_to_pyarrow(schema)  # with field ids in the Parquet metadata
    reader = table.scan(snapshot_id=snapshot.snapshot_id).to_arrow_batch_reader()
    sums = RowChecksum()
    files: list[dict[str, object]] = []
    writer: pq.ParquetWriter | None = None
    stream: pa.NativeFile | None = None
    in_file = 0
    target.filesystem.create_dir(target.path(backup_id, "data"), recursive=True)

    def close() -> None:
        nonlocal writer, stream
        if writer is not None:
            writer.close()
            writer = None
        if stream is not None:
            stream.close()  # the upload of an S3 object completes here
            stream = None

    try:
        for batch in reader:
            offset = 0
            while offset < batch.num_rows:
                if writer is None:
                    name = f"data/part-{len(files):05d}.parquet"
                    files.append({"path": name, "rows": 0})
                    stream = target.filesystem.open_output_stream(target.path(backup_id, name))
                    writer = pq.ParquetWriter(stream, arrow_schema, compression="zstd")
                    in_file = 0
                piece = batch.slice(offset, rows_per_file - in_file)
                piece = pa.Table.from_batches([piece]).cast(arrow_schema)
                writer.write_table(piece)
                sums.add(piece)
                files[-1]["rows"] = int(str(files[-1]["rows"])) + piece.num_rows
                in_file += piece.num_rows
                offset += piece.num_rows
                if in_file >= rows_per_file:
                    close()
        close()
    finally:
        close()
    size = 0
    for item in files:
        item["sha256"], item["bytes"] = _sha256(target, target.path(backup_id, str(item["path"])))
        size += int(str(item["bytes"]))
    manifest = {
        "format": FORMAT,
        "backup_id": backup_id,
        "table": identifier,
        "created": now.astimezone(UTC).isoformat(timespec="seconds"),
        "snapshot_id": snapshot.snapshot_id,
        "snapshot_timestamp_ms": snapshot.timestamp_ms,
        "schema": json.loads(schema.model_dump_json()),
        "partition_spec": json.loads(table.spec().model_dump_json()),
        "sort_order": json.loads(table.sort_order().model_dump_json()),
        "format_version": table.format_version,
        "rows": sums.rows,
        "bytes": size,
        "files": files,
        "checksum": {"algorithm": CHECKSUM, "value": sums.value},
    }
    target.write_bytes(
        target.path(backup_id, MANIFEST), json.dumps(manifest, indent=2).encode() + b"\n"
    )
    return record(manifest, target.uri_of(backup_id))


def verify(target: Target, backup_id: str) -> list[str]:
    """Problems of a published backup: each file present with its size and sha256."""
    doc = target.manifest(backup_id)
    problems: list[str] = []
    for item in doc.get("files", []):
        path = target.path(backup_id, str(item["path"]))
        if target.filesystem.get_file_info(path).type != fs.FileType.File:
            problems.append(f"{item['path']} is missing")
            continue
        digest, size = _sha256(target, path)
        if digest != item["sha256"] or size != item["bytes"]:
            problems.append(f"{item['path']} does not match its sha256 in the manifest")
    return problems


def prune(target: Target, keep_last: int, newest: str) -> tuple[str, ...]:
    """Remove complete backups beyond the newest `keep_last` and incomplete ones older than
    `newest` (the verified backup just written, which is always kept). Returns the ids."""
    entries = target.ids()
    complete = [b for b, ok in entries if ok]
    if newest not in complete:
        return ()
    keep = set(complete[-keep_last:]) | {newest}
    doomed = [b for b in complete if b not in keep]
    doomed += [b for b, ok in entries if not ok and b < newest]
    for backup_id in sorted(doomed):
        target.remove(backup_id)
    return tuple(sorted(doomed))


def list_backups(
    catalogs: Catalogs, specs: Sequence[TableSpec], policies: Mapping[str, MaintenancePolicy]
) -> dict[str, BackupListing]:
    """The observer: each table's complete backups on its policy's target."""
    listings: dict[str, BackupListing] = {}
    for spec in specs:
        policy = policies.get(spec.policy) if spec.policy is not None else None
        if policy is None or policy.backup is None:
            continue
        try:
            listings[spec.address] = BackupListing(target_of(spec, policy.backup).records())
        except (BackupError, OSError, ValueError, KeyError) as exc:
            listings[spec.address] = BackupListing(error=str(exc))
    return listings


def rule_of(op: ExportBackup) -> Backup:
    """The policy's backup section as the operation carries it."""
    return Backup(
        target=op.target,
        keep_last=op.keep_last,
        endpoint=op.endpoint,
        region=op.region,
        credentials=BackupCredentials(
            op.access_key_id_env, op.secret_access_key_env, op.session_token_env
        ),
    )


class BackupApplier:
    """Carries out `backup` lines from their `ExportBackup` operation: export, verify, prune."""

    def __init__(
        self,
        catalogs: Catalogs,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        rows_per_file: int = ROWS_PER_FILE,
    ) -> None:
        self._catalogs = catalogs
        self._clock = clock
        self._rows_per_file = rows_per_file

    def handles(self, change: Change) -> bool:
        return change.action is Action.BACKUP

    def serial_key(self, change: Change) -> str:
        return change.address

    def apply(self, change: Change) -> Outcome:
        ops = [op for op in change.operations if isinstance(op, ExportBackup)]
        if len(ops) != 1:
            raise PermanentError(f"{change.address}: a backup line carries one export_backup")
        op = ops[0]
        identifier = ".".join((op.catalog, *op.namespace, op.name))
        started = time.monotonic()
        try:
            target = table_target(rule_of(op), op.catalog, op.namespace, op.name)
            table = self._catalogs.get(op.catalog).load_table((*op.namespace, op.name))
            made = export(
                table, identifier, target, self._clock(), rows_per_file=self._rows_per_file
            )
            problems = verify(target, made.backup_id)
            if problems:
                raise BackupError(f"backup {made.backup_id} failed verification: {problems[0]}")
            removed = prune(target, op.keep_last, made.backup_id)
        except (BackupError, OSError) as exc:
            raise PermanentError(f"backup: {exc}") from None
        log.info(
            "backup.done",
            table=identifier,
            backup=made.backup_id,
            rows=made.rows,
            removed=list(removed),
        )
        message = f"backup {made.backup_id}: {made.rows} rows, {made.size} bytes to {made.location}"
        if removed:
            message += f"; removed {', '.join(removed)} (keepLast {op.keep_last})"
        return Outcome(
            change.address,
            change.action,
            Status.APPLIED,
            message,
            seconds=time.monotonic() - started,
            result=(
                ("backup_id", made.backup_id),
                ("rows", made.rows),
                ("bytes", made.size),
                ("removed", list(removed)),
            ),
        )

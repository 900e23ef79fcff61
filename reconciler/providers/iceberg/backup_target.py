"""A backup target (`file://` or `s3://`) through pyarrow's filesystems: layout, manifests,
listing and removal. A backup is complete once its manifest exists: it is written last."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import unquote, urlparse

from pyarrow import fs

from reconciler.model.backups import BackupRecord
from reconciler.model.policies import Backup

MANIFEST = "manifest.json"
FORMAT = "reconciler-backup/1"
ID_FORMAT = "%Y%m%dT%H%M%SZ"


class BackupError(RuntimeError):
    """A backup or restore that cannot be done; the message names what and why."""


def _env(env: Mapping[str, str], name: str | None, what: str) -> str | None:
    if name is None:
        return None
    value = env.get(name)
    if not value:
        raise BackupError(f"backup credentials: {what} names ${name}, which is not set")
    return value


def filesystem(rule: Backup, env: Mapping[str, str] | None = None) -> tuple[fs.FileSystem, str]:
    """The filesystem of `rule.target` and the target's root path on it."""
    parsed = urlparse(rule.target)
    if parsed.scheme == "file":
        return fs.LocalFileSystem(), unquote(parsed.path).rstrip("/") or "/"
    if parsed.scheme != "s3":
        raise BackupError(f"backup target {rule.target!r}: only file:// and s3:// are supported")
    values = os.environ if env is None else env
    creds = rule.credentials
    key = _env(values, creds.access_key_id_env, "access_key_id_env")
    secret = _env(values, creds.secret_access_key_env, "secret_access_key_env")
    token = _env(values, creds.session_token_env, "session_token_env")
    if (key is None) != (secret is None):
        raise BackupError(
            "backup credentials: give both access_key_id_env and secret_access_key_env"
        )
    options: dict[str, Any] = {"region": rule.region or "us-east-1"}
    if key is not None:
        options.update(access_key=key, secret_key=secret, session_token=token)
    if rule.endpoint:
        endpoint = urlparse(rule.endpoint)
        options.update(
            endpoint_override=endpoint.netloc,
            scheme=endpoint.scheme,
            force_virtual_addressing=False,
        )
    root = (parsed.netloc + parsed.path).rstrip("/")
    return fs.S3FileSystem(**options), root


@dataclass(frozen=True)
class Target:
    """One table's backups: `<target>/<catalog>/<namespace>/<table>/<backup id>/`."""

    filesystem: fs.FileSystem
    root: str  # path of the table's backups on `filesystem`
    uri: str  # the same, as a URI (for people and the manifest)

    def path(self, backup_id: str, *parts: str) -> str:
        return "/".join((self.root, backup_id, *parts))

    def uri_of(self, backup_id: str) -> str:
        return f"{self.uri}/{backup_id}"

    def write_bytes(self, path: str, data: bytes) -> None:
        with self.filesystem.open_output_stream(path) as out:
            out.write(data)

    def read_bytes(self, path: str) -> bytes:
        with self.filesystem.open_input_stream(path) as stream:
            data: bytes = stream.read()
            return data

    def ids(self) -> tuple[tuple[str, bool], ...]:
        """(backup id, complete) of every backup directory, oldest first."""
        selector = fs.FileSelector(self.root, allow_not_found=True)
        dirs = sorted(
            info.base_name
            for info in self.filesystem.get_file_info(selector)
            if info.type == fs.FileType.Directory
        )
        if not dirs:
            return ()
        manifests = self.filesystem.get_file_info([self.path(d, MANIFEST) for d in dirs])
        return tuple(
            (d, info.type == fs.FileType.File) for d, info in zip(dirs, manifests, strict=True)
        )

    def manifest(self, backup_id: str) -> dict[str, Any]:
        try:
            doc = json.loads(self.read_bytes(self.path(backup_id, MANIFEST)))
        except FileNotFoundError:
            raise BackupError(f"backup {backup_id!r} not found under {self.uri}") from None
        except (OSError, ValueError) as exc:
            raise BackupError(f"backup {backup_id!r}: manifest unreadable: {exc}") from None
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise BackupError(f"backup {backup_id!r}: not a {FORMAT} manifest")
        return doc

    def records(self) -> tuple[BackupRecord, ...]:
        """The complete backups, oldest first."""
        out: list[BackupRecord] = []
        for backup_id, complete in self.ids():
            if complete:
                out.append(record(self.manifest(backup_id), self.uri_of(backup_id)))
        return tuple(out)

    def remove(self, backup_id: str) -> None:
        # The manifest first: a removal cut short leaves an incomplete backup, never a
        # "complete" one with files missing.
        manifest = self.path(backup_id, MANIFEST)
        if self.filesystem.get_file_info(manifest).type == fs.FileType.File:
            self.filesystem.delete_file(manifest)
        self.filesystem.delete_dir(self.path(backup_id))


def record(doc: Mapping[str, Any], location: str) -> BackupRecord:
    return BackupRecord(
        backup_id=str(doc["backup_id"]),
        created=datetime.fromisoformat(str(doc["created"])),
        snapshot_id=doc.get("snapshot_id"),
        rows=int(doc["rows"]),
        size=int(doc["bytes"]),
        location=location,
        table=str(doc["table"]),
    )


def table_target(
    rule: Backup,
    catalog: str,
    namespace: tuple[str, ...],
    name: str,
    env: Mapping[str, str] | None = None,
) -> Target:
    filesys, root = filesystem(rule, env)
    tail = "/".join((catalog, ".".join(namespace), name))
    return Target(filesys, f"{root}/{tail}", f"{rule.target}/{tail}")

"""Tuning and cost of rewrite_data_files from a table's health, its policy and the cluster; pure.

Iceberg plans a binpack rewrite as file groups (at most `max-file-group-size-bytes` each),
and each group becomes one Spark job that writes ceil(group / target) files with one task
per output file. A small table in one group therefore runs as one task on one core, however
many cores the cluster has; splitting it into one group per core (each still big enough that
its output is not a small file again) and running them at once uses the cluster. Large tables
commit group by group (`partial-progress`) so a failure or a timeout keeps the work done.
Iceberg reads each group with its own split size and open-file cost (read options of the
rewrite), so Spark's `spark.sql.files.*` split settings would change nothing there.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from reconciler.diff.maintenance_time import approx_bytes
from reconciler.model.health import TableHealth
from reconciler.model.policies import Compaction

GIB = 1024**3
DEFAULT_CORES = 4  # when neither spark.cores nor the master/executor conf says
DEFAULT_PARTIAL_PROGRESS_BYTES = 10 * GIB  # tables rewriting more commit group by group
MAX_COMMITS = 10  # Iceberg's partial-progress.max-commits default, kept as the ceiling
ICEBERG_MAX_GROUP_BYTES = 100 * GIB  # Iceberg's max-file-group-size-bytes default
_LOCAL_MASTER = re.compile(r"local(?:\[(\d+)(?:,\d+)?\])?")


@dataclass(frozen=True)
class Cluster:
    """What the Spark side offers: `cores` (and where that figure came from) and the
    rewrite size from which partial progress is enabled."""

    cores: int = DEFAULT_CORES
    cores_from: str = "default"
    partial_progress_bytes: int = DEFAULT_PARTIAL_PROGRESS_BYTES


def cluster_of(
    master: str,
    conf: Mapping[str, str],
    cores: int | None = None,
    partial_progress_bytes: int | None = None,
) -> Cluster:
    """The cluster from the `spark:` config: `spark.cores`, else `local[N]`, else
    spark.executor.cores x spark.executor.instances, else spark.cores.max, else a default."""
    threshold = partial_progress_bytes or DEFAULT_PARTIAL_PROGRESS_BYTES
    if cores is not None:
        return Cluster(cores, "spark.cores", threshold)
    local = _LOCAL_MASTER.fullmatch(master)
    if local and local.group(1):
        return Cluster(max(1, int(local.group(1))), f"master {master}", threshold)
    if master == "local":
        return Cluster(1, "master local", threshold)
    executor, instances = conf.get("spark.executor.cores"), conf.get("spark.executor.instances")
    if executor and instances and executor.isdigit() and instances.isdigit():
        total = max(1, int(executor) * int(instances))
        return Cluster(total, "spark.executor.cores x spark.executor.instances", threshold)
    limit = conf.get("spark.cores.max")
    if limit and limit.isdigit():
        return Cluster(max(1, int(limit)), "spark.cores.max", threshold)
    return Cluster(DEFAULT_CORES, "default", threshold)


@dataclass(frozen=True)
class RewriteRun:
    """One past rewrite_data_files of a table: bytes rewritten and the procedure's seconds."""

    bytes: int
    seconds: float


@dataclass(frozen=True)
class Tuning:
    """The procedure options and Spark session conf chosen for one rewrite, and the
    number of file groups they make."""

    options: tuple[tuple[str, str], ...]
    session_conf: tuple[tuple[str, str], ...]
    groups: int


@dataclass(frozen=True)
class Estimate:
    """Cost and benefit of one rewrite: what it reads, what it leaves, how long it should take
    (median seconds per byte of the table's past rewrites; None: no history)."""

    bytes_to_rewrite: int
    files_to_rewrite: int
    files_after: int
    seconds: float | None = None
    history_runs: int = 0

    def to_dict(self) -> dict[str, int | float | None]:
        return {
            "bytes_to_rewrite": self.bytes_to_rewrite,
            "files_to_rewrite": self.files_to_rewrite,
            "files_after": self.files_after,
            "estimated_seconds": None if self.seconds is None else round(self.seconds, 1),
            "history_runs": self.history_runs,
        }

    def text(self) -> str:
        when = (
            "no history for an estimate"
            if self.seconds is None
            else f"about {_seconds(self.seconds)} (from {_runs(self.history_runs)})"
        )
        return (
            f"rewrites {self.files_to_rewrite} files ({approx_bytes(self.bytes_to_rewrite)})"
            f" into ~{self.files_after}; {when}"
        )


def _runs(count: int) -> str:
    return "its last rewrite" if count == 1 else f"the median of its last {count} rewrites"


def _seconds(value: float) -> str:
    if value < 60:
        return f"{value:.0f}s" if value >= 10 else f"{value:.1f}s"
    return f"{value / 60:.0f}m" if value < 3600 else f"{value / 3600:.1f}h"


def rewrite_bytes(health: TableHealth) -> int:
    """The bytes compaction reads: the small files' own size when health counted them, else
    the small-file count times the average file size (health read before sizes were kept)."""
    if health.small_file_bytes is not None:
        return health.small_file_bytes
    return (health.small_files or 0) * health.average_file_size


def tune(rule: Compaction, health: TableHealth, cluster: Cluster, *, sort: bool = False) -> Tuning:
    """Options for rewrite_data_files: one file group per core (never so small its output is
    a small file again), as many groups at once as cores, partial progress past the threshold;
    `sort`: the rewrite sorts (it shuffles, so shuffle partitions matter)."""
    size = rewrite_bytes(health)
    cores = max(1, cluster.cores)
    concurrency = rule.max_concurrent_file_groups or cores
    floor = max(rule.target_file_size, 2 * rule.small_file_size)
    # Groups of at least one target file (and never small output), in whole target files
    # (no small remainder), at most Iceberg's default.
    group = max(floor, math.ceil(size / cores))
    group = math.ceil(group / rule.target_file_size) * rule.target_file_size
    group = min(ICEBERG_MAX_GROUP_BYTES, group)
    groups = max(1, math.ceil(size / group)) if size else 1
    options: dict[str, str] = {
        "target-file-size-bytes": str(rule.target_file_size),
        # Only files under smallFileSize are candidates, and a partition with 2 of them is
        # rewritten (Iceberg's default needs 5), so the rewrite does what the trigger counted.
        "min-file-size-bytes": str(rule.small_file_size),
        "min-input-files": "2",
        "max-file-group-size-bytes": str(group),
        "max-concurrent-file-group-rewrites": str(concurrency),
    }
    if size >= cluster.partial_progress_bytes and groups > 1:
        options["partial-progress.enabled"] = "true"
        options["partial-progress.max-commits"] = str(min(MAX_COMMITS, groups))
    # Sort rewrites shuffle: one partition per core and output file is enough. Binpack does
    # not shuffle and sets no Spark conf: a call without any runs in the application's own
    # session (a session of its own costs a catalog and analyzer set-up on a cold JVM).
    conf = {"spark.sql.shuffle.partitions": str(max(cores, min(4 * cores, groups * 2)))}
    session_conf = tuple(sorted(conf.items())) if sort else ()
    return Tuning(tuple(sorted(options.items())), session_conf, groups)


def estimate(
    rule: Compaction, health: TableHealth, tuning: Tuning, history: Sequence[RewriteRun]
) -> Estimate:
    """Cost and benefit of the rewrite `tuning` makes; the duration from `history`."""
    size = rewrite_bytes(health)
    files_after = max(tuning.groups, math.ceil(size / rule.target_file_size)) if size else 0
    rates = [r.seconds / r.bytes for r in history if r.bytes > 0 and r.seconds >= 0]
    seconds = statistics.median(rates) * size if rates else None
    return Estimate(size, health.small_files or 0, files_after, seconds, len(rates))


def describe_tuning(tuning: Tuning, cluster: Cluster) -> str:
    """The values used, for the plan line's reason."""
    options = dict(tuning.options)
    text = (
        f"{tuning.groups} file group{'s' if tuning.groups != 1 else ''} of up to "
        f"{approx_bytes(int(options['max-file-group-size-bytes']))}, "
        f"{options['max-concurrent-file-group-rewrites']} at once "
        f"({cluster.cores} cores: {cluster.cores_from})"
    )
    if "partial-progress.enabled" in options:
        text += (
            f"; partial progress ({options['partial-progress.max-commits']} commits, "
            f"over {approx_bytes(cluster.partial_progress_bytes)})"
        )
    return text

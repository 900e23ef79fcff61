"""The PySpark script spark-submit runs: one table's CALL statements in order, results to JSON.

Run only by spark-submit (never imported by the daemon). It reads a 0600 job
file (calls, secret conf, result path), stops at the first failing call (the
executor skips a resource's later lines after a failure, so the two agree; a job
file may say `stop_on_failure: false` to run every call regardless), and
rewrites the result file after every call so a killed job still tells what ran.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from pyspark.sql import SparkSession

MAX_LISTED_FILES = 50  # remove_orphan_files may return thousands of rows
# A ValidationException is a conflict only when it says so ("Found conflicting files");
# others (e.g. gc.enabled=false) are permanent and must not be retried.
CONFLICT_MARKERS = (
    "CommitFailedException",
    "conflict",
    "Conflict",
    "CommitStateUnknownException",
    "database is locked",
)


def _plain(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool) or value is None else str(value)


def summarise(action: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """A procedure's result rows -> one flat JSON object."""
    if action == "remove_orphan_files":
        files = [str(r.get("orphan_file_location")) for r in rows]
        return {"orphan_files_count": len(files), "orphan_files": files[:MAX_LISTED_FILES]}
    if len(rows) == 1:
        return {k: _plain(v) for k, v in rows[0].items()}
    return {"rows": len(rows)}


def _error_text(exc: BaseException) -> str:
    text = str(exc).strip()
    java = getattr(exc, "java_exception", None)
    if java is not None:
        text = str(java).strip() or text
    lines = [line for line in text.splitlines() if line.strip()]
    return "\n".join(lines[:6])[:2000] or type(exc).__name__


def _write(path: str, results: list[dict[str, Any]]) -> None:
    with open(path, "w", encoding="utf-8") as out:
        json.dump({"results": results}, out)


def main(argv: list[str]) -> int:
    with open(argv[1], encoding="utf-8") as handle:
        job = json.load(handle)
    builder = SparkSession.builder.appName(job["app_name"])
    for key, value in job.get("secret_conf", {}).items():
        builder = builder.config(key, value)  # never on the command line (ps shows it)
    spark = builder.getOrCreate()
    results: list[dict[str, Any]] = []
    _write(job["result_file"], results)
    try:
        for call in job["calls"]:
            started = time.monotonic()
            try:
                rows = [row.asDict(recursive=True) for row in spark.sql(call["sql"]).collect()]
            except Exception as exc:  # reported per action; the next cycle retries
                error = _error_text(exc)
                results.append(
                    {
                        "action": call["action"],
                        "status": "failed",
                        "error": error,
                        "conflict": any(m in error for m in CONFLICT_MARKERS),
                        "seconds": round(time.monotonic() - started, 3),
                    }
                )
                _write(job["result_file"], results)
                if job.get("stop_on_failure", True):
                    break
                continue
            results.append(
                {
                    "action": call["action"],
                    "status": "ok",
                    "result": summarise(call["action"], rows),
                    "seconds": round(time.monotonic() - started, 3),
                }
            )
            _write(job["result_file"], results)
    finally:
        spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

"""A `pvesh` stand-in for tests: pvesh's command line and output, forwarded to the HTTPS simulator.

proxmoxer's `local` backend runs `pvesh {get|create|set|delete} /path -k v ... --output-format
json` and synthesises an HTTP status from the output. This program accepts exactly that argv,
logs in to the simulator as root@pam with a ticket (`POST /access/ticket`; tickets are root@pam,
so root-only options such as bind mounts pass) and performs the call. Configuration comes from
the environment: PVESH_SIM_URL (https://host:port), PVESH_SIM_CA (CA bundle of the simulator's
certificate) and PVESH_SIM_PASSWORD (root@pam password). Only the standard library is used, so a
wrapper can run this file directly with `python -P` without importing the simulator package.

What this relies on about the real pvesh (pve-manager PVE/CLI/pvesh.pm, pve-common
PVE/CLIHandler.pm, PVE/CLIFormatter.pm, PVE/RESTEnvironment.pm, PVE/Exception.pm):
- commands map create->POST, set->PUT, get->GET, delete->DELETE; options are `-k v` / `--k v`
  pairs; leading `--noproxy` / `--nooutput` are compatibility flags (`--nooutput` = no result).
- a path without a handler prints `No '<cmd>' handler defined for '<path>'` and exits 1.
- `--output-format json` prints the result as canonical (sorted keys), compact, UTF-8 JSON plus a
  newline; `json-pretty` indents; a method whose result is null prints nothing at all.
- handler errors are perl dies that reach the top level: the message goes to stderr and the exit
  status is 255. A PVE::Exception with a code stringifies as `<code> <message>` followed by one
  `<param>: <error>` line per parameter error; a plain die (HTTP 500) has no code prefix. pvesh
  also appends a usage text to parameter errors; this stand-in leaves it out.
- workers run in the foreground for the `cli` environment: the worker's output (task log) is
  copied to stdout while it runs, `TASK OK` is not printed, `TASK ERROR: <msg>` prints `<msg>` on
  stderr, `TASK WARNINGS: N` prints `Task finished with N warning(s)!` on stderr; the handler
  then returns the UPID, which is printed as the result. The exit status stays 0 even when the
  task failed (the worker's status is not turned into a die).
Simplifications: the task log is printed once the task has stopped, not streamed; `text` output
prints strings as-is and anything else as indented JSON instead of pvesh's tables.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import ssl
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TextIO
from urllib.parse import quote, urlencode, urlsplit

METHODS = {"get": "GET", "create": "POST", "set": "PUT", "delete": "DELETE"}
DIE_STATUS = 255  # perl's exit status for an uncaught die (when $! and $? are 0)
NO_HANDLER_STATUS = 1
UPID = re.compile(
    r"^UPID:[a-zA-Z0-9][a-zA-Z0-9-]*:[0-9A-Fa-f]{8}:[0-9A-Fa-f]{8,9}:[0-9A-Fa-f]{8}:"
    r"[^:\s]+:[^:\s]*:[^:\s]+:$"
)
_TASK_END = re.compile(r"^TASK (OK|ERROR: .*|WARNINGS: \d+)$")
_WARNINGS = re.compile(r"^WARNINGS: (\d+)$")
_FLAGS = {"quiet", "noproxy"}  # pvesh booleans that may come without a value


class UsageError(Exception):
    """The argv is not a pvesh call this stand-in understands."""


class SimError(Exception):
    """The simulator answered a request with an error status (or could not be reached)."""

    def __init__(self, status: int, message: str, errors: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = dict(errors or {})


@dataclass(frozen=True)
class Invocation:
    """One parsed pvesh command line."""

    command: str
    path: str
    params: tuple[tuple[str, str], ...]
    output_format: str = "text"
    quiet: bool = False

    @property
    def method(self) -> str:
        return METHODS[self.command]


def parse_argv(argv: Sequence[str]) -> Invocation:
    """`create /nodes/pve/lxc -vmid 100 ... --output-format json` -> Invocation."""
    args = list(argv)
    quiet = False
    while args and args[0] in ("--noproxy", "--nooutput"):
        quiet = quiet or args.pop(0) == "--nooutput"
    if len(args) < 2 or args[0] not in METHODS:
        raise UsageError("USAGE: pvesh {get|set|create|delete} <api_path> [OPTIONS]")
    command, path, rest = args[0], args[1], args[2:]
    params: list[tuple[str, str]] = []
    output_format = "text"
    i = 0
    while i < len(rest):
        token = rest[i]
        name = token.lstrip("-")
        if not token.startswith("-") or not name:
            raise UsageError(f"400 too many arguments: unexpected '{token}'")
        if "=" in name:
            name, value = name.split("=", 1)
            i += 1
        elif name in _FLAGS and (i + 1 == len(rest) or rest[i + 1].startswith("-")):
            value = "1"
            i += 1
        elif i + 1 < len(rest):
            value = rest[i + 1]
            i += 2
        else:
            raise UsageError(f"400 Parameter verification failed.\n{name}: missing value\n")
        if name == "output-format":
            output_format = value
        elif name == "quiet":
            quiet = quiet or value not in ("0", "")
        elif name != "noproxy":
            params.append((name, value))
    return Invocation(command, "/" + path.strip("/"), tuple(params), output_format, quiet)


class SimApi:
    """One keep-alive HTTPS connection to the simulator, logged in as root@pam with a ticket."""

    def __init__(self, url: str, ca_file: str | None, timeout: float = 30.0) -> None:
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname:
            raise SimError(500, f"PVESH_SIM_URL must be https://host:port, not {url!r}")
        context = ssl.create_default_context(cafile=ca_file or None)
        self._conn = http.client.HTTPSConnection(
            parts.hostname, parts.port or 8006, context=context, timeout=timeout
        )
        self._prefix = parts.path.rstrip("/") + "/api2/json"
        self._cookie = ""
        self._csrf = ""

    def login(self, password: str) -> None:
        data = self.call(
            "POST", "/access/ticket", (("username", "root@pam"), ("password", password))
        )
        if not isinstance(data, dict) or "ticket" not in data:
            raise SimError(500, "simulator login returned no ticket")
        self._cookie = f"PVEAuthCookie={data['ticket']}"
        self._csrf = str(data.get("CSRFPreventionToken", ""))

    def call(self, method: str, path: str, params: Sequence[tuple[str, str]] = ()) -> Any:
        """One API call; returns `data` or raises SimError with PVE's status and message."""
        target = self._prefix + quote(path, safe="/:@!=,")
        headers = {"Accept": "application/json"}
        if self._cookie:
            headers["Cookie"] = self._cookie
        body: str | None = None
        if method in ("POST", "PUT"):
            body = urlencode(list(params))
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            if self._csrf:
                headers["CSRFPreventionToken"] = self._csrf
        elif params:
            target += "?" + urlencode(list(params))
        try:
            self._conn.request(method, target, body=body, headers=headers)
            response = self._conn.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException) as exc:
            raise SimError(500, f"pvesh stand-in: simulator unreachable: {exc}") from exc
        try:
            doc = json.loads(raw.decode("utf-8")) if raw else {}
        except ValueError:
            doc = {}
        if not isinstance(doc, dict):
            doc = {}
        if response.status >= 400:
            message = str(doc.get("message") or response.reason or "").rstrip("\n")
            errors = doc.get("errors") if isinstance(doc.get("errors"), dict) else None
            raise SimError(response.status, message, errors)
        return doc.get("data")

    def close(self) -> None:
        self._conn.close()


def die_text(error: SimError) -> str:
    """How pvesh prints an uncaught PVE exception (or a plain die for 500)."""
    text = error.message if error.status == 500 else f"{error.status} {error.message}"
    text = text.rstrip("\n") + "\n"
    for key, value in error.errors.items():
        text += f"{key}: {value}\n"
    return text


def follow_task(
    api: SimApi,
    upid: str,
    out: TextIO,
    err: TextIO,
    poll_first: float = 0.02,
    poll_max: float = 0.5,
) -> str:
    """Wait for the worker like pvesh's foreground fork_worker; returns its exitstatus."""
    node = upid.split(":")[1]
    base = f"/nodes/{node}/tasks/{upid}"
    interval = poll_first
    while True:
        status = api.call("GET", f"{base}/status")
        if isinstance(status, dict) and status.get("status") == "stopped":
            break
        time.sleep(interval)
        interval = min(interval * 2, poll_max)
    rows = api.call("GET", f"{base}/log", (("start", "0"), ("limit", "0")))
    lines = [
        str(row.get("t", ""))
        for row in sorted(
            (r for r in rows or [] if isinstance(r, dict)), key=lambda r: int(r.get("n", 0))
        )
    ]
    if lines == ["no content"]:
        lines = []
    if lines and _TASK_END.match(lines[-1]):
        lines.pop()  # the control message: pvesh reports it on stderr (or not at all)
    for line in lines:
        out.write(line + "\n")
    out.flush()
    exitstatus = str(status.get("exitstatus", "unexpected status"))
    warnings = _WARNINGS.match(exitstatus)
    if warnings:
        err.write(f"Task finished with {warnings.group(1)} warning(s)!\n")
    elif exitstatus != "OK":
        err.write(exitstatus.replace("\n", " ") + "\n")
    return exitstatus


def print_result(data: Any, output_format: str, out: TextIO) -> None:
    """CLIFormatter::print_api_result for the formats proxmoxer and people use."""
    if data is None:
        return
    if output_format == "json":
        out.write(json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False))
    elif output_format == "json-pretty" or not isinstance(data, str):
        out.write(json.dumps(data, sort_keys=True, indent=3, ensure_ascii=False))
    else:
        out.write(data)
    out.write("\n")
    out.flush()


def run(argv: Sequence[str], env: Mapping[str, str], out: TextIO, err: TextIO) -> int:
    """The whole pvesh call; returns the exit status."""
    try:
        inv = parse_argv(argv)
    except UsageError as exc:
        err.write(str(exc).rstrip("\n") + "\n")
        return DIE_STATUS
    url, password = env.get("PVESH_SIM_URL", ""), env.get("PVESH_SIM_PASSWORD", "")
    if not url or not password:
        err.write("pvesh stand-in: PVESH_SIM_URL and PVESH_SIM_PASSWORD must be set\n")
        return DIE_STATUS
    api: SimApi | None = None
    try:
        api = SimApi(url, env.get("PVESH_SIM_CA"))
        api.login(password)
        data = api.call(inv.method, inv.path, inv.params)
        if inv.method != "GET" and isinstance(data, str) and UPID.match(data):
            follow_task(api, data, out, err)
    except SimError as exc:
        if exc.status == 501:  # no such API method: pvesh refuses before calling anything
            err.write(f"No '{inv.command}' handler defined for '{inv.path}'\n")
            return NO_HANDLER_STATUS
        err.write(die_text(exc))
        return DIE_STATUS
    finally:
        if api is not None:
            api.close()
    if not inv.quiet:
        print_result(data, inv.output_format, out)
    return 0


def main() -> None:
    """Entry point: `python -P .../pvesh.py ARGS` or `python -m reconciler.testing.pvesim.pvesh`."""
    sys.exit(run(sys.argv[1:], os.environ, sys.stdout, sys.stderr))


if __name__ == "__main__":
    main()

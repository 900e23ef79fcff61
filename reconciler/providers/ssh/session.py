"""One SSH session to a CT (paramiko): host keys pinned in a known_hosts file, scripts sent
over the channel's stdin with their env values, never on the remote command line."""

from __future__ import annotations

import base64
import secrets
import shlex
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import paramiko

from reconciler.apply.errors import PermanentError, TransientError
from reconciler.settings import ProvisionSettings

MAX_OUTPUT = 1024 * 1024  # bytes of a step's output kept; the rest is counted, not stored
KILL_AFTER = 2  # seconds between the remote TERM and KILL of a timed-out step
TIMED_OUT = (124, 137)  # coreutils timeout's exit after TERM, after KILL


class HostKeyRefused(PermanentError):
    """The CT's host key is not the one pinned in known_hosts (or none is pinned)."""


@dataclass(frozen=True)
class StepRun:
    exit_code: int | None  # None: timed out
    output: bytes
    seconds: float
    truncated: int = 0  # bytes of output beyond MAX_OUTPUT
    killed: bool = False  # timed out and the remote process group was killed


def public_key_line(key_file: str) -> str:
    """`<type> <base64> reconciler` of the private key in `key_file`."""
    key = _load_key(key_file)
    return f"{key.get_name()} {key.get_base64()} reconciler"


def _load_key(key_file: str) -> paramiko.PKey:
    try:
        return paramiko.PKey.from_path(key_file)
    except (OSError, paramiko.SSHException) as exc:
        raise PermanentError(f"provision.key_file {key_file}: {exc}") from None


class Session:
    """A connected SSHClient; use as a context manager."""

    def __init__(self, host: str, cfg: ProvisionSettings) -> None:
        self.host = host
        self.cfg = cfg
        self._client = paramiko.SSHClient()
        if not Path(cfg.known_hosts_file).is_file():
            raise HostKeyRefused(f"known_hosts file {cfg.known_hosts_file} does not exist")
        self._client.load_host_keys(cfg.known_hosts_file)  # only ours, never ~/.ssh
        self._client.set_missing_host_key_policy(paramiko.RejectPolicy())

    def __enter__(self) -> Session:
        where = f"{self.cfg.user}@{self.host}:{self.cfg.port}"
        try:
            self._client.connect(
                self.host,
                port=self.cfg.port,
                username=self.cfg.user,
                pkey=_load_key(self.cfg.key_file),
                timeout=self.cfg.connect_timeout,
                banner_timeout=self.cfg.connect_timeout,
                auth_timeout=self.cfg.connect_timeout,
                allow_agent=False,
                look_for_keys=False,
            )
        except paramiko.BadHostKeyException as exc:
            raise HostKeyRefused(
                f"{where}: host key changed ({exc.key.get_name()} "
                f"{exc.key.fingerprint}); not in {self.cfg.known_hosts_file}; refused"
            ) from None
        except paramiko.AuthenticationException as exc:
            raise PermanentError(f"{where}: authentication failed: {exc}") from None
        except paramiko.SSHException as exc:
            if "not found in known_hosts" in str(exc):
                raise HostKeyRefused(
                    f"{where}: unknown host key (not pinned in {self.cfg.known_hosts_file}); "
                    "refused"
                ) from None
            raise TransientError(f"{where}: {exc}") from None
        except (TimeoutError, OSError) as exc:
            raise TransientError(f"{where}: cannot connect: {exc}") from None
        return self

    def __exit__(self, *exc: object) -> None:
        self._client.close()

    def run(
        self,
        program: bytes,
        run_as: str | None,
        timeout: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> StepRun:
        """Run `program` (a POSIX sh program) read from stdin, as `run_as` via sudo when it is
        not the login user; output (stdout and stderr together) captured up to MAX_OUTPUT.

        The remote side enforces `timeout`: coreutils `timeout` puts itself in a process group
        of its own and on expiry signals the whole group (TERM, then KILL after KILL_AFTER s),
        so the script and its children end. It needs no pty, no second channel and no
        privilege (the login user signals its own processes; sudo relays the signal to a
        runAs user's), and it works even when the connection drops mid-step. The local wait
        is only a backstop for a remote that does not answer."""
        limit = f"{max(timeout, 0.1):g}"
        command = f"timeout -k {KILL_AFTER} {limit} sh -s"
        if run_as and run_as != self.cfg.user:
            command = (
                f"timeout -k {KILL_AFTER} {limit} sudo -n -H -u {shlex.quote(run_as)} -- sh -s"
            )
        backstop = timeout + KILL_AFTER + 10
        transport = self._client.get_transport()
        if transport is None:
            raise TransientError(f"{self.host}: SSH connection lost")
        channel = transport.open_session(timeout=self.cfg.connect_timeout)
        started = clock()
        try:
            channel.set_combine_stderr(True)
            channel.settimeout(0.2)
            channel.exec_command(command)
            channel.sendall(program)
            channel.shutdown_write()
            output = bytearray()
            truncated = 0
            while True:
                try:
                    chunk = channel.recv(65536)
                except TimeoutError:
                    chunk = None
                if chunk:
                    keep = max(0, MAX_OUTPUT - len(output))
                    output += chunk[:keep]
                    truncated += len(chunk) - min(len(chunk), keep)
                elif chunk == b"":  # EOF: the exit status follows
                    if channel.exit_status_ready():
                        break
                    channel.status_event.wait(0.2)
                if clock() - started > backstop:
                    return StepRun(None, bytes(output), clock() - started, truncated)
            code = channel.recv_exit_status()
            seconds = clock() - started
            if code in TIMED_OUT and seconds >= timeout:
                return StepRun(None, bytes(output), seconds, truncated, killed=True)
            return StepRun(code, bytes(output), seconds, truncated)
        finally:
            channel.close()


def script_program(content: bytes, args: Sequence[str], env: Mapping[str, str]) -> bytes:
    """A sh program that writes `content` to a private temp file and runs it with `args` and
    `env` exported; values travel in this program (the channel's stdin), never on a command
    line. The script itself reads /dev/null as its stdin."""
    lines = ["set -e", "umask 077"]
    lines += [f"export {name}={shlex.quote(value)}" for name, value in sorted(env.items())]
    encoded = base64.b64encode(content).decode()
    lines += [
        'tmp=$(mktemp "${TMPDIR:-/tmp}/reconciler-step.XXXXXX")',
        "trap 'rm -f \"$tmp\"' EXIT",
        f"printf '%s' '{encoded}' | base64 -d > \"$tmp\"",
        'chmod 700 "$tmp"',
        "set +e",
        f'"$tmp" {" ".join(shlex.quote(a) for a in args)} </dev/null',
        "exit $?",
    ]
    return ("\n".join(lines) + "\n").encode()


def authorized_keys_program(path: str, keys: Sequence[str]) -> bytes:
    """A sh program replacing the login user's authorized_keys (relative: to its home)."""
    marker = "RECONCILER_KEYS_" + secrets.token_hex(8)
    target = path if path.startswith("/") else f"$HOME/{path}"
    body = "\n".join(keys)
    return (
        "set -e\numask 077\n"
        f'target="{target}"\n'
        'mkdir -p "$(dirname "$target")"\n'
        f"cat > \"$target.new\" <<'{marker}'\n{body}\n{marker}\n"
        'mv "$target.new" "$target"\n'
    ).encode()

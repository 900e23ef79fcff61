"""The sh programs sent over the SSH channel, run here by a real `sh -s`: args and env values
arrive intact whatever their characters, the script's exit code is the program's."""

from __future__ import annotations

import subprocess
from pathlib import Path

from reconciler.providers.ssh.applier import authorized_keys
from reconciler.providers.ssh.session import authorized_keys_program, script_program


def _run(program: bytes, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["sh", "-s"], input=program, capture_output=True, cwd=cwd, timeout=30, check=False
    )


def test_args_and_env_values_arrive_intact_and_the_exit_code_is_the_scripts(
    tmp_path: Path,
) -> None:
    script = b'#!/bin/sh\nprintf "%s|" "$@" > out\nprintf "%s" "$PW" > pw\nexit 7\n'
    awkward = ["it's", "$(touch pwned)", "a b", "--x=1;rm -rf /"]
    value = "p@ss'w\"ord $HOME `id`"
    done = _run(script_program(script, awkward, {"PW": value}), tmp_path)
    assert done.returncode == 7, done.stderr
    assert (tmp_path / "out").read_text() == "|".join(awkward) + "|"
    assert (tmp_path / "pw").read_text() == value
    assert not (tmp_path / "pwned").exists()


def test_a_script_without_shebang_runs_and_its_temp_file_is_removed(tmp_path: Path) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    program = b"export TMPDIR=" + str(temp).encode() + b"\n"
    program += script_program(b"echo plain\n", [], {})
    done = _run(program, tmp_path)
    assert done.returncode == 0 and done.stdout == b"plain\n", done.stderr
    assert list(temp.iterdir()) == []


def test_authorized_keys_keep_the_reconcilers_key_first_and_each_key_once(tmp_path: Path) -> None:
    own = "ssh-ed25519 AAAAown reconciler"
    keys = authorized_keys(own, ("ssh-ed25519 AAAAone alice", "ssh-ed25519 AAAAown again"))
    assert keys == [own, "ssh-ed25519 AAAAone alice"]
    target = tmp_path / "auth" / "keys"
    done = _run(authorized_keys_program(str(target), keys), tmp_path)
    assert done.returncode == 0, done.stderr
    assert target.read_text() == own + "\nssh-ed25519 AAAAone alice\n"
    assert target.stat().st_mode & 0o077 == 0

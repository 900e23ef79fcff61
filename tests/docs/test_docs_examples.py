"""Every fenced example in README.md and docs/ is exercised, so the docs cannot drift.

Commands are parsed by the real parsers (or run for real), YAML is loaded by the real config
and spec loaders, JSON is parsed (and loaded where a loader takes it), Python examples run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.cli.parser import build_parser as _parser
from reconciler.sources import load_desired
from reconciler.sources.config import load_settings
from reconciler.testing.pvesim import PveSim
from reconciler.testing.pvesim.cli import parse_args as pvesim_args
from tests.docs.fences import ROOT, Block, Command, blocks, commands

SPEC_KINDS = {
    "Container": "containers", "Table": "tables", "MaintenancePolicy": "policies",
    "Defaults": "defaults",
}  # fmt: skip
CONFIG_KEYS = {
    "specs", "state_dir", "proxmox", "apply", "catalogs", "spark", "source", "daemon", "provision",
}  # fmt: skip
# Tools of the host, not ours: their lines are shown for people and run by them.
HOST_TOOLS = {
    "adduser", "git", "cd", "python3", "install", "systemctl", "journalctl", "curl",
    "systemd-analyze", "$EDITOR", "export", "mvn", "lint-imports",
}  # fmt: skip


def _program(argv: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    """(program name, its arguments), past `sudo -u USER` and a venv path."""
    args = list(argv)
    if args[:1] == ["sudo"]:
        args = args[3:] if args[1:2] == ["-u"] else args[1:]
    if not args:
        return "", ()
    return Path(args[0]).name if "/bin/" in args[0] else args[0], tuple(args[1:])


def _reconcile_commands() -> list[Command]:
    return [c for c in commands() if _program(c.argv)[0] == "reconcile"]


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _flags(parser: argparse.ArgumentParser) -> set[str]:
    return set(parser._option_string_actions)


def test_the_docs_have_examples() -> None:
    """The collection itself works: a broken fence parser would make every test vacuous."""
    assert len(_reconcile_commands()) >= 20
    assert len(blocks("yaml")) >= 8
    assert len(blocks("json")) >= 2


@pytest.mark.parametrize("command", _reconcile_commands(), ids=lambda c: c.where)
def test_reconcile_command_lines_parse(command: Command) -> None:
    """Every `reconcile ...` line of the docs is accepted by the real argument parser."""
    _, args = _program(command.argv)
    parser = _parser()
    if command.synopsis:  # a usage line: each flag must exist on its subcommand
        subs = _subparsers(parser)
        name = next((a for a in args if a in subs), None)
        known = _flags(parser) | (_flags(subs[name]) if name else set())
        flags = {a.strip("[]|").split("=")[0] for a in args if a.strip("[|").startswith("--")}
        for part in list(flags):
            flags |= {p for p in part.split("|") if p.startswith("--")}
            flags.discard(part) if "|" in part else None
        missing = sorted(f for f in flags if f not in known)
        assert not missing, f"{command.where}: {' '.join(command.argv)}: unknown {missing}"
        return
    try:
        parser.parse_args(list(args))
    except SystemExit as exc:
        if exc.code == 0:  # --help / --version print and exit 0: accepted
            return
        pytest.fail(f"{command.where}: `{' '.join(command.argv)}` is refused (exit {exc.code})")


def _other_commands() -> list[Command]:
    return [c for c in commands() if _program(c.argv)[0] not in ("reconcile", "")]


@pytest.mark.parametrize("command", _other_commands(), ids=lambda c: c.where)
def test_other_command_lines_name_real_things(command: Command) -> None:
    """Our modules parse their options; installs name extras that exist; paths exist."""
    program, args = _program(command.argv)
    if program.endswith("python") and args[:2] == ("-m", "reconciler.testing.pvesim"):
        pvesim_args(list(args[2:]))
    elif program.endswith("python") and args[:1] == ("-m",):
        module = args[1]
        done = subprocess.run(
            [sys.executable, "-m", module, "--help"], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, f"{command.where}: python -m {module}: {done.stderr}"
    elif program.endswith("pip"):
        extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
            "optional-dependencies"
        ]
        for arg in args:
            if arg.startswith(".["):
                wanted = arg[2:].rstrip("]").split(",")
                missing = [e for e in wanted if e not in extras]
                assert not missing, f"{command.where}: no extra {missing} in pyproject.toml"
    elif program in ("bash", "sh") or program.startswith(("scripts/", ".ci/")):
        script = args[0] if program in ("bash", "sh") else program
        assert (ROOT / script).is_file(), f"{command.where}: {script} does not exist"
    else:
        assert program in HOST_TOOLS, f"{command.where}: what runs `{program}`?"
    for arg in args:  # repository files named on the line
        if arg.startswith(("systemd/", "scripts/", "specs/", "schemas/")):
            assert (ROOT / arg).exists(), f"{command.where}: {arg} does not exist"


def _yaml_docs(block: Block) -> list[Any]:
    try:
        return [d for d in yaml.safe_load_all(block.text) if d is not None]
    except yaml.YAMLError as exc:
        pytest.fail(f"{block.where}: not YAML: {exc}")


def _spec_blocks() -> list[Block]:
    return [b for b in blocks("yaml") if any(_is_spec(d) for d in _yaml_docs(b))]


def _is_spec(doc: Any) -> bool:
    return isinstance(doc, dict) and doc.get("apiVersion") == "reconciler/v1"


def _is_config(doc: Any) -> bool:
    return isinstance(doc, dict) and bool(doc) and set(doc) <= CONFIG_KEYS


@pytest.mark.parametrize("block", blocks("yaml"), ids=lambda b: b.where)
def test_yaml_examples_load(block: Block, tmp_path: Path) -> None:
    """Config examples load as config; spec examples and fragments validate inside the
    shipped example tree (so cross-spec references resolve)."""
    for doc in _yaml_docs(block):
        if _is_spec(doc) and doc.get("spec") == {"...": None}:
            continue  # the envelope sketch of docs/specs.md: `spec: {...}`
        if _is_spec(doc):
            _assert_specs_valid(tmp_path, [doc], block)
        elif _is_config(doc):
            path = tmp_path / "reconciler.yaml"
            path.write_text(yaml.safe_dump(doc))
            load_settings(path)  # raises ConfigError with every problem located
        elif isinstance(doc, dict) and set(doc) == {"window"}:
            _assert_specs_valid(tmp_path, [_policy_with(doc)], block)
        elif isinstance(doc, dict) and set(doc) == {"spec"}:
            _assert_specs_valid(tmp_path, [_container_with(doc["spec"])], block)
        else:
            pytest.fail(f"{block.where}: a YAML example no test knows how to load: {doc!r}")


def _policy_with(fragment: dict[str, Any]) -> dict[str, Any]:
    policy = yaml.safe_load((ROOT / "specs" / "policies" / "standard.yaml").read_text())
    policy["spec"].update(fragment)
    return dict(policy)


def _container_with(fragment: dict[str, Any]) -> dict[str, Any]:
    container = yaml.safe_load((ROOT / "specs" / "containers" / "minio.yaml").read_text())
    container["spec"].update(fragment)
    return dict(container)


def _assert_specs_valid(tmp_path: Path, docs: list[Any], block: Block) -> None:
    tree = tmp_path / "specs"
    if tree.exists():
        shutil.rmtree(tree)
    shutil.copytree(ROOT / "specs", tree)
    for doc in docs:
        folder = tree / SPEC_KINDS[doc["kind"]]
        for existing in folder.glob("*.yaml"):  # the example replaces its namesake
            names = [
                d.get("metadata", {}).get("name")
                for d in yaml.safe_load_all(existing.read_text())
                if d
            ]
            if doc["metadata"]["name"] in names:
                existing.unlink()
        (folder / f"doc-{doc['metadata']['name']}.yaml").write_text(yaml.safe_dump(doc))
    result = load_desired(tree)
    assert not result.errors, f"{block.where}:\n" + "\n".join(str(e) for e in result.errors)


@pytest.mark.parametrize("block", blocks("json"), ids=lambda b: b.where)
def test_json_examples_parse(block: Block, tmp_path: Path) -> None:
    """JSON examples are JSON; a simulator seed example starts a simulator."""
    try:
        doc = json.loads(block.text)
    except ValueError as exc:
        pytest.fail(f"{block.where}: not JSON: {exc}")
    if isinstance(doc, dict) and "guests" in doc and "nodes" in doc:
        seed = tmp_path / "seed.json"
        seed.write_text(block.text)
        with PveSim(seed_file=seed) as sim:
            vmids = {g["vmid"] for g in sim.api().cluster.resources.get(type="vm")}
        assert vmids == {g["vmid"] for g in doc["guests"]}


def _python_blocks() -> list[Block]:
    return blocks("python")


@pytest.mark.parametrize("block", _python_blocks(), ids=lambda b: b.where)
def test_python_examples_run(block: Block, tmp_path: Path) -> None:
    """Scripts run as scripts; pytest examples run under pytest with our plugin."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if "def test_" in block.text or "pytest_plugins" in block.text:
        if "def test_" not in block.text:
            return  # the one-line plugin declaration: exercised by the test file below
        test_file = tmp_path / "test_doc_example.py"
        test_file.write_text(
            'pytest_plugins = ["reconciler.testing.pvesim.fixtures"]\n' + block.text
        )
        argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test_file)]
    else:
        script = tmp_path / "example.py"
        script.write_text(block.text)
        argv = [sys.executable, str(script)]
    done = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{block.where}:\n{done.stdout}\n{done.stderr}"


def test_validate_examples_run_for_real(tmp_path: Path) -> None:
    """docs/specs.md's `reconcile validate` lines, run in a copy of the repository layout."""
    shutil.copytree(ROOT / "specs", tmp_path / "specs")
    for args in (["validate"], ["validate", "specs/"]):
        done = subprocess.run(
            [sys.executable, "-m", "reconciler.cli", *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert ": valid (" in done.stdout

"""Spec trees are bounded (issue 14): symlinks out of the tree or to non-regular files, FIFOs,
symlinked directories and files or trees over the caps are refused by `validate` and by the
daemon's snapshot, each naming the path, before anything is read."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sources_spec_files import container

from reconciler.sources.snapshot import SnapshotRefused, snapshot_dir
from reconciler.sources.tree import MAX_FILE_BYTES, MAX_TREE_BYTES
from reconciler.sources.validate import validate


def _tree(tmp_path: Path) -> Path:
    specs = tmp_path / "specs"
    (specs / "containers").mkdir(parents=True)
    (specs / "containers" / "a.yaml").write_text(container("a", 300, "192.168.4.5"))
    (specs / "library").mkdir()
    (specs / "library" / "b.txt").write_text(container("b", 301, "192.168.4.6"))
    (specs / "containers" / "b.yaml").symlink_to("../library/b.txt")  # inside the tree: fine
    return specs


def _sparse(path: Path, size: int) -> None:
    with path.open("wb") as handle:
        handle.truncate(size)  # the size without the disk


def _bad(specs: Path, outside: Path, dev_zero: bool = True) -> dict[str, str]:
    """Each bad entry -> the message naming it. No /dev/zero for the snapshot: if the defect
    came back, the copy would fill the disk (a FIFO makes it fail instead)."""
    os.mkfifo(outside / "fifo")
    os.mkfifo(specs / "pipe.yaml")
    if dev_zero:
        (specs / "zero.yaml").symlink_to("/dev/zero")
    (specs / "passwd.yaml").symlink_to("/etc/passwd")
    (specs / "fifo.yaml").symlink_to(outside / "fifo")
    (specs / "shared").symlink_to(outside, target_is_directory=True)
    (specs / "dangling.yaml").symlink_to(specs / "nowhere.yaml")
    _sparse(specs / "big.yaml", MAX_FILE_BYTES + 1)
    expected = {
        "pipe.yaml": "not a regular file (device, FIFO or socket); refused",
        "zero.yaml": "symlink leaves the specs tree (-> /dev/zero); refused",
        "passwd.yaml": "symlink leaves the specs tree (-> /etc/passwd); refused",
        "fifo.yaml": f"symlink leaves the specs tree (-> {outside / 'fifo'}); refused",
        "shared": f"symlink to a directory (-> {outside}); refused",
        "dangling.yaml": "symlink target does not exist",
        "big.yaml": "file is larger than 1024 KiB; refused",
    }
    if not dev_zero:
        del expected["zero.yaml"]
    return expected


def test_validate_names_every_unbounded_entry(tmp_path: Path) -> None:
    specs = _tree(tmp_path)
    (tmp_path / "out").mkdir()
    expected = _bad(specs, tmp_path / "out")
    errors = {Path(e.file).name: f"{e.line}: {e.message}" for e in validate(specs)}
    for name, message in expected.items():
        assert errors.get(name, "").startswith("1: " + message), (name, errors.get(name))
    assert "a.yaml" not in errors and "b.yaml" not in errors


def test_the_snapshot_refuses_the_same_entries_and_copies_nothing(tmp_path: Path) -> None:
    specs = _tree(tmp_path)
    (tmp_path / "out").mkdir()
    expected = _bad(specs, tmp_path / "out", dev_zero=False)
    with pytest.raises(SnapshotRefused) as refused:
        snapshot_dir(specs, tmp_path / "work")
    for name, message in expected.items():
        assert f"{specs / name}:1: {message}" in str(refused.value)
    assert not (tmp_path / "work").exists() or not any((tmp_path / "work").iterdir())


def test_a_tree_over_its_cap_is_refused(tmp_path: Path) -> None:
    specs = _tree(tmp_path)
    for index in range(MAX_TREE_BYTES // MAX_FILE_BYTES + 1):
        _sparse(specs / f"blob{index}.bin", MAX_FILE_BYTES)
    message = f"{specs}:1: the files hold more than 64 MiB; refused"
    assert message in [str(e) for e in validate(specs)]
    with pytest.raises(SnapshotRefused, match="more than 64 MiB"):
        snapshot_dir(specs, tmp_path / "work")


def test_a_good_tree_is_copied_with_links_inside_it_as_files(tmp_path: Path) -> None:
    specs = _tree(tmp_path)
    revision, copy = snapshot_dir(specs, tmp_path / "work")
    alias = copy / "containers" / "b.yaml"
    assert not alias.is_symlink()
    assert alias.read_text() == (specs / "library" / "b.txt").read_text()
    assert revision == snapshot_dir(specs, tmp_path / "work2")[0]
    assert validate(copy) == ()

"""`.env` files: parsed like a shell would read them, refused when others can read them,
never overriding what the environment already says."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.sources.dotenv import DotenvError, load_dotenv, parse_dotenv


def test_parse_keys_quotes_comments_and_export() -> None:
    text = "# secrets\nexport PVE_TOKEN_SECRET='a b#c'\nGITEA_TOKEN=abc # note\n\nEMPTY=\nQ=\"x\"\n"
    assert parse_dotenv(text, ".env") == {
        "PVE_TOKEN_SECRET": "a b#c",
        "GITEA_TOKEN": "abc",
        "EMPTY": "",
        "Q": "x",
    }
    with pytest.raises(DotenvError, match=r"\.env:2: expected KEY=value"):
        parse_dotenv("A=1\nnot a line\n", ".env")


def test_load_sets_only_missing_variables(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text("PVE_TOKEN_SECRET=from-file\nWEBHOOK_SECRET=w\n")
    path.chmod(0o600)
    environ = {"WEBHOOK_SECRET": "from-systemd"}
    assert load_dotenv(path, environ) == ("PVE_TOKEN_SECRET",)
    assert environ == {"WEBHOOK_SECRET": "from-systemd", "PVE_TOKEN_SECRET": "from-file"}
    assert load_dotenv(tmp_path / "missing.env", environ) == ()


def test_a_readable_file_is_refused_without_echoing_it(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text("PVE_TOKEN_SECRET=s3cr3t\n")
    path.chmod(0o644)
    with pytest.raises(DotenvError) as caught:
        load_dotenv(path, {})
    assert "chmod 600" in str(caught.value) and "s3cr3t" not in str(caught.value)


def test_errors_name_the_line_past_blank_lines_and_dollars_stay_literal() -> None:
    with pytest.raises(DotenvError, match=r"^\.env:4: expected KEY=value$"):
        parse_dotenv("A=1\n\n\nBARE\n", ".env")
    assert parse_dotenv("T=a$b${C}\n", ".env") == {"T": "a$b${C}"}

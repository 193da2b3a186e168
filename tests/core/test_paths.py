"""Server paths the dashboard may read: under the allowed roots, symlinks resolved."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from core.data.paths import ROOTS_ENV_VAR, allowed_roots, check_allowed
from core.data.workspace import HOME_ENV_VAR
from core.errors import IngestError, PathNotAllowedError


@pytest.fixture
def layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Two data roots, a workspace home and a folder outside all of them."""
    folders = {name: tmp_path / name for name in ("data", "more", "home", "outside")}
    for folder in folders.values():
        folder.mkdir()
    monkeypatch.setenv(HOME_ENV_VAR, str(folders["home"]))
    monkeypatch.setenv(ROOTS_ENV_VAR, f"{folders['data']}{os.pathsep}{folders['more']}")
    (folders["data"] / "events.csv").write_text("user_id,item_id\nu1,i1\n")
    (folders["outside"] / "secret.txt").write_text("root:$6$hash:19000\n")
    return folders


def test_roots_are_the_workspace_home_and_the_setting(layout: dict[str, Path]) -> None:
    assert allowed_roots() == [
        layout["home"].resolve(),
        layout["data"].resolve(),
        layout["more"].resolve(),
    ]


def test_default_roots_are_the_start_directory_and_the_user_home(
    layout: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ROOTS_ENV_VAR)
    monkeypatch.chdir(layout["data"])
    monkeypatch.setenv("HOME", str(layout["more"]))
    assert allowed_roots() == [
        layout["home"].resolve(),
        layout["data"].resolve(),
        layout["more"].resolve(),
    ]


def test_a_start_directory_at_the_filesystem_root_is_not_a_default_root(
    layout: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ROOTS_ENV_VAR, "")
    monkeypatch.chdir("/")
    monkeypatch.setenv("HOME", str(layout["more"]))
    assert Path("/") not in allowed_roots()
    with pytest.raises(PathNotAllowedError):
        check_allowed("/etc/passwd")


def test_a_file_under_a_root_is_returned_resolved(layout: dict[str, Path]) -> None:
    target = layout["data"] / "events.csv"
    assert check_allowed(layout["data"] / "sub" / ".." / "events.csv") == target.resolve()
    assert check_allowed(str(target)) == target.resolve()


def test_the_workspace_home_is_allowed(layout: dict[str, Path]) -> None:
    inside = layout["home"] / "default" / "export.csv"
    assert check_allowed(inside) == inside.resolve()


@pytest.mark.parametrize("path", ["/etc/shadow", "/etc/passwd", "/proc/self/environ"])
def test_system_files_are_refused_naming_the_setting(layout: dict[str, Path], path: str) -> None:
    with pytest.raises(PathNotAllowedError, match=ROOTS_ENV_VAR) as caught:
        check_allowed(path)
    assert isinstance(caught.value, IngestError)
    assert path in str(caught.value)


def test_dot_dot_out_of_a_root_is_refused(layout: dict[str, Path]) -> None:
    with pytest.raises(PathNotAllowedError):
        check_allowed(layout["data"] / ".." / "outside" / "secret.txt")


def test_a_symlink_out_of_a_root_is_refused(layout: dict[str, Path]) -> None:
    link = layout["data"] / "innocent.csv"
    link.symlink_to(layout["outside"] / "secret.txt")
    with pytest.raises(PathNotAllowedError):
        check_allowed(link)
    folder_link = layout["data"] / "linked"
    folder_link.symlink_to(layout["outside"], target_is_directory=True)
    with pytest.raises(PathNotAllowedError):
        check_allowed(folder_link / "secret.txt")


def test_a_symlink_inside_the_roots_is_followed(layout: dict[str, Path]) -> None:
    link = layout["more"] / "alias.csv"
    link.symlink_to(layout["data"] / "events.csv")
    assert check_allowed(link) == (layout["data"] / "events.csv").resolve()


def test_a_sibling_with_a_root_as_prefix_is_refused(layout: dict[str, Path]) -> None:
    sibling = layout["data"].parent / "data-private"
    sibling.mkdir()
    with pytest.raises(PathNotAllowedError):
        check_allowed(sibling / "x.csv")

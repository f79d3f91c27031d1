"""crossenv.wheelinstall against the real pip: the same files where ``pip install
--no-deps --target`` puts them, and nothing written outside the target."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from crossenv import wheelinstall
from helpers.wheels import make_wheel


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts}


def test_the_layout_is_pips_target_layout(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "dist")
    ours, pips = tmp_path / "ours", tmp_path / "pip"
    wheelinstall.install(wheel, ours, interpreter="/host/bin/python",
                         python_version=f"{sys.version_info[0]}.{sys.version_info[1]}")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-compile", "--disable-pip-version-check", "--no-index",
                    "--ignore-requires-python", "--platform", "linux_aarch64",
                    "--only-binary=:all:", "--target", str(pips), str(wheel)], check=True)
    # INSTALLER and REQUESTED are the installers' own notes; the rest must be the same
    notes = {"demo-1.0.dist-info/INSTALLER", "demo-1.0.dist-info/REQUESTED",
             "demo-1.0.dist-info/direct_url.json"}
    assert _tree(ours) - notes == _tree(pips) - notes
    assert (ours / "demo" / "__init__.py").read_text() == "VALUE = 42\n"
    for name in _tree(ours) - notes:  # executable where pip's is (a zip entry's mode)
        assert (ours / name).stat().st_mode & 0o111 == (pips / name).stat().st_mode & 0o111
    for script in ("demo-tool", "demo-cli"):
        assert (ours / "bin" / script).read_text().startswith("#!/host/bin/python\n"), script
    assert not list(ours.rglob("*.pyc"))  # the host python writes its own


@pytest.mark.parametrize("member", ["../escape.py", "demo-1.0.data/purelib/../../../x.py"])
def test_a_member_outside_the_target_is_one_line(tmp_path: Path, member: str) -> None:
    wheel = make_wheel(tmp_path / "dist", files={member: b"x = 1\n"})
    with pytest.raises(wheelinstall.WheelInstallError) as info:
        wheelinstall.install(wheel, tmp_path / "site" / "inner", interpreter="/usr/bin/python3",
                             python_version="3.11")
    assert "\n" not in str(info.value) and wheel.name in str(info.value)
    assert not (tmp_path / "escape.py").exists() and not (tmp_path / "x.py").exists()
    assert not (tmp_path / "site" / "escape.py").exists()


def test_a_broken_wheel_is_one_line(tmp_path: Path) -> None:
    wheel = tmp_path / "demo-1.0-py3-none-any.whl"
    wheel.write_bytes(b"not a zip")
    with pytest.raises(wheelinstall.WheelInstallError) as info:
        wheelinstall.install(wheel, tmp_path / "site", interpreter="/usr/bin/python3",
                             python_version="3.11")
    assert "\n" not in str(info.value)

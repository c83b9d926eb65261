"""Linters run with the tests, as ROS packages run ament_flake8 and ament_pep257.

ruff checks the package, the tests, the launch file and setup.py with the rules in ruff.toml
(pycodestyle, pyflakes, import order, pep257 docstrings).
"""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def ruff_command():
    exe = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if exe is None:
        pytest.fail("ruff is not installed: pip install -c constraints.txt '.[test]'")
    return exe


def test_ruff_is_clean():
    proc = subprocess.run([ruff_command(), "check", "--no-cache", "."], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_sees_every_python_file():
    proc = subprocess.run([ruff_command(), "check", "--no-cache", "--show-files", "."],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    seen = {Path(line.strip()).resolve() for line in proc.stdout.splitlines() if line.strip()}
    wanted = {p.resolve() for pattern in ("ik_nn/**/*.py", "test/*.py", "launch/*.py")
              for p in REPO.glob(pattern)}
    assert wanted <= seen, sorted(str(p) for p in wanted - seen)

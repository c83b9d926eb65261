"""``colcon build`` of the package installs what ``ros2 run``/``ros2 launch`` need.

colcon comes from PyPI. Installed: executables in lib/ik_nn, launch/config/models in
share/ik_nn, the ament index marker, and an importable ``ik_nn`` that finds its share folder.

Needs colcon: ``pip install colcon-core colcon-ros colcon-python-setup-py ...`` (the pinned list
is in docs/ros.md).
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
IGNORE = shutil.ignore_patterns(".git", "__pycache__", "*.egg-info", "build", "install", "log",
                                ".pytest_cache", "*.pyc")


def colcon():
    exe = shutil.which("colcon") or str(Path(sys.executable).with_name("colcon"))
    if not Path(exe).is_file():
        pytest.fail("colcon is not installed: pip install the colcon packages listed in "
                    "docs/ros.md (colcon-core, colcon-ros, colcon-python-setup-py, ...)")
    return exe


@pytest.fixture(scope="module")
def install(tmp_path_factory):
    root = tmp_path_factory.mktemp("colcon")
    src = root / "src" / "ik_nn"
    shutil.copytree(REPO, src, ignore=IGNORE)   # a clean copy: nothing is written in the repo
    cmd = [colcon(), "--log-base", str(root / "log"), "build", "--base-paths", str(root / "src"),
           "--build-base", str(root / "build"), "--install-base", str(root / "install"),
           "--event-handlers", "console_direct-"]
    env = {k: v for k, v in os.environ.items()
           if k not in ("AMENT_PREFIX_PATH", "COLCON_PREFIX_PATH")}
    proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return root / "install" / "ik_nn"


def test_executables_are_installed_in_lib_ik_nn(install):
    for exe in ("ik_node", "sim_arm", "target_publisher"):
        path = install / "lib" / "ik_nn" / exe
        assert path.is_file(), path
        assert os.access(path, os.X_OK), f"{path} is not executable"


def test_launch_config_models_and_package_files_are_in_share(install):
    share = install / "share" / "ik_nn"
    assert (share / "package.xml").is_file()
    assert (share / "launch" / "ik.launch.py").is_file()
    assert (share / "config" / "ik_nn.yaml").is_file()
    for arm in ("rrr", "rrr_full", "rrrrrr", "ur5"):
        assert (share / "config" / "arms" / f"{arm}.yaml").is_file()
    def files(root):
        return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())

    shipped = files(REPO / "models")
    assert "ur5.onnx" in shipped, "models/ lacks the bundled networks"
    assert files(share / "models") == shipped  # sub-folders (models/plain) kept
    assert (install / "share" / "ament_index" / "resource_index" / "packages" / "ik_nn").is_file()


def _installed_env(install):
    site = next((install / "lib").glob("python3*/site-packages"))
    env = {k: v for k, v in os.environ.items() if k not in ("COLCON_PREFIX_PATH",)}
    env["PYTHONPATH"] = str(site)
    env["AMENT_PREFIX_PATH"] = str(install)
    return env, site


def test_installed_python_imports_ik_nn_and_finds_its_share(install, tmp_path):
    env, site = _installed_env(install)
    code = ("import ik_nn, ik_nn.resources as r; print(ik_nn.__file__); print(r.share_dir()); "
            "print(ik_nn.load_arm('ur5').path)")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    module, share, arm_file = out.stdout.split()
    assert Path(module).is_relative_to(site)
    assert Path(share) == install / "share" / "ik_nn"
    assert Path(arm_file).is_relative_to(install / "share" / "ik_nn" / "config")


def test_installed_ik_node_runs_and_reports_a_bad_arm(install, tmp_path):
    """The installed entry point starts ik_node (no DDS traffic: it stops at the arm)."""
    env, _ = _installed_env(install)
    env["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    env["ROS_DOMAIN_ID"] = str(1 + os.getpid() % 200)
    out = subprocess.run([str(install / "lib" / "ik_nn" / "ik_node"), "--ros-args",
                          "-p", "arm:=/nonexistent/arm.yaml"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "/nonexistent/arm.yaml" in out.stderr

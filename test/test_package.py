"""The ament_python package layout: what colcon and pip install, and where the API finds it."""
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import ik_nn
from ik_nn.resources import config_path, share_dir

ROOT = Path(__file__).resolve().parents[1]


def test_package_xml_declares_ament_python_and_dependencies():
    root = ET.parse(ROOT / "package.xml").getroot()
    assert root.get("format") == "3"
    assert root.findtext("name") == "ik_nn"
    assert root.find("export/build_type").text == "ament_python"
    execs = {e.text for e in root.findall("exec_depend")}
    assert {"rclpy", "geometry_msgs", "sensor_msgs", "python3-numpy", "python3-yaml"} <= execs
    assert "python3-pytest" in {e.text for e in root.findall("test_depend")}


def test_setup_cfg_puts_scripts_where_ros2_run_looks():
    text = (ROOT / "setup.cfg").read_text()
    assert "script_dir=$base/lib/ik_nn" in text and "install_scripts=$base/lib/ik_nn" in text
    assert (ROOT / "resource" / "ik_nn").is_file()


def test_share_dir_holds_every_bundled_arm():
    share = share_dir()
    assert (share / "package.xml").is_file()
    for name in ik_nn.BUNDLED_ARMS:
        assert config_path("arms", f"{name}.yaml").is_file()


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    cmd = re.search(r"^TEST_CMD='(.+)'$", ci, re.M).group(1)
    assert cmd in readme


def test_info_runs_without_torch_or_rclpy():
    code = ("import sys, ik_nn.cli as c; c.main(['info', 'rrr']); "
            "assert 'torch' not in sys.modules and 'rclpy' not in sys.modules, 'heavy import'")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def test_pip_installed_copy_finds_its_share_folder(tmp_path):
    """``pip install .`` puts data under <prefix>/share/ik_nn.

    The installed code must find it there, away from the source tree.
    """
    prefix = tmp_path / "prefix"
    # --ignore-installed: never uninstall the copy this test run itself is using
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                    "--ignore-installed", "--prefix", str(prefix), str(ROOT)],
                   check=True, capture_output=True)
    site = next(prefix.glob("lib/python*/site-packages"))
    code = ("import ik_nn, ik_nn.resources as r; a = ik_nn.load_arm('ur5'); "
            "print(r.share_dir()); print(ik_nn.__file__)")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, check=True,
                         capture_output=True, text=True,
                         env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(site)}).stdout.split()
    assert Path(out[0]) == prefix / "share" / "ik_nn"
    assert Path(out[1]).is_relative_to(site)
    for rel in ("package.xml", "config/arms/ur5.yaml", "config/arms/rrr.yaml"):
        assert (prefix / "share" / "ik_nn" / rel).is_file()
    assert (prefix / "share" / "ament_index" / "resource_index" / "packages" / "ik_nn").is_file()

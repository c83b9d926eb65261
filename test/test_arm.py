"""Arm descriptions: the bundled tables, and errors that name the file and the field."""
import numpy as np
import pytest

import ik_nn
from ik_nn import ArmError, load_arm

H = np.pi / 2


def test_bundled_tables_are_the_studys():
    rrr = load_arm("rrr")
    np.testing.assert_allclose(rrr.dh, [[0, 0, -H, 0], [0, 0, H, 0], [0, 0.05, 0, 0]])
    np.testing.assert_allclose(rrr.lower, [-H] * 3)
    np.testing.assert_allclose(rrr.upper, [H] * 3)
    np.testing.assert_allclose(load_arm("rrr_full").upper, [np.pi] * 3)
    six = load_arm("rrrrrr")
    np.testing.assert_allclose(six.dh[:, 1], [0, 0, 0.05, 0.1, 0, 0.05])
    np.testing.assert_allclose(six.dh[:, 2], [-H, H, 0, -H, H, 0])
    np.testing.assert_allclose(six.dh[:, 0], 0)
    ur5 = load_arm("ur5")
    np.testing.assert_allclose(ur5.dh[:, 0], [0, -0.425, -0.39225, 0, 0, 0])
    np.testing.assert_allclose(ur5.dh[:, 1], [0.089159, 0, 0, 0.10915, 0.09465, 0.0823])
    np.testing.assert_allclose(ur5.dh[:, 2], [H, 0, 0, H, -H, 0])
    np.testing.assert_allclose(ur5.upper, [2 * np.pi] * 6)
    assert ur5.periodic.all() and not rrr.periodic.any()
    assert ur5.joint_names[0] == "shoulder_pan_joint" and ur5.dof == 6


def test_arm_arrays_are_read_only_and_hash_is_stable():
    arm = load_arm("ur5")
    with pytest.raises(ValueError):
        arm.lower[0] = 0
    assert arm.dh_hash == load_arm("ur5").dh_hash != load_arm("rrrrrr").dh_hash


def test_load_by_path_and_unknown_name(tmp_path):
    arm = load_arm(ik_nn.resources.config_path("arms", "rrr.yaml"))
    assert arm.name == "rrr"
    with pytest.raises(ArmError, match="unknown arm 'kuka'"):
        load_arm("kuka")
    with pytest.raises(ArmError, match="no such arm file"):
        load_arm(tmp_path / "missing.yaml")


GOOD = """name: test
convention: standard
joints:
  - {name: j1, a: 0.1, d: 0, alpha: pi/2, theta_offset: 0, lower: -pi, upper: pi}
"""


def test_yaml_numbers_as_written_by_people(tmp_path):
    """1e-3 (a string to YAML 1.1), degrees as k*pi/180, a velocity in pi: all read."""
    path = tmp_path / "arm.yaml"
    path.write_text(GOOD.replace("a: 0.1", "a: 1e-1").replace(
        "lower: -pi, upper: pi", "lower: -170*pi/180, upper: 170*pi/180, velocity: pi"))
    arm = load_arm(path)
    assert arm.dh[0, 0] == 0.1 and arm.velocity[0] == pytest.approx(np.pi)
    assert arm.upper[0] == pytest.approx(np.radians(170))


@pytest.mark.parametrize("text, field", [
    (GOOD.replace("name: test\n", ""), "missing field 'name'"),
    (GOOD.replace("convention: standard", "convention: craig"), "unknown DH convention 'craig'"),
    (GOOD.replace("a: 0.1", "a: fast"), r"joint 1 \(joints\[0\]\), field 'a': expected a "),
    (GOOD.replace("a: 0.1, ", ""), r"joint 1 \(joints\[0\]\): missing field 'a'"),
    (GOOD.replace("lower: -pi", "lower: pi"), r"joint 1 \(joints\[0\]\): lower .* below upper"),
    (GOOD.replace("d: 0", "d: .nan"), r"joint 1 \(joints\[0\]\), field 'd': must be finite"),
    (GOOD.replace("alpha: pi/2", "alpha: tau/2"),
     r"joint 1 \(joints\[0\]\), field 'alpha': cannot read 'tau/2'"),
    (GOOD.replace("theta_offset: 0", "theta_offset: 0, mass: 3"),
     r"joint 1 \(joints\[0\]\): unknown field"),
    (GOOD.replace("joints:", "joints: []\nx:"), "unknown field"),
    (GOOD + "base: {xyz: [0, 0]}\n", r"base\.xyz: expected a list of 3"),
    ("- just\n- a list\n", "expected a mapping at the top level"),
    ("name: [unclosed\n", "not valid YAML"),
    (GOOD.replace("lower: -pi, upper: pi", "lower: -pi, upper: pi, velocity: -1"),
     r"joint 1 \(joints\[0\]\), field 'velocity': must be positive"),
    (GOOD.replace("alpha: pi/2", "alpha: 90"), r"field 'alpha': 90 rad is more than a turn: "
                                                r"degrees\? write 90° as pi/2"),
])
def test_yaml_errors_name_file_and_field(tmp_path, text, field):
    path = tmp_path / "bad_arm.yaml"
    path.write_text(text)
    with pytest.raises(ArmError, match=field) as err:
        load_arm(path)
    assert str(path) in str(err.value)


def test_angles_accept_pi_expressions(tmp_path):
    path = tmp_path / "a.yaml"
    path.write_text(GOOD.replace("alpha: pi/2", "alpha: -2*pi/3"))
    assert load_arm(path).dh[0, 2] == pytest.approx(-2 * np.pi / 3)

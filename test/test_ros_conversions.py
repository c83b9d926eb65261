"""PoseStamped <-> matrix conversions, target validation and JointState helpers (no DDS)."""
import math

import numpy as np
import pytest

pytest.importorskip("geometry_msgs.msg",
                    reason="needs the ROS 2 message packages (pip install .[ros])")

from geometry_msgs.msg import PoseStamped  # noqa: E402
from sensor_msgs.msg import JointState  # noqa: E402

import ik_nn  # noqa: E402
from ik_nn.ros import conversions as rc  # noqa: E402


def random_rotations(n, rng):
    q = rng.normal(size=(n, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    return q


def target(pos=(0.1, 0.2, 0.3), quat=(0.0, 0.0, 0.0, 1.0), frame="base_link"):
    msg = PoseStamped()
    msg.header.frame_id = frame
    msg.pose.position.x, msg.pose.position.y, msg.pose.position.z = pos
    o = msg.pose.orientation
    o.x, o.y, o.z, o.w = quat
    return msg


def test_quaternion_matrix_round_trip_including_near_180_degrees():
    rng = np.random.default_rng(1)
    quats = random_rotations(2000, rng)
    # rotations by (almost) pi exercise every branch of Shepperd's method
    quats = np.vstack([quats, [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1],
                               [0.7071067811865476, 0.7071067811865476, 0, 1e-9]]])
    for q in quats:
        R = rc.quat_to_matrix(*q)
        assert np.allclose(R @ R.T, np.eye(3), atol=1e-12)
        assert np.isclose(np.linalg.det(R), 1.0)
        back = np.array(rc.matrix_to_quat(R))
        assert back[3] >= 0
        assert min(np.abs(back - q).max(), np.abs(back + q).max()) < 1e-9  # q and -q: same


def test_quaternion_convention_is_ros_xyzw():
    # 90 degrees about z: x axis goes to y
    s = math.sqrt(0.5)
    R = rc.quat_to_matrix(0.0, 0.0, s, s)
    assert np.allclose(R @ [1, 0, 0], [0, 1, 0], atol=1e-15)


def test_pose_stamped_round_trip_of_fk_poses():
    arm = ik_nn.load_arm("ur5")
    rng = np.random.default_rng(2)
    T = arm.fk(arm.random_q(200, rng))
    for Ti in T:
        msg = rc.pose_stamped(Ti, "base_link")
        assert msg.header.frame_id == "base_link"
        check = rc.check_pose(msg, "base_link")
        assert check.ok and check.code == "ok"
        pe, re = ik_nn.kinematics.pose_error(Ti[None], check.T[None])
        assert pe[0] < 1e-12 and re[0] < 1e-12
        assert np.allclose(rc.pose_to_matrix(msg.pose), Ti, atol=1e-12)


@pytest.mark.parametrize("field", ["x", "y", "z", "qx", "qy", "qz", "qw"])
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_fields_are_rejected_and_named(field, bad):
    pos = {"x": 0.1, "y": 0.2, "z": 0.3}
    quat = {"qx": 0.0, "qy": 0.0, "qz": 0.0, "qw": 1.0}
    (pos if field in pos else quat)[field] = bad
    check = rc.check_pose(target(tuple(pos.values()), tuple(quat.values())), "base_link")
    assert not check.ok and check.T is None
    assert check.code == "non_finite"
    assert field in check.reason


def test_zero_quaternion_is_rejected():
    check = rc.check_pose(target(quat=(0, 0, 0, 0)), "base_link")
    assert (check.ok, check.code) == (False, "zero_quaternion")
    assert "zero quaternion" in check.reason


def test_nearly_unit_quaternion_is_normalised_and_far_one_rejected():
    s = 1.0 + 0.9 * rc.QUAT_NORM_TOL
    ok = rc.check_pose(target(quat=(0.0, 0.0, 0.6 * s, 0.8 * s)), "base_link")
    assert ok.ok and "normalised" in ok.note
    assert np.allclose(ok.T[:3, :3], rc.quat_to_matrix(0.0, 0.0, 0.6, 0.8), atol=1e-12)
    for s in (1.0 + 1.5 * rc.QUAT_NORM_TOL, 0.5, 2.0):
        bad = rc.check_pose(target(quat=(0.0, 0.0, 0.6 * s, 0.8 * s)), "base_link")
        assert (bad.ok, bad.code) == (False, "quaternion_norm")
        assert "not normalised" in bad.reason
    exact = rc.check_pose(target(quat=(0.0, 0.0, 0.6, 0.8)), "base_link")
    assert exact.ok and exact.note == ""


def test_frame_rules():
    assert rc.check_pose(target(frame="base_link"), "base_link").ok
    wrong = rc.check_pose(target(frame="world"), "base_link")
    assert (wrong.ok, wrong.code) == (False, "frame")
    assert "'world'" in wrong.reason and "'base_link'" in wrong.reason
    assert rc.check_pose(target(frame=""), "base_link", accept_empty_frame=True).ok
    empty = rc.check_pose(target(frame=""), "base_link", accept_empty_frame=False)
    assert (empty.ok, empty.code) == (False, "frame")
    assert "empty frame_id" in empty.reason


def test_joint_state_and_positions_by_name():
    msg = rc.joint_state(["b", "a"], [2.0, 1.0], stamp=rc.ns_to_stamp(1_500_000_000),
                         velocities=[0.0, 0.5])
    assert isinstance(msg, JointState)
    assert list(msg.name) == ["b", "a"] and list(msg.position) == [2.0, 1.0]
    assert rc.stamp_to_ns(msg.header.stamp) == 1_500_000_000
    q, reason = rc.positions_by_name(msg, ["a", "b"])
    assert reason == "" and list(q) == [1.0, 2.0]  # by name, not by order
    q, reason = rc.positions_by_name(msg, ["a", "b", "c"])
    assert q is None and "missing joint(s): c" in reason
    q, reason = rc.positions_by_name(msg, ["a", "b", "c"], require_all=False)
    assert q[0] == 1.0 and q[1] == 2.0 and math.isnan(q[2])
    msg.position = [math.nan, 1.0]
    q, reason = rc.positions_by_name(msg, ["a", "b"])
    assert q is None and "non-finite" in reason and "'b'" in reason
    msg.position = [1.0]
    q, reason = rc.positions_by_name(msg, ["a", "b"])
    assert q is None and "2 names but 1 positions" in reason

"""ik_node as a source of motion, in real processes.

Command interfaces, the reference it seeds from, the approach behaviour, continuity without
joint_states, one status per target in a burst, and parameters refused at start.
"""
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("rclpy", reason="needs the ROS 2 Python packages (pip install .[ros])")

from ros_helpers import (  # noqa: E402
    DISCOVERY_TIMEOUT,
    NodeProcess,
    all_statuses,
    isolate_ros_env,
    make_target,
    stamp_key,
    unique_namespace,
)

isolate_ros_env()  # before rclpy.init
pytestmark = pytest.mark.usefixtures("ros_context")   # test/conftest.py

from diagnostic_msgs.msg import DiagnosticArray  # noqa: E402
from geometry_msgs.msg import PoseStamped  # noqa: E402
from sensor_msgs.msg import JointState  # noqa: E402
from std_msgs.msg import Float64MultiArray  # noqa: E402
from trajectory_msgs.msg import JointTrajectory  # noqa: E402

import ik_nn  # noqa: E402
from ik_nn.kinematics import pose_error  # noqa: E402
from ik_nn.ros import conversions as rc  # noqa: E402
from ik_nn.ros.paths import CartesianPath, fit_path, joint_curve  # noqa: E402

TOL = 1e-6
REPO_ARMS = Path(__file__).resolve().parent / "arms"


def statuses_by_stamp(arrays) -> dict:
    out = {}
    for s in all_statuses(arrays):
        out.setdefault(s["target_stamp"], []).append(s)
    return out


def solves(arm, T, q) -> bool:
    return max(pose_error(T[None], arm.fk(np.asarray(q)))) <= TOL


def test_every_command_interface_carries_the_solution(probe):
    arm = ik_nn.load_arm("ur5")
    ns = unique_namespace("iface_")
    probe.start("ik_node", ns, {"arm": "ur5", "model": "none", "timeout": 0.5,
                                "max_speed_scale": 0.0,
                                "command_interfaces": "[joint_state,joint_trajectory,"
                                                      "position_array]"})
    states = probe.record(JointState, f"{ns}/joint_command")
    traj = probe.record(JointTrajectory, f"{ns}/joint_trajectory")
    arrays = probe.record(Float64MultiArray, f"{ns}/position_commands")
    status = probe.record(DiagnosticArray, f"{ns}/ik_status")
    pub = probe.publisher(PoseStamped, f"{ns}/target_pose")
    probe.spin_for_matched([pub], [f"{ns}/joint_command", f"{ns}/joint_trajectory",
                                   f"{ns}/position_commands"])
    T = arm.fk(np.array([0.3, -1.2, 1.4, -0.9, 1.1, 0.4]))[0]
    pub.publish(make_target(T))
    probe.spin_until(lambda: states and traj and arrays and status, what="three commands")
    assert list(states[0].name) == list(arm.joint_names)
    assert solves(arm, T, states[0].position)
    assert list(traj[0].joint_names) == list(arm.joint_names) and len(traj[0].points) == 1
    point = traj[0].points[0]
    np.testing.assert_array_equal(point.positions, states[0].position)
    assert point.time_from_start.sec + point.time_from_start.nanosec > 0
    np.testing.assert_array_equal(arrays[0].data, states[0].position)   # joint order


def test_reference_is_the_last_command_then_fresh_joint_states_never_stale_ones(probe):
    arm = ik_nn.load_arm("ur5")
    ns = unique_namespace("ref_")
    probe.start("ik_node", ns, {"arm": "ur5", "model": "none", "timeout": 0.5,
                                "max_speed_scale": 0.0, "joint_states_timeout": 0.3})
    status = probe.record(DiagnosticArray, f"{ns}/ik_status")
    pub = probe.publisher(PoseStamped, f"{ns}/target_pose")
    js = probe.publisher(JointState, f"{ns}/joint_states")
    probe.spin_for_matched([pub, js], [f"{ns}/ik_status"])
    q = np.array([0.3, -1.2, 1.4, -0.9, 1.1, 0.4])

    def send(T):
        msg = make_target(T)
        pub.publish(msg)
        key = stamp_key(msg.header.stamp)
        probe.spin_until(lambda: key in statuses_by_stamp(status), what=f"status {key}")
        return statuses_by_stamp(status)[key][-1]

    # joint_states that go stale before the target: not used
    js.publish(rc.joint_state(arm.joint_names, q + 0.05))
    stale_after = time.monotonic() + 0.6   # twice joint_states_timeout
    probe.spin_until(lambda: time.monotonic() > stale_after, what="joint_states to go stale")
    assert send(arm.fk(q)[0])["seed"] == "network"
    # then the node's own last command
    assert send(arm.fk(q + 0.02)[0])["seed"] == "last_command"
    # fresh joint_states far from the last command (someone moved the arm): they win
    for _ in range(10):   # separate topics: the target may be taken before the state
        js.publish(rc.joint_state(arm.joint_names, q + 0.6))
        s = send(arm.fk(q + 0.62)[0])
        if s["seed"] == "joint_states":
            break
    assert s["seed"] == "joint_states", s


def test_without_joint_states_commands_along_a_smooth_path_are_continuous(probe):
    """The ur5 circle with the tool pointing down, no joint_states: continuous commands.

    Consecutive commands move the joints no more than the path itself does, and no joint wraps
    by 2 pi.
    """
    arm = ik_nn.load_arm("ur5")
    q_start = np.array([0.0, -1.6, 1.6, -1.57, -1.57, 0.0])   # tool pointing down
    path, q_path = fit_path(arm, "circle", q_start, 0.15, 4.0)
    assert path.size == 0.15
    ns = unique_namespace("circle_")
    probe.start("ik_node", ns, {"arm": "ur5", "model": "bundled"})
    cmds = probe.record(JointState, f"{ns}/joint_command")
    status = probe.record(DiagnosticArray, f"{ns}/ik_status", depth=2000)
    pub = probe.publisher(PoseStamped, f"{ns}/target_pose", 500)
    probe.spin_for_matched([pub], [f"{ns}/ik_status"])
    n = 400
    for k, T in enumerate(CartesianPath("circle", path.start, path.size, 4.0).poses(n)):
        pub.publish(make_target(T, stamp_ns=10**12 + k))
        probe.executor.spin_once(timeout_sec=0.0)
        time_to = time.monotonic() + 0.01   # 100 Hz
        probe.spin_until(lambda: time.monotonic() >= time_to, what="the next 10 ms")
    probe.spin_until(lambda: len(all_statuses(status)) >= n, 60.0, "a status per target")
    q = np.array([c.position for c in cmds])
    steps = np.max(np.abs(np.diff(q, axis=0)), axis=1)
    own = np.max(np.abs(np.diff(q_path, axis=0)))   # the path's largest joint step per sample
    codes = [s["code"] for s in all_statuses(status)]
    assert codes.count("discontinuity") == 0, codes
    assert steps.max() <= max(2.0 * own * 400 / n, 0.05), np.sort(steps)[-5:]
    assert not np.any(np.abs(np.diff(q, axis=0)) > np.pi)   # no 2 pi flip


def test_an_arm_away_from_the_stream_is_brought_onto_it(probe):
    arm = ik_nn.load_arm("ur5")
    ns = unique_namespace("approach_")
    probe.start("ik_node", ns, {"arm": "ur5"})
    probe.start("sim_arm", ns, {"arm": "ur5", "initial_positions": [0.0]})
    cmds = probe.record(JointState, f"{ns}/joint_command", depth=5000)
    status = probe.record(DiagnosticArray, f"{ns}/ik_status", depth=5000)
    ee = probe.record(PoseStamped, f"{ns}/ee_pose", depth=5000)
    states = probe.record(JointState, f"{ns}/joint_states")
    pub = probe.publisher(PoseStamped, f"{ns}/target_pose", 100)
    probe.spin_for_matched([pub], [f"{ns}/ik_status", f"{ns}/ee_pose", f"{ns}/joint_states"])
    probe.spin_until(lambda: len(states) >= 50, what="sim_arm's joint_states for 0.5 s")
    phase = np.random.default_rng(4).uniform(0, 2 * np.pi, arm.dof)
    k = 0
    start = time.monotonic()

    def caught_up():   # the last 10 statuses exact, and the arm at the last target
        nonlocal k
        t = time.monotonic() - start
        T = arm.fk(joint_curve(arm, t, 30.0, 0.3, phase))[0]
        pub.publish(make_target(T, stamp_ns=10**12 + k))
        k += 1
        codes = [s["code"] for s in all_statuses(status)][-10:]
        return len(codes) == 10 and set(codes) == {"solved"}

    probe.spin_until(caught_up, 60.0, "the arm to get onto the stream")
    handled = [s for s in all_statuses(status) if s["code"] != "superseded"]
    assert handled[0]["seed"] == "joint_states", handled[0]   # it knew where the arm was
    codes = [s["code"] for s in handled]
    assert "approach" in codes[:5], codes[:5]       # it started away from the stream
    q = np.array([c.position for c in cmds])
    assert np.max(np.abs(np.diff(q, axis=0))) < 0.5   # never a jump, approach included
    assert ee


def test_a_burst_of_1000_targets_gets_one_status_each(probe):
    arm = ik_nn.load_arm("rrr")
    ns = unique_namespace("burst_")
    probe.start("ik_node", ns, {"arm": "rrr", "model": "none"})
    status = probe.record(DiagnosticArray, f"{ns}/ik_status", depth=5000)
    pub = probe.publisher(PoseStamped, f"{ns}/target_pose", 1000)
    probe.spin_for_matched([pub], [f"{ns}/ik_status"])
    q = arm.random_q(1000, np.random.default_rng(6))
    T = arm.fk(q)
    stamps = set()
    for i in range(1000):
        msg = make_target(T[i], stamp_ns=10**12 + i)
        stamps.add(stamp_key(msg.header.stamp))
        pub.publish(msg)
    probe.spin_until(lambda: stamps <= set(statuses_by_stamp(status)), 60.0,
                     "a status for each of 1000 targets")
    by = statuses_by_stamp(status)
    assert all(len(by[s]) == 1 for s in stamps)   # exactly one each
    codes = [by[s][0]["code"] for s in stamps]
    assert set(codes) <= {"solved", "superseded", "approach"}, set(codes)


@pytest.mark.parametrize("param,value", [("foo", "1"), ("pos_tol", ".inf"),
                                         ("command_interfaces", "[joint_states]")])
def test_unknown_or_bad_parameters_fail_at_start_naming_them(param, value):
    node = NodeProcess("ik_node", unique_namespace("param_"),
                       {"arm": "rrr", "model": "none", param: value})
    try:
        code = node.wait_exit(DISCOVERY_TIMEOUT)
        out = node.output()
    finally:
        node.stop()
    assert code != 0, out
    assert f"'{param}'" in out, out
    assert "Traceback" not in out, out


@pytest.mark.parametrize("how", ["file", "robot_description"])
def test_a_urdf_arm_drives_the_node(probe, tmp_path, how):
    """A URDF arm drives the node: from a file (arm:=) or from robot_description.

    Commands carry the URDF's joint names and solve the target.
    """
    import yaml

    urdf = REPO_ARMS / "ur5e.urdf"
    arm = ik_nn.load_arm(urdf, tip_link="tool0")
    ns = unique_namespace("urdf_")
    params = {"model": "none", "timeout": 0.5, "max_speed_scale": 0.0, "tip_link": "tool0"}
    params_file = None
    if how == "file":
        params["arm"] = str(urdf)
    else:
        params_file = tmp_path / "description.yaml"
        params_file.write_text(yaml.safe_dump({"/**/ik_node": {"ros__parameters": {
            "robot_description": urdf.read_text()}}}))
    probe.start("ik_node", ns, params, params_file=str(params_file) if params_file else None)
    cmds = probe.record(JointState, f"{ns}/joint_command")
    pub = probe.publisher(PoseStamped, f"{ns}/target_pose")
    probe.spin_for_matched([pub], [f"{ns}/joint_command"])
    T = arm.fk(np.array([0.3, -1.2, 1.4, -0.9, 1.1, 0.4]))[0]
    resend = [0.0]

    def commanded():   # the first target may meet a node not yet spinning: send again
        if time.monotonic() > resend[0]:
            pub.publish(make_target(T))
            resend[0] = time.monotonic() + 1.0
        return bool(cmds)

    probe.spin_until(commanded, what="a command for the URDF arm")
    assert list(cmds[0].name) == list(arm.joint_names) == [
        "shoulder_pan_joint", "shoulder_lift_joint", "elbow_joint", "wrist_1_joint",
        "wrist_2_joint", "wrist_3_joint"]
    assert solves(arm, T, cmds[0].position)

"""ik_node, sim_arm and target_publisher as real processes talking over DDS (loopback only).

Each test starts its nodes as subprocesses in a namespace of its own, talks to them from a probe
node in this process, waits on discovery and on messages (never fixed sleeps) and stops them
with SIGINT. See ros_helpers for the isolation (LOCALHOST discovery, per-run domain id).
"""
import math
import os
import time

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

DOMAIN = isolate_ros_env()  # before rclpy.init
pytestmark = pytest.mark.usefixtures("ros_context")   # test/conftest.py

import rclpy  # noqa: E402
from diagnostic_msgs.msg import DiagnosticArray  # noqa: E402
from geometry_msgs.msg import PoseStamped  # noqa: E402
from sensor_msgs.msg import JointState  # noqa: E402

import ik_nn  # noqa: E402
from ik_nn.kinematics import pose_error  # noqa: E402
from ik_nn.resources import model_path  # noqa: E402
from ik_nn.ros import conversions as rc  # noqa: E402

OK, WARN, ERROR = 0, 1, 2
TOL = 1e-6
# Generous solver budget: the machine running the tests may be loaded.
SOLVER = {"timeout": 0.5, "model": "none"}


class Client:
    """The probe's view of one ik_node: publish targets, collect commands and statuses."""

    def __init__(self, probe, ns, joint_states=False):
        self.probe, self.ns = probe, ns
        self.target_pub = probe.publisher(PoseStamped, f"{ns}/target_pose", 1000)
        self.js_pub = probe.publisher(JointState, f"{ns}/joint_states") if joint_states else None
        self.commands = probe.record(JointState, f"{ns}/joint_command")
        self.statuses = probe.record(DiagnosticArray, f"{ns}/ik_status")

    def wait_ready(self):
        pubs = [self.target_pub] + ([self.js_pub] if self.js_pub else [])
        self.probe.spin_for_matched(pubs, [f"{self.ns}/joint_command", f"{self.ns}/ik_status"])

    def status_for(self, key):
        for s in all_statuses(self.statuses):
            if s["target_stamp"] == key:
                return s
        return None

    def command_for(self, key):
        for c in self.commands:
            if stamp_key(c.header.stamp) == key:
                return c
        return None

    def send(self, msg, timeout=30.0):
        """Publish one target and wait for its status; returns (status dict, command or None)."""
        key = stamp_key(msg.header.stamp)
        self.target_pub.publish(msg)
        self.probe.spin_until(lambda: self.status_for(key) is not None, timeout,
                              f"ik_status for target {key} on {self.ns}")
        status = self.status_for(key)
        if status["level"] == OK:  # the command is published just before the status
            self.probe.spin_until(lambda: self.command_for(key) is not None, timeout,
                                  f"joint_command for {key}")
        return status, self.command_for(key)


def assert_solves(arm, T, cmd):
    assert list(cmd.name) == list(arm.joint_names)
    q = np.array(cmd.position)
    assert arm.within_limits(q, 1e-9)[0]
    pe, re = pose_error(T[None], arm.fk(q))
    assert pe[0] <= TOL and re[0] <= TOL, (pe, re)
    return q


def ee_error(msg, T):
    pe, re = pose_error(T[None], rc.pose_to_matrix(msg.pose)[None])
    return pe[0], re[0]


# ---------------------------------------------------------------------------------------------
def test_ik_node_solves_fk_targets_and_sim_arm_reaches_them(probe):
    arm = ik_nn.load_arm("ur5")
    ns = unique_namespace("ur5_")
    probe.start("ik_node", ns, {"arm": "ur5", **SOLVER})
    probe.start("sim_arm", ns, {"arm": "ur5", "rate": 100.0})
    client = Client(probe, ns)
    ee = probe.record(PoseStamped, f"{ns}/ee_pose")
    states = probe.record(JointState, f"{ns}/joint_states")
    client.wait_ready()
    probe.spin_until(lambda: states, what="joint_states from sim_arm")
    probe.spin_for_subscriber(f"{ns}/joint_command", "sim_arm")

    rng = np.random.default_rng(3)
    q0 = np.zeros(arm.dof)
    for i in range(4):  # targets near the arm, so the sim reaches each one quickly
        T = arm.fk(q0 + rng.uniform(-0.6, 0.6, arm.dof))[0]
        target = make_target(T)
        key = stamp_key(target.header.stamp)
        status, cmd = client.send(target)
        # farther than one command may move the arm: approached in steps at the limits
        assert status["code"] in ("solved", "approach"), status
        assert status["level"] == (OK if status["code"] == "solved" else WARN)
        assert float(status["pos_err"]) <= TOL and float(status["rot_err"]) <= TOL
        assert int(status["iterations"]) >= 0 and float(status["solve_time_ms"]) > 0
        if i:   # sim_arm publishes joint_states; the node's own last command comes first
            assert status["seed"] in ("joint_states", "last_command")

        def reached(T=T):   # the last command for this target is its exact solution
            mine = [c for c in client.commands if stamp_key(c.header.stamp) == key]
            if not mine:
                return False
            q = np.array(mine[-1].position)
            return max(pose_error(T[None], arm.fk(q))) <= TOL

        probe.spin_until(reached, 30.0, "the commands reaching the target's solution")
        cmds = [c for c in client.commands if stamp_key(c.header.stamp) == key]
        q = assert_solves(arm, T, cmds[-1])
        steps = np.diff([np.array(c.position) for c in cmds], axis=0)
        if len(steps):   # each approach step within the velocity limits over 1/command_rate
            assert np.all(np.abs(steps) <= arm.velocity * 1.0 + 1e-9)

    # the simulated arm gets there, and its ee_pose (FK, base frame) agrees with the target
    def arrived():
        return (ee and states and ee[-1].header.frame_id == "base_link"
                and max(ee_error(ee[-1], T)) <= TOL
                and np.allclose(rc.positions_by_name(states[-1], arm.joint_names)[0], q,
                                atol=1e-9))

    probe.spin_until(arrived, 30.0, "sim_arm reaching the last target")
    # it moved there under its velocity limits
    vel = np.array([s.velocity for s in states if len(s.velocity)])
    assert np.all(np.abs(vel) <= arm.velocity * (1 + 1e-6))


def _other_branch(arm, qa):
    """A configuration reaching FK(qa) that is geometrically different (not just +-2 pi)."""
    solver = ik_nn.IKSolver(arm, model=None, timeout=1.0)
    T = arm.fk(qa)
    rng = np.random.default_rng(11)
    for _ in range(500):
        r = solver.solve(T, seed=arm.random_q(1, rng)[0])
        if r.success[0]:
            d = (r.q[0] - qa + math.pi) % (2 * math.pi) - math.pi
            if np.max(np.abs(d)) > 1.0:
                return r.q[0]
    raise AssertionError("no second IK branch found")


@pytest.mark.parametrize("model", ["none", "bundled"])
def test_joint_states_seed_picks_the_nearer_branch_on_ur5(probe, model):
    arm = ik_nn.load_arm("ur5")
    if model == "bundled":
        assert model_path("ur5.onnx").is_file(), "models/ur5.onnx missing: the default model"
    ns = unique_namespace("branch_")
    # joint_states arrive once per attempt here: a loaded machine must not make them stale
    probe.start("ik_node", ns, {"arm": "ur5", "timeout": 0.5, "model": model,
                                "joint_states_timeout": 10.0})
    client = Client(probe, ns, joint_states=True)
    client.wait_ready()

    qa = np.array([0.3, -1.2, 1.4, -0.9, 1.1, 0.4])
    qb = _other_branch(arm, qa)
    T = arm.fk(qa)[0]
    assert max(pose_error(T[None], arm.fk(qb))) <= TOL   # same pose, two branches
    assert np.max(np.abs(qa - qb)) > 2.0

    answers = []
    for near in (qa, qb, qa):
        seed = near + np.array([0.05, -0.04, 0.03, -0.05, 0.04, -0.03])
        # joint_states and target_pose are separate topics, so the node may take a target
        # before the new joint_states: send the state, then the target, until it is used
        for attempt in range(10):
            client.js_pub.publish(rc.joint_state(arm.joint_names, seed))
            status, cmd = client.send(make_target(T))
            assert status["level"] == OK, status
            q = assert_solves(arm, T, cmd)
            if status["seed"] != "network" and np.max(np.abs(q - near)) < 0.2:
                break
        # joint_states far from the last command are the reference; near it, the last command
        # is (the arm follows it): either way the answer is on the branch the arm is on
        assert status["seed"] in ("joint_states", "last_command"), status
        assert np.max(np.abs(q - near)) < 0.2, (q, near)   # the branch of its seed
        answers.append(q)
    assert np.max(np.abs(answers[0] - answers[1])) > 2.0   # two different answers


def test_bad_inputs_are_reported_and_never_commanded(probe):
    arm = ik_nn.load_arm("rrr")
    ns = unique_namespace("bad_")
    node = probe.start("ik_node", ns, {"arm": "rrr", "timeout": 0.05, "model": "none",
                                       "accept_empty_frame": False})
    client = Client(probe, ns)
    client.wait_ready()
    good_T = arm.fk(np.array([0.3, -0.2, 0.5]))[0]

    def msg(pos=None, quat=None, frame="base_link"):
        m = make_target(good_T, frame)
        if pos is not None:
            m.pose.position.x, m.pose.position.y, m.pose.position.z = pos
        if quat is not None:
            o = m.pose.orientation
            o.x, o.y, o.z, o.w = quat
        return m

    p = good_T[:3, 3]
    far = p / np.linalg.norm(p) * 10.0
    inside = p * 0.5   # within reach, but rrr's tool lies on a 0.05 m sphere: no solution
    cases = [
        (msg(pos=(math.nan, 0.0, 0.0)), ERROR, "non_finite", "non-finite"),
        (msg(quat=(0.0, math.inf, 0.0, 1.0)), ERROR, "non_finite", "non-finite"),
        (msg(quat=(0.0, 0.0, 0.0, 0.0)), ERROR, "zero_quaternion", "zero quaternion"),
        (msg(quat=(0.0, 0.0, 0.0, 1.5)), ERROR, "quaternion_norm", "not normalised"),
        (msg(frame="world"), ERROR, "frame", "'world' is not the base frame"),
        (msg(frame=""), ERROR, "frame", "empty frame_id"),
        (msg(pos=tuple(far)), WARN, "unreachable", "unreachable"),
        (msg(pos=tuple(inside)), WARN, "unreachable", "unreachable"),
    ]
    for target, level, code, text in cases:
        status, cmd = client.send(target)
        assert (status["level"], status["code"]) == (level, code), status
        assert text in status["message"], status["message"]
        assert cmd is None

    # a quaternion within the tolerance of unit norm is normalised and solved
    o = good_T.copy()
    m = make_target(o)
    s = 1.0 + 5e-4
    m.pose.orientation.x *= s
    m.pose.orientation.y *= s
    m.pose.orientation.z *= s
    m.pose.orientation.w *= s
    status, cmd = client.send(m)
    assert status["level"] == OK and "normalised" in status["note"], status
    assert_solves(arm, good_T, cmd)
    # nothing was commanded but that one target, and the node is still alive and well
    assert len(client.commands) == 1
    assert node.proc.poll() is None
    out = node.output()
    # a reason in the log, throttled: fewer log lines than rejected targets
    n_logged = out.count("rejected target:")
    assert 1 <= n_logged < 6, out
    assert "unreachable" in out


def test_flood_keeps_only_the_latest_target(probe):
    arm = ik_nn.load_arm("rrr")
    ns = unique_namespace("flood_")
    probe.start("ik_node", ns, {"arm": "rrr", "timeout": 0.05, "model": "none"})
    client = Client(probe, ns)
    client.wait_ready()
    good_T = arm.fk(np.array([0.3, -0.2, 0.5]))[0]
    slow = make_target(good_T)
    slow.pose.position.x *= 0.5   # unreachable inside the reach: each costs restarts
    n = 1000
    base = 1_000_000_000_000
    for i in range(n):
        slow.header.stamp = rc.ns_to_stamp(base + i)
        client.target_pub.publish(slow)
    last = make_target(good_T, stamp_ns=base + n)
    status, cmd = client.send(last)   # the newest target is never lost behind the flood
    assert status["level"] == OK
    assert_solves(arm, good_T, cmd)
    statuses = all_statuses(client.statuses)
    codes = [s["code"] for s in statuses]
    solved_or_tried = len(codes) - codes.count("superseded")
    assert solved_or_tried < n / 10, f"{solved_or_tried} of {n + 1} flood targets were solved"
    assert codes.count("superseded") > 0 and len(codes) <= n + 1
    for s in statuses:   # what was skipped says so
        if s["code"] == "superseded":
            assert s["level"] == WARN and "newer target" in s["message"]
    stamps = [int(s["target_stamp"].replace(".", "")) for s in statuses]
    assert stamps == sorted(stamps)   # in order, never an old target after a newer one
    assert len(set(stamps)) == len(stamps)   # one status per target
    assert len(client.commands) == 1


def test_two_arms_in_two_namespaces_at_once(probe):
    arms = {"rrr": ik_nn.load_arm("rrr"), "rrrrrr": ik_nn.load_arm("rrrrrr")}
    clients = {}
    for name in arms:
        ns = f"/{name}"
        probe.start("ik_node", ns, {"arm": name, **SOLVER})
        probe.start("sim_arm", ns, {"arm": name})
        clients[name] = Client(probe, ns)
    ees = {name: probe.record(PoseStamped, f"/{name}/ee_pose") for name in arms}
    for name, c in clients.items():
        c.wait_ready()
        # one command is all a solved target gets: sim_arm must be listening before it goes
        probe.spin_for_subscriber(f"/{name}/joint_command", "sim_arm")
        probe.spin_until(lambda name=name: ees[name], what=f"/{name}/ee_pose from sim_arm")
    rng = np.random.default_rng(5)
    for name, arm in arms.items():
        T = arm.fk(0.5 * arm.random_q(1, rng))[0]
        status, _ = clients[name].send(make_target(T))
        assert status["code"] in ("solved", "approach"), status
        probe.spin_until(lambda: ees[name] and max(ee_error(ees[name][-1], T)) <= TOL, 30.0,
                         f"/{name}/sim_arm reaching its target")
        assert_solves(arm, T, clients[name].commands[-1])   # its own joints and kinematics
    for name, c in clients.items():   # no cross-talk between the namespaces
        for cmd in c.commands:
            assert list(cmd.name) == list(arms[name].joint_names)


def test_target_publisher_stream_is_solved_end_to_end_with_the_default_model(probe):
    """The default bring-up (bundled model): target_publisher -> ik_node -> sim_arm."""
    assert model_path("rrrrrr.onnx").is_file(), "models/rrrrrr.onnx missing: the default model"
    ns = unique_namespace("demo_")
    params = {"arm": "rrrrrr"}
    probe.start("ik_node", ns, params)
    probe.start("sim_arm", ns, params)
    probe.start("target_publisher", ns, {**params, "rate": 20.0})
    targets = probe.record(PoseStamped, f"{ns}/target_pose")
    statuses = probe.record(DiagnosticArray, f"{ns}/ik_status")
    probe.spin_for_matched(subs=[f"{ns}/target_pose", f"{ns}/ik_status"])
    probe.spin_until(lambda: len(statuses) >= 20, 60.0, "20 statuses")
    codes = [s["code"] for s in all_statuses(statuses)]
    assert set(codes) <= {"solved", "approach", "discontinuity", "superseded"}, codes
    # targets that queued while ik_node started spinning are superseded by the newest one, by
    # design (latest target wins: docs/ros.md); after that every target is commanded: exactly,
    # or approached while the arm gets onto the stream
    first = next(i for i, c in enumerate(codes) if c != "superseded")
    assert first <= 10, codes   # a start-up backlog of half a second at most
    stream = codes[first:]
    commanded = sum(stream.count(c) for c in ("solved", "approach", "discontinuity"))
    assert commanded >= 0.95 * len(stream), all_statuses(statuses)
    arm = ik_nn.load_arm("rrrrrr")
    for t in targets[:20]:
        assert t.header.frame_id == "base_link"
        assert np.linalg.norm(rc.pose_to_matrix(t.pose)[:3, 3]) <= arm.reach + 1e-9


@pytest.mark.parametrize("case", ["arm_file", "arm_missing", "model_corrupt", "model_missing",
                                  "model_mismatch"])
def test_bad_arm_or_model_file_is_a_clear_error_at_start(tmp_path, case):
    params = {"arm": "rrr", "model": "none"}
    if case == "arm_file":
        bad = tmp_path / "broken_arm.yaml"
        bad.write_text("name: broken\nconvention: standard\njoints: [{name: j1, a: 0}]\n")
        params["arm"], named = str(bad), str(bad)
    elif case == "arm_missing":
        params["arm"] = named = str(tmp_path / "no_such_arm.yaml")
    elif case == "model_corrupt":
        bad = tmp_path / "corrupt.onnx"
        bad.write_bytes(b"this is not an onnx model" * 10)
        params["model"], named = str(bad), str(bad)
    elif case == "model_missing":
        params["model"] = named = str(tmp_path / "missing.onnx")
    else:   # a real network, for another arm
        other = model_path("ur5.onnx")
        assert other.is_file(), "models/ur5.onnx missing"
        params["model"], named = str(other), str(other)
    node = NodeProcess("ik_node", unique_namespace("err_"), params)
    try:
        code = node.wait_exit(DISCOVERY_TIMEOUT)
        out = node.output()
    finally:
        node.stop()
    assert code != 0, out
    assert named in out, out
    assert "Traceback" not in out, out


def test_nodes_in_another_domain_are_not_seen():
    """The isolation our processes rely on.

    A publisher in this run's domain is matched by a subscriber in the same domain and never by
    one in the next domain.
    """
    from rclpy.context import Context
    from std_msgs.msg import String

    here, other = Context(), Context()
    rclpy.init(context=here, domain_id=DOMAIN)
    rclpy.init(context=other, domain_id=(DOMAIN % 200) + 1)
    topic = f"{unique_namespace('iso_')}/chatter"
    try:
        mine = rclpy.create_node("iso_pub", context=here)
        near = rclpy.create_node("iso_near", context=here)
        far = rclpy.create_node("iso_far", context=other)
        pub = mine.create_publisher(String, topic, 10)
        near.create_subscription(String, topic, lambda m: None, 10)
        far.create_subscription(String, topic, lambda m: None, 10)
        deadline = time.monotonic() + DISCOVERY_TIMEOUT
        while pub.get_subscription_count() < 1 and time.monotonic() < deadline:
            time.sleep(0.05)  # polling a condition; discovery runs in the middleware
        assert pub.get_subscription_count() == 1   # the same-domain subscriber, not the far one
        assert far.count_publishers(topic) == 0
        for node in (mine, near, far):
            node.destroy_node()
    finally:
        rclpy.try_shutdown(context=here)
        rclpy.try_shutdown(context=other)


def test_target_curve_stays_inside_limits_and_within_joint_speeds(tmp_path):
    from ik_nn.ros.paths import SPEED_FRACTION, curve_period, joint_curve
    from ik_nn.ros.target_publisher import load_poses

    for name in ("rrr", "ur5"):
        arm = ik_nn.load_arm(name)
        period = curve_period(arm, 10.0, 0.4)
        assert period >= 10.0
        t = np.linspace(0, 2 * period, 4001)
        phase = np.random.default_rng(0).uniform(0, 2 * math.pi, arm.dof)
        q = np.array([joint_curve(arm, ti, period, 0.4, phase) for ti in t])
        assert np.all(arm.within_limits(q))
        speed = np.abs(np.diff(q, axis=0)) / np.diff(t)[:, None]
        assert np.all(speed <= SPEED_FRACTION * arm.velocity * (1 + 1e-3))
        assert np.allclose(q[0], q[2000], atol=1e-9)   # closed loop
    good = tmp_path / "poses.yaml"
    good.write_text("frame_id: world\nposes:\n  - {position: [0.1, 0, 0.2], "
                    "orientation: [0, 0, 0.6, 0.8]}\n  - {position: [0, 0.1, 0.2]}\n")
    frame, poses = load_poses(str(good))
    assert frame == "world" and len(poses) == 2
    assert np.allclose(poses[0][:3, :3], rc.quat_to_matrix(0, 0, 0.6, 0.8))
    bad = tmp_path / "bad.yaml"
    bad.write_text("poses:\n  - {position: [0.1, 0]}\n")
    with pytest.raises(ValueError, match="bad.yaml: poses\\[0\\]"):
        load_poses(str(bad))


def test_sim_arm_ignores_bad_commands_and_clips_to_limits(probe):
    arm = ik_nn.load_arm("rrr")
    ns = unique_namespace("sim_")
    probe.start("sim_arm", ns, {"arm": "rrr", "rate": 50.0})
    pub = probe.publisher(JointState, f"{ns}/joint_command")
    states = probe.record(JointState, f"{ns}/joint_states")
    probe.spin_for_matched([pub], [f"{ns}/joint_states"])
    pub.publish(rc.joint_state(arm.joint_names, [math.nan, 0.1, 0.2]))     # ignored
    pub.publish(rc.joint_state(["joint_2"], [10.0]))                      # one joint, clipped
    goal = np.array([0.0, arm.upper[1], 0.0])

    def at_goal():
        if not states:
            return False
        q = rc.positions_by_name(states[-1], arm.joint_names)[0]
        return np.allclose(q, goal, atol=1e-12)

    probe.spin_until(at_goal, 30.0, "sim_arm at the clipped goal")
    for s in states:
        q = np.array(s.position)
        assert np.all(np.isfinite(q)) and arm.within_limits(q)[0]


# ---------------------------------------------------------------------------------- ik-nn up
def _up(args, **kw):
    import subprocess
    import sys

    return subprocess.Popen([sys.executable, "-m", "ik_nn.cli", "up", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)


def _solved_fraction(out, ns):
    import re

    m = re.search(rf"{ns} \(\w+\): (\d+) targets published, (\d+) taken by ik_node, (\d+) solved "
                  r"\([\d.]+ %\), (\d+) approached", out)
    assert m, out
    published, taken, solved, approached = map(int, m.groups())
    return published, (solved + approached) / max(taken, 1)   # commanded, exactly or in steps


def test_ik_nn_up_runs_two_arms_for_a_duration_and_summarises():
    proc = _up(["--arm", "rrr", "--arm", "ur5", "--duration", "5", "--rate", "20"])
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out
    assert "targets/s" in out and "summary:" in out
    assert f"ROS_DOMAIN_ID={DOMAIN}" in out and "(set by ik-nn up)" not in out
    for ns in ("/rrr", "/ur5"):
        published, solved = _solved_fraction(out, ns)
        assert published >= 50 and solved >= 0.95, out


def test_ik_nn_up_stops_cleanly_on_sigint():
    import signal
    import subprocess
    import time

    proc = _up(["--arm", "rrr", "--rate", "20", "--model", "none"])
    lines = []
    deadline = time.monotonic() + 90
    try:
        for line in proc.stdout:   # wait for the first live line, then Ctrl-C
            lines.append(line)
            if "targets/s" in line or time.monotonic() > deadline:
                break
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    out = "".join(lines) + rest
    assert proc.returncode == 0, out
    assert "stopping (Ctrl-C)" in out and "summary:" in out
    assert "Traceback" not in out


def test_ik_nn_up_sets_localhost_discovery_and_a_domain_only_when_unset(monkeypatch):
    from ik_nn.ros.bringup import ros_environment

    monkeypatch.delenv("ROS_DOMAIN_ID")
    monkeypatch.delenv("ROS_AUTOMATIC_DISCOVERY_RANGE")
    set_here = ros_environment()
    assert os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] == "LOCALHOST"
    assert 1 <= int(os.environ["ROS_DOMAIN_ID"]) <= 200
    assert set(set_here) == {"ROS_DOMAIN_ID", "ROS_AUTOMATIC_DISCOVERY_RANGE"}
    monkeypatch.setenv("ROS_DOMAIN_ID", "7")
    monkeypatch.setenv("ROS_AUTOMATIC_DISCOVERY_RANGE", "OFF")
    assert ros_environment() == {}
    assert os.environ["ROS_DOMAIN_ID"] == "7"


def test_ik_nn_up_live_line_says_the_arm_is_approaching_instead_of_a_bare_zero():
    from ik_nn.ros.bringup import ArmStats

    st = ArmStats("ur5", "/ur5")
    st.window = [50, 50, 0, 50]          # a second of approach steps: nothing solved yet
    line = st.line(1.0)
    assert "solved   0.0 % (approaching 100.0 %)" in line and "nan" not in line
    st.pos_err, st.latency_ms = [2e-7] * 20, [0.4] * 20
    st.window = [50, 50, 20, 30]
    line = st.line(1.0)
    assert "solved  40.0 % (approaching  60.0 %)" in line
    assert "2.0e-07 m" in line and "0.40 ms" in line
    assert "approaching" not in st.line(1.0) and "nan" not in st.line(1.0)  # an empty second

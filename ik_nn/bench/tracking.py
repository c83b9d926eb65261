"""Tracking bench: paths streamed through the real nodes, judged command by command (``--track``).

Every case starts ``ik_node`` (bundled model, ``max_speed_scale`` 1: commands within the
velocity limits) as a subprocess in its own namespace, with or without ``sim_arm`` (the source of
``joint_states`` and ``ee_pose``), publishes one path's targets from a paced thread of this
process at ``rate`` Hz for ``duration`` seconds (each with a unique stamp), and records every
``joint_command``, every ``ik_status`` and every ``ee_pose`` (real DDS over loopback).

Paths (:func:`make_path`), per arm:

* ``circle``, ``figure_eight``: from the demo's start pose (``target_publisher``'s curve at
  t = 0); ``line``: through a near-singular wrist (:func:`singular_start`);
  ``joint_curve``: the demo stream itself (``target_publisher``'s defaults);
* an arm that can hold a tool orientation while its tool moves (6 joints, Jacobian of rank 6:
  ur5) gets Cartesian paths from :func:`ik_nn.ros.paths.fit_path` (the tool moves in the base
  x-y plane, orientation fixed); the others (rrr, rrr_full: 3 joints, the tool on a 5 cm
  sphere; rrrrrr: joints 3 and 4 coaxial, rank 5) cannot, so their circle, line and figure
  eight are drawn in joint space (the same shapes, in the plane of two random joint-space
  directions) and the targets are the FK poses of that joint motion (full poses, reachable by
  construction).

The path's own joint motion is its continuous joint solution (fit_path's 400 samples per
loop, interpolated at the target times) or the joint curve that made it.

Per case (:func:`analyse`): share of targets commanded (status solved, approach or
discontinuity), the largest joint step between consecutive commands against the path's own
largest step between consecutive targets, steps over 0.1 rad, 2π flips (a joint changing by
more than π between consecutive commands), steps beyond the path's motion (larger than twice
the path's own motion between the same targets and than the velocity limit allows over the
gap), tracking error p50/p95 (the end effector, sim_arm's ``ee_pose`` or without it the FK of
the last command, against each commanded target when the next target's command arrives, from
the first sample within 1 mm on), targets without a status, and the status counts.

Library use: ``add_arguments(group)``, ``run(args) -> int``; :func:`measure` returns the
report dictionary, :func:`section` renders it, :func:`plot_arms` draws the PNGs.
"""
from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..arm import BUNDLED_ARMS, load_arm
from .machine import loadavg, machine
from .report import markers, replace_section
from .results import percentile
from .targets import publish_paced

KINDS = ("circle", "line", "figure_eight", "joint_curve")
LABELS = {"circle": "circle", "line": "line through a near-singular wrist",
          "figure_eight": "figure eight", "joint_curve": "demo stream (joint curve)"}
RATES = (100.0, 1000.0)
DURATION = 5.0            # s per case
QUICK = {"arms": ("ur5",), "paths": ("circle",), "rates": (100.0,), "duration": 3.0}
PERIOD = 4.0              # s per loop of a circle, line or figure eight (lengthened if needed)
CARTESIAN_SIZE = 0.1      # m: radius or half-length tried first (fit_path halves it)
JOINT_AMPLITUDE = 0.3     # joint-space shapes: fraction of each joint's half range
DEMO = {"period": 10.0, "amplitude": 0.4, "random_seed": 0}   # target_publisher's defaults
SINGULAR_SEED = 20261201  # the configurations searched for a near-singular wrist
SINGULAR_CANDIDATES = 400
SINGULAR_MIN_SIZE = 0.025  # m: a near-singular Cartesian line at least this long ...
SINGULAR_MAX_PERIOD = 10.0  # s: ... and this quick (else it barely moves in one case)
BIG_STEP = 0.1            # rad
CAUGHT_UP = 1e-3          # m
APPROACH_PERIOD = 0.02    # s: ik_node's shortest step time (1 / command_rate)
COMMANDED = ("solved", "approach", "discontinuity")
CODES = ("solved", "approach", "discontinuity", "unreachable", "superseded")
START, END = markers("track")
DISCOVERY_TIMEOUT = 120.0  # s: a loaded 2-core machine can be slow to start a node
STRAGGLERS = 10.0          # s: how long to wait for the last statuses


def add_arguments(parser):
    """Add the ``--track`` options to ``parser`` (an argument group of ``ik-nn bench``)."""
    parser.add_argument("--track-arms", nargs="+", metavar="ARM", default=None,
                        help="tracking bench: arms (default: every bundled arm; "
                             f"{', '.join(QUICK['arms'])} with --quick)")
    parser.add_argument("--track-paths", nargs="+", choices=KINDS, default=None, metavar="PATH",
                        help=f"tracking bench: paths, of {', '.join(KINDS)} (default: all; "
                             f"{', '.join(QUICK['paths'])} with --quick)")
    parser.add_argument("--track-rates", nargs="+", type=float, default=None, metavar="HZ",
                        help="tracking bench: target rates (default: "
                             f"{' '.join(f'{r:g}' for r in RATES)}; "
                             f"{' '.join(f'{r:g}' for r in QUICK['rates'])} with --quick)")
    parser.add_argument("--track-duration", type=float, default=None, metavar="S",
                        help=f"tracking bench: seconds of targets per case (default "
                             f"{DURATION:g}; {QUICK['duration']:g} with --quick)")
    parser.add_argument("--track-feedback", nargs="+", choices=("with", "without"),
                        default=["with", "without"],
                        help="tracking bench: run with sim_arm's joint_states, without, or both "
                             "(default both)")
    parser.add_argument("--track-starts", nargs="+", choices=("on", "off"), default=["on", "off"],
                        help="tracking bench: sim_arm starts on the path's first configuration, "
                             "off it (all joints 0), or both (default both)")


# ---------------------------------------------------------------- paths
def wrist_sigma(arm, q) -> np.ndarray:
    """(N,) smallest singular value of the wrist's rotational Jacobian at q (N, dof) or (dof,).

    The wrist is the last three joints (all three of a 3-joint arm); the value is 0 where
    their axes are coplanar (ur5, rrrrrr: joint 5 at 0 or ±π; rrr: joint 2 at 0).
    """
    J = arm.jacobian(np.atleast_2d(q))[:, 3:, -3:]
    return np.linalg.svd(J, compute_uv=False)[:, -1]


def holds_orientation(arm, q) -> bool:
    """Whether the arm can move its tool with the orientation fixed near q: a rank-6 Jacobian."""
    s = np.linalg.svd(arm.jacobian(np.atleast_2d(q))[0], compute_uv=False)
    return arm.dof >= 6 and s[-1] > 1e-9 * s[0]


class TrackPath:
    """One path for one arm: target poses and the path's own joint motion as functions of time.

    ``family`` is ``cartesian`` (tool path in the base x-y plane, orientation fixed; size in
    metres) or ``joint`` (FK of a joint-space shape or of the demo curve; size a fraction of
    the joints' half ranges). ``q_start`` (dof,) is the configuration at t = 0.
    """

    def __init__(self, arm, kind, family, period, size, q_start, note, joints, poses=None):
        self.arm, self.kind, self.family = arm, kind, family
        self.period, self.size, self.note = float(period), float(size), note
        self.q_start = np.asarray(q_start, dtype=float)
        self._joints, self._poses = joints, poses

    def joints(self, t) -> np.ndarray:
        """(n, dof) the path's own joints at times t (n,) s."""
        return self._joints(np.asarray(t, dtype=float))

    def poses(self, t) -> np.ndarray:
        """(n, 4, 4) the targets at times t (n,) s."""
        t = np.asarray(t, dtype=float)
        if self._poses is None:
            return self.arm.fk(self.joints(t))
        return np.stack([self._poses(ti) for ti in t])

    def tool_speed(self, n=2000) -> float:
        """The tool's largest speed along one loop, m/s (from n poses)."""
        t = np.arange(n + 1) * self.period / n
        p = self.poses(t)[:, :3, 3]
        return float(np.linalg.norm(np.diff(p, axis=0), axis=1).max() * n / self.period)

    def describe(self) -> dict:
        """JSON-ready description: kind, family, size, period, start joints, tool speed, note."""
        return {"kind": self.kind, "family": self.family, "size": self.size,
                "period_s": self.period, "q_start": [float(x) for x in self.q_start],
                "wrist_sigma_start": float(wrist_sigma(self.arm, self.q_start)[0]),
                "tool_speed_max": self.tool_speed(), "note": self.note}


def sampled(samples, period):
    """Joints at times t from one loop of samples (k, dof), periodic, linear in between."""
    k = samples.shape[0]
    loop = np.vstack([samples, samples[:1]])

    def joints(t):
        x = np.mod(t / period, 1.0) * k
        i = np.minimum(np.floor(x).astype(int), k - 1)
        w = (x - i)[:, None]
        return (1 - w) * loop[i] + w * loop[i + 1]

    return joints


def demo_curve(arm):
    """(period s, phase (dof,)) of target_publisher's default joint curve."""
    from ..ros.paths import curve_period

    phase = np.random.default_rng(DEMO["random_seed"]).uniform(0, 2 * math.pi, arm.dof)
    return curve_period(arm, DEMO["period"], DEMO["amplitude"]), phase


def candidates(arm, n=SINGULAR_CANDIDATES, seed=SINGULAR_SEED) -> np.ndarray:
    """(n, dof) configurations inside the limits (and within ±π), smallest wrist σ first."""
    lo, hi = np.maximum(arm.lower, -np.pi), np.minimum(arm.upper, np.pi)
    q = np.random.default_rng(seed).uniform(lo, hi, size=(n, arm.dof))
    return q[np.argsort(wrist_sigma(arm, q), kind="stable")]


def singular_start(arm, fits):
    """The first candidate configuration (smallest wrist σ first) for which fits(q) is not None.

    Returns ``(q (dof,), fits(q))``; raises ValueError when none fits.
    """
    for q in candidates(arm):
        got = fits(q)
        if got is not None:
            return q, got
    raise ValueError(f"no near-singular configuration of {arm.name} among "
                     f"{SINGULAR_CANDIDATES} fits a line")


def joint_shape(arm, kind, q_center, amplitude=JOINT_AMPLITUDE, period=PERIOD):
    """A joint-space circle, line or figure eight through q_center (dof,), or None.

    The shape is paths.offset's, in the plane of two random joint-space directions (fixed per
    arm and kind), scaled by ``amplitude`` times each joint's half range; halved until inside
    the limits (None if even amplitude/16 leaves them); the period is lengthened until no
    joint needs more than SPEED_FRACTION of its velocity limit. Returns ``(joints(t),
    amplitude, period)``.
    """
    from ..ros.paths import SAMPLES, SPEED_FRACTION, offset

    rng = np.random.default_rng([SINGULAR_SEED, zlib.crc32(arm.name.encode()),
                                 KINDS.index(kind)])
    d = rng.uniform(-1, 1, size=(2, arm.dof))
    d /= np.abs(d).max(axis=1, keepdims=True)
    half = 0.5 * (arm.upper - arm.lower)
    theta = 2 * math.pi * np.arange(SAMPLES) / SAMPLES
    off = np.array([offset(kind, th)[:2] for th in theta])   # (SAMPLES, 2)
    for _ in range(5):
        scale = amplitude * np.minimum(half, np.pi)
        q = q_center + (off @ d) * scale
        if np.all(arm.within_limits(q)):
            step = np.abs(np.diff(np.vstack([q, q[:1]]), axis=0)).max(axis=0)
            need = float(np.max(step * SAMPLES / period / (SPEED_FRACTION * arm.velocity)))
            per = period * max(1.0, need)
            shape = (d, scale, q_center)

            def joints(t, shape=shape, per=per):
                dd, sc, qc = shape
                th = 2 * np.pi * np.atleast_1d(t) / per
                o = np.array([offset(kind, x)[:2] for x in th])
                return qc + (o @ dd) * sc

            return joints, amplitude, per
        amplitude /= 2
    return None


def make_path(arm, kind, solver=None) -> TrackPath:
    """The ``kind`` path for ``arm`` (see the module docstring); ValueError if none fits."""
    from ..ros.paths import fit_path, joint_curve

    period, phase = demo_curve(arm)
    if kind == "joint_curve":
        amp = DEMO["amplitude"]
        q0 = joint_curve(arm, 0.0, period, amp, phase)
        return TrackPath(arm, kind, "joint", period, amp, q0,
                         f"target_publisher's default curve: amplitude {amp:g}, "
                         f"{period:.3g} s per loop, random_seed {DEMO['random_seed']}",
                         lambda t: np.array([joint_curve(arm, x, period, amp, phase)
                                             for x in np.atleast_1d(t)]))
    q_demo = joint_curve(arm, 0.0, 1.0, DEMO["amplitude"], phase)
    if holds_orientation(arm, q_demo):
        from ..solver import IKSolver

        solver = solver or IKSolver(arm, model=None)

        def fits(q):
            try:
                path, q_path = fit_path(arm, kind, q, CARTESIAN_SIZE, PERIOD, solver)
            except ValueError:
                return None
            if kind == "line" and (path.size < SINGULAR_MIN_SIZE
                                   or path.period > SINGULAR_MAX_PERIOD):
                return None
            return path, q_path

        if kind == "line":
            q0, (path, q_path) = singular_start(arm, fits)
        else:
            q0, got = q_demo, fits(q_demo)
            if got is None:
                raise ValueError(f"fit_path found no trackable {kind} of {arm.name} around "
                                 f"the demo's start pose, even {CARTESIAN_SIZE / 16:g} m")
            path, q_path = got
        sig = wrist_sigma(arm, q_path)
        note = (f"tool {kind.replace('_', ' ')} of {path.size:g} m in the base x-y plane, "
                f"orientation fixed; wrist σ {sig[0]:.3f} at the start, min {sig.min():.3f}")
        return TrackPath(arm, kind, "cartesian", path.period, path.size, q_path[0], note,
                         sampled(q_path, path.period), path.pose)
    why = ("3 joints: the tool cannot move with its orientation fixed" if arm.dof < 6 else
           "the Jacobian has rank 5: no fixed orientation can be held while the tool moves")
    if kind == "line":
        def long_enough(q):   # a line that moves: at least half the usual amplitude
            got = joint_shape(arm, kind, q)
            return got if got is not None and got[1] >= JOINT_AMPLITUDE / 2 else None

        q0, (joints, amp, per) = singular_start(arm, long_enough)
    else:
        q0, got = q_demo, joint_shape(arm, kind, q_demo)
        if got is None:
            raise ValueError(f"no joint-space {kind} of {arm.name} inside the limits")
        joints, amp, per = got
    sig = wrist_sigma(arm, joints(np.linspace(0, per, 400, endpoint=False)))
    note = (f"FK of a joint-space {kind.replace('_', ' ')} ({amp:g} of the half ranges; {why}); "
            f"wrist σ {sig[0]:.3f} at the start, min {sig.min():.3f}")
    return TrackPath(arm, kind, "joint", per, amp, q0, note, joints)


# ---------------------------------------------------------------- cases
@dataclass(frozen=True)
class Case:
    """One run: arm, path kind, sim_arm or not, start (on, off; "-" without sim), rate Hz."""

    arm: str
    kind: str
    feedback: bool
    start: str
    rate: float

    @property
    def label(self) -> str:
        """Short text: ``ur5 circle, joint_states, off-path start, 100 Hz``."""
        fb = "joint_states" if self.feedback else "no joint_states"
        st = f", {self.start}-path start" if self.feedback else ""
        return f"{self.arm} {self.kind}, {fb}{st}, {self.rate:g} Hz"


def case_list(arms, kinds, feedback=("with", "without"), starts=("on", "off"), rates=RATES):
    """Every case of the matrix, in run order.

    Without joint_states the node cannot know where the arm starts, so "on" and "off" would be
    the same experiment: it is run once (start "-").
    """
    out = []
    for arm in arms:
        for kind in kinds:
            for fb in ("with", "without"):
                if fb not in feedback:
                    continue
                for st in (starts if fb == "with" else ("-",)):
                    for rate in rates:
                        out.append(Case(arm, kind, fb == "with", st, float(rate)))
    return out


# ---------------------------------------------------------------- processes
def _param(name, value) -> str:
    if isinstance(value, bool):
        return f"{name}:={'true' if value else 'false'}"
    if isinstance(value, (list, tuple, np.ndarray)):
        return f"{name}:=[" + ",".join(repr(float(v)) for v in value) + "]"
    return f"{name}:={value}"


class NodeProcess:
    """``python -m ik_nn.ros.entry NAME`` in namespace ns, its output in a temporary file."""

    def __init__(self, name, ns, params):
        from ..resources import config_path

        self.name = name
        self.log = tempfile.NamedTemporaryFile("w+", prefix=f"track_{name}_", suffix=".log",
                                               delete=False)
        cmd = [sys.executable, "-m", "ik_nn.ros.entry", name, "--ros-args", "-r", f"__ns:={ns}",
               "--params-file", str(config_path("ik_nn.yaml"))]
        for k, v in params.items():
            cmd += ["-p", _param(k, v)]
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT,
                                     env=dict(os.environ, PYTHONUNBUFFERED="1"))

    def output(self) -> str:
        """The process's output so far."""
        return Path(self.log.name).read_text(errors="replace")

    def stop(self, timeout=15.0) -> int:
        """SIGINT, wait; kill only if it ignores that. Returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=timeout)
        self.log.close()
        return self.proc.returncode

    def remove_log(self):
        """Delete the output file."""
        Path(self.log.name).unlink(missing_ok=True)


def run_case(path, case, duration, tag="") -> dict:
    """Run one case; return the raw record (arrays of what was sent and received).

    rclpy must be initialised. Raises RuntimeError if a node exits or is not discovered.
    """
    import rclpy
    from diagnostic_msgs.msg import DiagnosticArray
    from geometry_msgs.msg import PoseStamped
    from rcl_interfaces.srv import GetParameters
    from rclpy.qos import QoSProfile
    from sensor_msgs.msg import JointState

    from ..ros import conversions as rc
    from ..ros.common import make_executor

    arm = path.arm
    n = max(2, int(round(duration * case.rate)))
    t_target = np.arange(n) / case.rate
    poses = path.poses(t_target)
    ns = f"/ik_track_{os.getpid()}_{tag}"
    spec = arm.name if arm.name in BUNDLED_ARMS else arm.path   # an arm file: its path
    procs = [NodeProcess("ik_node", ns, {"arm": spec, "model": "bundled",
                                         "max_speed_scale": 1.0})]
    if case.feedback:
        start = path.q_start if case.start == "on" else [0.0]
        procs.append(NodeProcess("sim_arm", ns, {"arm": spec, "initial_positions": start}))
    node = rclpy.create_node(f"ik_track_{os.getpid()}_{tag}")
    executor = make_executor()
    executor.add_node(node)
    cmds, statuses, ee = [], [], []
    got = np.zeros(n, dtype=bool)
    count = [0]
    base_ns = time.time_ns()
    clock = time.perf_counter_ns

    def on_command(msg):
        cmds.append((clock(), rc.stamp_to_ns(msg.header.stamp) - base_ns, msg.position))

    def on_status(msg):
        t = clock()
        last = len(msg.status) - 1
        for k, st in enumerate(msg.status):
            kv = {v.key: v.value for v in st.values}
            sec, _, nsec = kv.get("target_stamp", "").partition(".")
            try:
                i = int(sec) * 1_000_000_000 + int(nsec) - base_ns
            except ValueError:
                i = -1
            statuses.append((t, i, kv.get("code", ""), kv.get("seed", ""),
                             kv.get("joint_jump", "nan"), k == last))
            if 0 <= i < n and not got[i]:
                got[i] = True
                count[0] += 1

    def on_ee(msg):
        p = msg.pose.position
        ee.append((clock(), p.x, p.y, p.z))

    deep = QoSProfile(depth=max(5000, 2 * n))
    node.create_subscription(JointState, f"{ns}/joint_command", on_command, deep)
    node.create_subscription(DiagnosticArray, f"{ns}/ik_status", on_status, deep)
    if case.feedback:
        node.create_subscription(PoseStamped, f"{ns}/ee_pose", on_ee, deep)
    pub = node.create_publisher(PoseStamped, f"{ns}/target_pose",
                                QoSProfile(depth=max(1000, int(case.rate))))
    sent = np.zeros(n, dtype=np.int64)
    codes = {}
    try:
        def ready():
            ok = (pub.get_subscription_count() > 0
                  and node.count_publishers(f"{ns}/ik_status") > 0
                  and node.count_publishers(f"{ns}/joint_command") > 0)
            if case.feedback:   # sim_arm up, subscribed; ik_node subscribed to joint_states
                ok = ok and (node.count_publishers(f"{ns}/ee_pose") > 0
                             and node.count_publishers(f"{ns}/joint_states") > 0
                             and node.count_subscribers(f"{ns}/joint_states") > 0
                             and node.count_subscribers(f"{ns}/joint_command") > 1)
            return ok

        _spin_until(executor, procs, ready, DISCOVERY_TIMEOUT, "the nodes' topics")
        # ik_node spinning (its topics exist before it spins: targets sent earlier would
        # arrive as one burst): one answer from its parameter service
        client = node.create_client(GetParameters, f"{ns}/ik_node/get_parameters")
        _spin_until(executor, procs, client.service_is_ready, DISCOVERY_TIMEOUT,
                    "ik_node's parameter service")
        _call_until_answered(executor, procs, client, GetParameters.Request(names=["arm"]),
                             "an answer from ik_node's parameter service")
        if case.feedback:   # sim_arm publishing for 0.5 s more (100 Hz): ik_node has them too
            seen = len(ee)
            _spin_until(executor, procs, lambda: len(ee) >= seen + 50, DISCOVERY_TIMEOUT,
                        "50 ee_pose messages")
        msgs = [rc.pose_stamped(T, "base_link", rc.ns_to_stamp(base_ns + i))
                for i, T in enumerate(poses)]
        publish_paced(executor, pub, msgs, case.rate, sent)
        end = time.monotonic() + STRAGGLERS
        while count[0] < n and time.monotonic() < end:
            executor.spin_once(timeout_sec=0.01)
    finally:
        for p in procs:
            codes[p.name] = p.stop()
        failed = [p for p in procs if codes[p.name] not in (0,)]
        tails = {p.name: p.output()[-2000:] for p in failed}
        for p in procs:
            p.remove_log()
        executor.shutdown()
        node.destroy_node()
    q_cmd = np.array([list(c[2]) for c in cmds], dtype=float).reshape(-1, arm.dof)
    st = statuses
    return {
        "n": n, "t_target": t_target, "poses": poses, "sent_ns": sent,
        "cmd_ns": np.array([c[0] for c in cmds], dtype=np.int64),
        "cmd_idx": np.array([c[1] for c in cmds], dtype=np.int64), "cmd_q": q_cmd,
        "st_ns": np.array([s[0] for s in st], dtype=np.int64),
        "st_idx": np.array([s[1] for s in st], dtype=np.int64),
        "st_code": [s[2] for s in st], "st_seed": [s[3] for s in st],
        "st_jump": np.array([float(s[4] or "nan") for s in st]),
        "ee_ns": np.array([e[0] for e in ee], dtype=np.int64),
        "ee_p": np.array([e[1:] for e in ee], dtype=float).reshape(-1, 3),
        "exit_codes": codes, "failed_output": tails,
    }


def _call_until_answered(executor, procs, client, request, what, every=2.0):
    """Call a service until it answers, sending the request again every ``every`` s.

    A service can be "ready" (its request reader matched) before its response writer has
    matched this client's reader: the first answer is then lost (seen once in 96 cases with
    Fast DDS: no answer in 120 s). The request must be safe to repeat.
    """
    deadline = time.monotonic() + DISCOVERY_TIMEOUT
    while True:
        answer = client.call_async(request)
        try:
            _spin_until(executor, procs, answer.done,
                        min(every, max(deadline - time.monotonic(), 0.1)), what)
            return answer.result()
        except RuntimeError:
            client.remove_pending_request(answer)
            if any(p.proc.poll() is not None for p in procs):
                raise   # a node died: say so now
            if time.monotonic() >= deadline:
                raise RuntimeError(f"timed out after {DISCOVERY_TIMEOUT:.0f} s waiting for "
                                   f"{what}") from None


def _spin_until(executor, procs, predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while not predicate():
        for p in procs:
            if p.proc.poll() is not None:
                raise RuntimeError(f"{p.name} exited with {p.proc.returncode} while waiting "
                                   f"for {what}:\n{p.output()[-2000:]}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")
        executor.spin_once(timeout_sec=0.02)


# ---------------------------------------------------------------- figures
def analyse(path, case, raw) -> tuple:
    """Judge one case's record; return ``(row, series)``.

    row: the JSON-ready figures (module docstring); series: what the plots draw (times in s
    from the first target's publication, joints in rad, positions in m).
    """
    arm = path.arm
    n, rate = raw["n"], case.rate
    t0 = raw["sent_ns"][0]
    own = path.joints(raw["t_target"])                                 # (n, dof)
    own_step = float(np.abs(np.diff(own, axis=0)).max()) if n > 1 else 0.0
    # statuses: the first one per target
    code_of = {}
    seed_of = {}
    dup = 0
    for i, code, seed in zip(raw["st_idx"], raw["st_code"], raw["st_seed"]):
        if not 0 <= i < n:
            continue
        if i in code_of:
            dup += 1
            continue
        code_of[int(i)], seed_of[int(i)] = code, seed
    counts = {c: 0 for c in CODES}
    for c in code_of.values():
        counts[c if c in counts else "other"] = counts.get(c if c in counts else "other", 0) + 1
    commanded = sum(counts[c] for c in COMMANDED)
    handled = [i for i in sorted(code_of) if code_of[i] != "superseded"]
    first_seed = seed_of[handled[0]] if handled else ""
    reseeds = sum(seed_of[i] == "joint_states" for i in handled[1:])
    jump_of = {}
    for i, code, j in zip(raw["st_idx"], raw["st_code"], raw["st_jump"]):
        jump_of.setdefault(int(i), float(j))
    disc = [i for i in handled if code_of[i] == "discontinuity"]
    own_disc = [i for i in disc if seed_of[i] != "joint_states"]
    # commands
    q, idx = raw["cmd_q"], raw["cmd_idx"]
    t_cmd = (raw["cmd_ns"] - t0) * 1e-9
    m = len(q)
    if m > 1:
        d = np.abs(np.diff(q, axis=0))
        step = d.max(axis=1)
        a, b = np.clip(idx[:-1], 0, n - 1), np.clip(idx[1:], 0, n - 1)
        span = np.abs(own[b] - own[a]).max(axis=1)
        gap = np.maximum(np.diff(t_cmd), APPROACH_PERIOD)
        vel = 1.05 * np.outer(gap, arm.velocity) + 1e-3
        path_room = (np.maximum(2 * span, 2 * own_step) + 1e-3)[:, None]
        beyond = np.any(d > np.maximum(vel, path_room), axis=1)
    else:
        d, step, beyond = np.zeros((0, arm.dof)), np.zeros(0), np.zeros(0, dtype=bool)
    flips = int(np.sum(np.any(d > np.pi, axis=1)))
    # tracking: end effector vs each commanded target when the next target's command arrives
    P = raw["poses"][:, :3, 3]
    if case.feedback:
        ee_t, ee_p = (raw["ee_ns"] - t0) * 1e-9, raw["ee_p"]
    else:
        ee_t, ee_p = t_cmd, arm.fk(q)[:, :3, 3] if m else np.zeros((0, 3))
    errors, err_t, err_k = [], [], []
    for k in range(1, m):
        if idx[k] == idx[k - 1] or not 0 <= idx[k - 1] < n:
            continue
        # the latest end effector before this command: sim_arm's, or the previous command's
        j = np.searchsorted(ee_t, t_cmd[k], side="left") - 1 if case.feedback else k - 1
        if j < 0:
            continue
        errors.append(float(np.linalg.norm(ee_p[j] - P[idx[k - 1]])))
        err_t.append(t_cmd[k])
        err_k.append(k)
    errors = np.array(errors)
    close = np.flatnonzero(errors <= CAUGHT_UP)
    track = errors[close[0]:] if close.size else np.zeros(0)
    on_path = err_k[close[0]] - 1 if close.size else m   # first step once caught up
    sent = raw["sent_ns"]
    achieved = (n - 1) / max((sent[-1] - sent[0]) * 1e-9, 1e-9)
    row = {
        "arm": case.arm, "path": case.kind, "family": path.family, "feedback": case.feedback,
        "start": case.start, "rate_hz": rate, "achieved_rate_hz": float(achieved),
        "targets": n, "commanded": commanded / n, "statuses": counts,
        "no_status": int(n - len(code_of)), "duplicate_statuses": int(dup),
        "commands": int(m), "max_step": float(step.max()) if step.size else float("nan"),
        "own_max_step": own_step, "steps_over_0.1": int(np.sum(step > BIG_STEP)),
        "flips": flips, "beyond_path": int(beyond.sum()),
        "beyond_path_caught_up": int(beyond[max(on_path, 0):].sum()),
        "max_step_caught_up": float(step[max(on_path, 0):].max()) if step[max(on_path, 0):].size
        else float("nan"),
        "track_p50": percentile(track, 50), "track_p95": percentile(track, 95),
        "track_samples": int(track.size), "track_all_samples": int(errors.size),
        "caught_up_s": float(err_t[close[0]]) if close.size else None,
        "first_seed": first_seed, "joint_states_reseeds": int(reseeds), "runs": 1,
        "discontinuity_after_reseed": len(disc) - len(own_disc),
        "discontinuity_from_last_command": len(own_disc),
        "discontinuity_max_jump": max((jump_of[i] for i in own_disc), default=float("nan")),
        "exit_codes": raw["exit_codes"],
    }
    if raw.get("failed_output"):
        row["failed_output"] = raw["failed_output"]   # the last lines of a node that failed
    row["verdict"] = verdict(row)
    series = {   # rounded: 0.1 ms, 1e-5 rad, 10 µm
        "t_cmd": np.round(t_cmd, 4).tolist(), "q_cmd": np.round(q, 5).tolist(),
        "t_own": np.round(raw["t_target"], 4).tolist(), "q_own": np.round(own, 5).tolist(),
        "target_xy": np.round(P[:, :2], 5).tolist(), "ee_xy": np.round(ee_p[:, :2], 5).tolist(),
        "t_discontinuity": [round(float((raw["sent_ns"][i] - t0) * 1e-9), 4) for i in disc],
    }
    return row, series


def verdict(row) -> list:
    """The criteria a case failed: flips, steps beyond the path, lost targets, node exit."""
    out = []
    if row["flips"]:
        out.append(f"{row['flips']} flips")
    if row["beyond_path"]:
        out.append(f"{row['beyond_path']} steps beyond the path")
    if row["no_status"]:
        out.append(f"{row['no_status']} targets without status")
    bad = {k: v for k, v in row["exit_codes"].items() if v != 0}
    if bad:
        out.append("exit " + ", ".join(f"{k} {v}" for k, v in bad.items()))
    return out


# ---------------------------------------------------------------- measuring
def measure(arms=BUNDLED_ARMS, kinds=KINDS, rates=RATES, duration=DURATION,
            feedback=("with", "without"), starts=("on", "off"), log=print,
            command=None) -> dict:
    """Run the matrix; return the report: machine, command, paths, skipped, rows, series.

    command: the command line to record (default: this process's arguments).
    """
    from ..ros.bringup import ros_environment

    ros_environment()
    import rclpy

    info = machine()
    info["loadavg_start"] = loadavg()
    began = time.monotonic()
    report = {"machine": info, "command": command or _command_line(), "duration_s": duration,
              "paths": {}, "skipped": [], "rows": [], "series": {}}
    paths = {}
    for name in arms:
        arm = load_arm(name)
        report["paths"][arm.name] = {}
        for kind in kinds:
            try:
                p = make_path(arm, kind)
            except ValueError as exc:
                report["skipped"].append({"arm": arm.name, "path": kind, "reason": str(exc)})
                log(f"track: skip {arm.name} {kind}: {exc}")
                continue
            paths[(name, kind)] = p
            report["paths"][arm.name][kind] = p.describe()
    todo = [c for c in case_list(arms, kinds, feedback, starts, rates)
            if (c.arm, c.kind) in paths]
    owns = not rclpy.ok()
    if owns:
        rclpy.init()
    try:
        for k, case in enumerate(todo):
            path = paths[(case.arm, case.kind)]
            c = Case(path.arm.name, case.kind, case.feedback, case.start, case.rate)
            try:
                raw = run_case(path, c, duration, tag=str(k))
            except RuntimeError as exc:
                report["skipped"].append({"arm": c.arm, "path": c.kind, "case": c.label,
                                          "reason": f"run failed: {exc}"})
                log(f"track: [{k + 1}/{len(todo)}] {c.label}: FAILED: {exc}")
                continue
            row, series = analyse(path, c, raw)
            if c.feedback and row["first_seed"] != "joint_states":
                # ik_node took its first target before any joint_states reached it (the
                # topics matched, the messages not yet): a start-up race, not what is measured
                log(f"track: [{k + 1}/{len(todo)}] {c.label}: first seed "
                    f"{row['first_seed'] or 'none'}, not joint_states: run again")
                first = row["first_seed"] or "none"
                try:
                    row, series = analyse(path, c, run_case(path, c, duration, tag=f"{k}b"))
                except RuntimeError as exc:
                    log(f"track: [{k + 1}/{len(todo)}] {c.label}: FAILED: {exc}")
                row["runs"], row["first_run_seed"] = 2, first
            report["rows"].append(row)
            report["series"][series_key(c)] = series
            log(f"track: [{k + 1}/{len(todo)}] {c.label}: {one_line(row)}")
    finally:
        if owns:
            rclpy.try_shutdown()
    info["loadavg_end"] = loadavg()
    report["run_time_s"] = time.monotonic() - began
    keep = {representative(report, a, k) for a in report["paths"] for k in KINDS}
    report["series"] = {k: v for k, v in report["series"].items() if k in keep}
    return report


def _command_line():
    import shlex

    return "ik-nn " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def series_key(case) -> str:
    """The key of a case's series in the report: ``arm/path/with|without/start/rate``."""
    return (f"{case.arm}/{case.kind}/{'with' if case.feedback else 'without'}/{case.start}/"
            f"{case.rate:g}")


def one_line(row) -> str:
    """A case's figures in one line (progress output)."""
    s = row["statuses"]
    return (f"commanded {100 * row['commanded']:.1f} %, step max {row['max_step']:.3f} rad "
            f"(own {row['own_max_step']:.2g}), >0.1: {row['steps_over_0.1']}, flips "
            f"{row['flips']}, beyond {row['beyond_path']} ({row['beyond_path_caught_up']} "
            f"caught up), track p50/p95 "
            f"{_mm(row['track_p50'])}/{_mm(row['track_p95'])} mm, no status "
            f"{row['no_status']}, approach {s['approach']}, discontinuity "
            f"{s['discontinuity']}, superseded {s['superseded']}, first seed "
            f"{row['first_seed'] or '-'} (+{row['joint_states_reseeds']} joint_states)"
            + (f"; FAILED: {', '.join(row['verdict'])}" if row["verdict"] else ""))


def _mm(x) -> str:
    return "—" if x is None or not np.isfinite(x) else f"{1e3 * x:.2f}"


# ---------------------------------------------------------------- report
TABLE_HEAD = ("| arm | path | joint_states | start | rate | commanded | largest step (path's own) "
              "| steps > 0.1 rad | 2π flips | beyond path (once caught up) | tracking p50 / p95 "
              "| no status | approach / discontinuity / superseded / unreachable "
              "| first seed (+ later joint_states seeds) |")


def _bold(x) -> str:
    """A failed criterion's count in bold (0 plain)."""
    return f"**{x}**" if x else f"{x}"


def table(rows) -> str:
    """One Markdown row per case."""
    lines = [TABLE_HEAD, "|" + "---|" * 14]
    bold = _bold
    for r in rows:
        s = r["statuses"]
        track = (f"{_mm(r['track_p50'])} / {_mm(r['track_p95'])} mm" if r["track_samples"]
                 else "never ≤ 1 mm")
        lines.append(
            f"| {r['arm']} | {r['path']} | {'yes' if r['feedback'] else 'no'} | "
            f"{r['start'] if r['feedback'] else '—'} | {r['rate_hz']:g} Hz | "
            f"{100 * r['commanded']:.1f} % | {r['max_step']:.2g} ({r['own_max_step']:.2g}) rad | "
            f"{r['steps_over_0.1']} | {bold(r['flips'])} | "
            f"{bold(r['beyond_path'])} ({r['beyond_path_caught_up']}) | {track} | "
            f"{bold(r['no_status'])} | {s['approach']} / {s['discontinuity']} / "
            f"{s['superseded']} / {s['unreachable']} | {r['first_seed'] or '—'}"
            + (f" (+{r['joint_states_reseeds']})" if r["joint_states_reseeds"] else "") + " |")
    return "\n".join(lines)


def paths_table(report) -> str:
    """The paths as Markdown: arm, path, family, size, period, description."""
    lines = ["| arm | path | targets | period | tool speed (max) | how |",
             "|---|---|---|---|---|---|"]
    for arm, kinds in report["paths"].items():
        for kind, p in kinds.items():
            fam = "Cartesian, full pose" if p["family"] == "cartesian" else "FK of joint motion"
            lines.append(f"| {arm} | {kind} | {fam} | {p['period_s']:.2f} s | "
                         f"{p['tool_speed_max']:.3f} m/s | {p['note']} |")
    return "\n".join(lines)


def failures(report) -> list:
    """Markdown bullet lines: failed cases, discontinuities by cause, reruns, skipped."""
    rows = report["rows"]
    out = []
    for r in rows:
        if r["verdict"]:
            out.append(f"- **{_label(r)}**: {', '.join(r['verdict'])}.")
    own = [r for r in rows if r["discontinuity_from_last_command"]]
    if own:
        out.append("- No continuous solution within the velocity limits: `discontinuity` "
                   "statuses seeded from the node's own last command (count, largest "
                   "`joint_jump` from it): "
                   + "; ".join(f"{_label(r)} ({r['discontinuity_from_last_command']}, "
                               f"{r['discontinuity_max_jump']:.3f} rad)" for r in own) + ".")
    reseeded = [r for r in rows if r["discontinuity_after_reseed"]]
    if reseeded:
        n = sum(r["discontinuity_after_reseed"] for r in reseeded)
        out.append(f"- {n} `discontinuity` statuses in {len(reseeded)} cases came right after "
                   "the node re-seeded from joint_states (its commands had run more than "
                   "`reference_tol` ahead of the arm): the jump is back to where the arm is, "
                   "not a jump of the IK.")
    again = [r for r in rows if r.get("runs", 1) > 1]
    if again:
        out.append("- Run twice, because in the first run ik_node took its first target before "
                   "any joint_states reached it (a start-up race of the bench, not measured): "
                   + "; ".join(f"{_label(r)} (first seed then: {r.get('first_run_seed')})"
                               for r in again) + ".")
    for s in report["skipped"]:
        out.append(f"- Skipped {s['arm']} {s['path']}"
                   + (f" ({s['case']})" if "case" in s else "") + f": {s['reason']}.")
    return out or ["- none: every case commanded without flips, without steps beyond the "
                   "path and with a status for every target."]


def failures_by_arm(report) -> list:
    """Markdown bullet lines, one per arm: its failed cases, grouped by what failed."""
    out = []
    failed = [r for r in report["rows"] if r["verdict"]]
    for arm in dict.fromkeys(r["arm"] for r in report["rows"]):
        groups = {}   # (what failed, start) -> {rate: [paths]}
        for r in failed:
            if r["arm"] != arm:
                continue
            why = ", ".join(v.split(" ", 1)[1] for v in r["verdict"])
            start = f"{r['start']}-path start" if r["feedback"] else "no joint_states"
            groups.setdefault((why, start), {}).setdefault(f"{r['rate_hz']:g} Hz", []).append(
                r["path"])
        parts = []
        for (why, start), rates in groups.items():
            merged = {}   # the same paths at several rates: one entry
            for rate, paths in rates.items():
                merged.setdefault(", ".join(paths), []).append(rate)
            parts += [f"{why}, {start} at {' and '.join(rs)}: {paths}"
                      for paths, rs in merged.items()]
        if parts:
            out.append(f"- {arm}: " + "; ".join(parts) + ".")
    skipped = [f"{s['arm']} {s['path']}" for s in report["skipped"]]
    if skipped:
        out.append(f"- skipped: {', '.join(skipped)} (reasons in the full report).")
    return out or ["- none."]


def _label(r) -> str:
    fb = "joint_states" if r["feedback"] else "no joint_states"
    st = f", {r['start']}-path start" if r["feedback"] else ""
    return f"{r['arm']} {r['path']}, {fb}{st}, {r['rate_hz']:g} Hz"


def section(report, assets="bench", brief=False) -> str:
    """The generated Markdown: how it was measured, the table (or a summary), failures, PNGs.

    assets: the folder of the PNGs relative to the Markdown file; brief: a per-arm summary
    instead of the case table (for the README).
    """
    m = report["machine"]
    rows = report["rows"]
    head = [
        f"Measured {m['date']} on {m['processor']} ({m['cpus']} CPUs), Python {m['python']}, "
        f"load average {m.get('loadavg_start', float('nan')):.2f} at start / "
        f"{m.get('loadavg_end', float('nan')):.2f} at end; {len(rows)} cases of "
        f"{report['duration_s']:g} s in {report.get('run_time_s', float('nan')) / 60:.1f} min.",
        f"Command: `{report['command']}`.",
        "",
    ]
    if brief:
        body = [summary_table(rows), "", "Cases that failed a criterion:", "",
                *failures_by_arm(report), "",
                "Paths, definitions, the table of every case and what the failures mean: "
                "[docs/tracking.md](docs/tracking.md)."]
    else:
        body = ["Paths:", "", paths_table(report), "", table(rows), "",
                "Cases that failed a criterion (bold in the table), cases without a continuous "
                "solution, and skipped cases:", "", *failures(report)]
    pics = [f"![tracking {a}]({assets}/track_{a}.png)" for a in report.get("plots", [])]
    return "\n".join(head + body + ([""] + pics if pics else []))


def summary_table(rows) -> str:
    """Per arm: cases, commanded share (min), flips, beyond path, lost, discontinuities."""
    lines = ["| arm | cases | commanded (lowest) | largest step | cases with flips "
             "| steps beyond path | targets without status "
             "| cases with a discontinuity from the last command |",
             "|---|---|---|---|---|---|---|---|"]
    for arm in dict.fromkeys(r["arm"] for r in rows):
        rs = [r for r in rows if r["arm"] == arm]
        lines.append(
            f"| {arm} | {len(rs)} | {100 * min(r['commanded'] for r in rs):.1f} % | "
            f"{max(r['max_step'] for r in rs):.3f} rad | {sum(r['flips'] > 0 for r in rs)} | "
            f"{sum(r['beyond_path'] for r in rs)} | {sum(r['no_status'] for r in rs)} | "
            f"{sum(r['discontinuity_from_last_command'] > 0 for r in rs)} |")
    return "\n".join(lines)


# ---------------------------------------------------------------- plots
def representative(report, arm, kind):
    """The key of the case drawn for (arm, kind): joint_states, off-path, 100 Hz if run."""
    keys = [k for k in report["series"] if k.startswith(f"{arm}/{kind}/")]
    prefer = f"{arm}/{kind}/with/off/100"
    return prefer if prefer in keys else (keys[0] if keys else None)


def plot_arms(report, outdir, dpi=80) -> list:
    """Write track_<arm>.png per arm into outdir; return the arm names drawn.

    Per path (a row): commanded joints over time, the path's own joints over time (same
    scale), and the end effector's x-y path against the targets.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    drawn = []
    rows = {series_key(Case(r["arm"], r["path"], r["feedback"], r["start"], r["rate_hz"])): r
            for r in report["rows"]}
    for arm, kinds in report["paths"].items():
        kinds = [k for k in KINDS if representative(report, arm, k)]
        if not kinds:
            continue
        fig, ax = plt.subplots(len(kinds), 3, figsize=(13, 2.7 * len(kinds)), squeeze=False,
                               gridspec_kw={"width_ratios": [2.2, 2.2, 1]})
        for i, kind in enumerate(kinds):
            key = representative(report, arm, kind)
            s, r = report["series"][key], rows.get(key)
            q_cmd, q_own = np.array(s["q_cmd"]), np.array(s["q_own"])
            t_cmd, t_own = np.array(s["t_cmd"]), np.array(s["t_own"])
            a0, a1, a2 = ax[i]
            for j in range(q_own.shape[1]):
                if q_cmd.size:
                    a0.plot(t_cmd, q_cmd[:, j], color=f"C{j}", lw=1, label=f"q{j + 1}")
                a1.plot(t_own, q_own[:, j], color=f"C{j}", lw=1)
            for t in s["t_discontinuity"]:
                a0.axvline(t, color="r", lw=0.6, alpha=0.5)
            lo = min(q_own.min(), q_cmd.min() if q_cmd.size else q_own.min())
            hi = max(q_own.max(), q_cmd.max() if q_cmd.size else q_own.max())
            for a in (a0, a1):
                a.set_ylim(lo - 0.1, hi + 0.1)
                a.grid(alpha=0.3)
                a.tick_params(labelsize=7)
            a0.set_xlim(a1.get_xlim())
            a0.set_ylabel(f"{kind}\nrad", fontsize=8)
            cap = key.split("/")
            where = (f"joint_states, {cap[3]}-path start" if cap[2] == "with"
                     else "no joint_states")
            a0.set_title(f"commanded ({where}, {cap[4]} Hz)"
                         + (f": {r['flips']} flips, largest step {r['max_step']:.3f} rad"
                            if r else ""), fontsize=8)
            a1.set_title(f"the path's own joints (largest step {r['own_max_step']:.3f} rad)"
                         if r else "the path's own joints", fontsize=8)
            tgt, ee = np.array(s["target_xy"]), np.array(s["ee_xy"])
            a2.plot(tgt[:, 0], tgt[:, 1], color="0.6", lw=3, label="targets")
            if ee.size:
                a2.plot(ee[:, 0], ee[:, 1], color="C3", lw=0.8,
                        label="end effector" if cap[2] == "with" else "FK of commands")
            mid = 0.5 * (tgt.min(axis=0) + tgt.max(axis=0))
            half = max(0.65 * np.ptp(tgt, axis=0).max(), 0.005)
            a2.set_xlim(mid[0] - half, mid[0] + half)
            a2.set_ylim(mid[1] - half, mid[1] + half)
            a2.set_aspect("equal")
            a2.set_title("tool x-y (m), around the targets", fontsize=8)
            a2.tick_params(labelsize=6)
            if i == 0:
                a0.legend(fontsize=6, ncol=3, loc="best")
                a2.legend(fontsize=6, loc="best")
        ax[-1, 0].set_xlabel("time since the first target (s); red lines: discontinuity "
                             "statuses", fontsize=8)
        ax[-1, 1].set_xlabel("target time (s)", fontsize=8)
        fig.suptitle(f"{arm}: joints commanded by ik_node (left) beside the path's own joint "
                     "motion (middle): a flip or a branch switch is a spike on the left; "
                     "right: the tool against the targets", fontsize=9)
        fig.tight_layout()
        fig.savefig(outdir / f"track_{arm}.png", dpi=dpi)
        plt.close(fig)
        drawn.append(arm)
    return drawn


# ---------------------------------------------------------------- command
def write_json(path, report):
    """Write the report to path (indented) and its plotted series beside it, compact.

    The series go to ``<stem>_series.json``: a few thousand numbers per drawn case.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figures = {k: v for k, v in report.items() if k != "series"}
    path.write_text(json.dumps(figures, indent=1) + "\n")
    series = path.with_name(f"{path.stem}_series.json")
    series.write_text(json.dumps(report.get("series", {}), separators=(",", ":")) + "\n")
    return path


def read_json(path) -> dict:
    """A report written by :func:`write_json` (with its series when the file is there)."""
    path = Path(path)
    report = json.loads(path.read_text())
    series = path.with_name(f"{path.stem}_series.json")
    report["series"] = json.loads(series.read_text()) if series.is_file() else {}
    return report


def run(args) -> int:
    """Run ``ik-nn bench --track`` from parsed arguments; return the exit code.

    2 if a ``--report`` file has no track markers, 1 if a case failed a criterion (a flip, a
    step beyond the path, a target without a status, a node not exiting cleanly), else 0.
    """
    quick = getattr(args, "quick", False)
    if getattr(args, "from_json", None):
        report = read_json(args.from_json)
    else:
        arms = args.track_arms or list(QUICK["arms"] if quick else BUNDLED_ARMS)
        kinds = args.track_paths or list(QUICK["paths"] if quick else KINDS)
        rates = args.track_rates or list(QUICK["rates"] if quick else RATES)
        duration = args.track_duration or (QUICK["duration"] if quick else DURATION)
        cases = case_list(arms, kinds, args.track_feedback, args.track_starts, rates)
        print(f"ik-nn bench --track: {len(cases)} cases of {duration:g} s "
              f"({', '.join(arms)}; {', '.join(kinds)}; {' '.join(f'{r:g}' for r in rates)} Hz)",
              flush=True)
        report = measure(arms, kinds, rates, duration, args.track_feedback, args.track_starts,
                         log=lambda s: print(s, flush=True))
    out = Path(args.out) if getattr(args, "out", None) else None
    if out is not None and not getattr(args, "no_plots", False):
        report["plots"] = plot_arms(report, out)
    if out is not None:
        write_json(out / "track.json", report)
    if getattr(args, "json", None):
        write_json(args.json, report)
    print()
    print(section(report, assets=str(out or "docs/bench")))
    missing = []
    for md in getattr(args, "report", None) or []:
        assets = os.path.relpath(out or "docs/bench", Path(md).resolve().parent)
        brief = Path(md).name.lower().startswith("readme")
        if not replace_section(md, section(report, assets=assets, brief=brief), "track"):
            missing.append(md)
    if missing:
        print(f"no {START} ... {END} markers in: {', '.join(missing)} (left unchanged)")
        return 2
    return 1 if any(r["verdict"] for r in report["rows"]) else 0

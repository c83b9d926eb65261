"""``ik_node``: PoseStamped targets in, JointState commands out (see docs/ros.md).

Topics (relative: push the node into a namespace to run several arms):

* sub ``target_pose`` (geometry_msgs/PoseStamped): targets, in ``base_frame``;
* sub ``joint_states`` (sensor_msgs/JointState): the arm's current joints, read by joint name;
  they seed the solver and pick the branch nearest to them. Optional: without them the network
  alone seeds;
* pub ``joint_command`` (sensor_msgs/JointState): only for solved targets; names, positions and
  the target's header stamp;
* pub ``ik_status`` (diagnostic_msgs/DiagnosticArray): one DiagnosticStatus per target taken:
  level OK (message ``solved``), WARN (well-formed target not commanded: unreachable, joint jump,
  superseded) or ERROR (malformed target, solver error); values ``code``, ``pos_err``,
  ``rot_err``, ``iterations``, ``solve_time_ms``, ``seed``, ``target_stamp``, ``joint_jump`` and
  ``note`` (see docs/ros.md). One message per target handled (header.stamp = its stamp, its
  status last), preceded in the same message by the statuses of the targets it superseded.

Flood control (latest wins, bounded): the target subscription is KEEP_LAST with depth
:data:`TARGET_QUEUE_DEPTH`, and the callback, before solving, takes every further target already
waiting in that queue (the same ``take_message`` call rclpy's executors use) and solves only the
newest; each target skipped that way gets a WARN ``superseded`` status and no command. So a burst
of N targets costs one solve, never N, whatever the executor, and the queue depth only absorbs
short stalls of the process (a loaded machine) instead of losing targets. Targets the middleware
dropped from a full queue (more than the depth arrived during one solve) get no status.
"""
from __future__ import annotations

import math
import time
from array import array

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from geometry_msgs.msg import PoseStamped
from rclpy.node import Node
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import JointState

from ..arm import ARM_HELP, load_arm
from ..solver import IKSolver
from . import conversions as rc
from .common import ConfigError, declare, run

LOG_THROTTLE_S = 2.0
TARGET_QUEUE_DEPTH = 10
STATUS_KEYS = ("code", "pos_err", "rot_err", "iterations", "solve_time_ms", "seed",
               "target_stamp", "joint_jump", "note")

OK, WARN, ERROR = DiagnosticStatus.OK, DiagnosticStatus.WARN, DiagnosticStatus.ERROR


def model_argument(value: str):
    """The ``model`` parameter as IKSolver takes it: "bundled", None (none/empty) or a path."""
    v = value.strip()
    if v.lower() in ("", "none", "null", "off"):
        return None
    return v


class IKNode(Node):
    """Solve each PoseStamped target and command the arm (see the module docstring)."""

    def __init__(self, **kwargs):
        started = time.monotonic()
        super().__init__("ik_node", **kwargs)
        log = self.get_logger()
        p = self._declare_parameters()
        log.info(f"starting: loading arm {p['arm']!r}")
        self.arm = load_arm(p["arm"])
        log.info(f"arm {self.arm.name}: {self.arm.dof} joints from {self.arm.path}; "
                 f"loading the solver (model {p['model']!r})")
        self.solver = IKSolver(
            self.arm, model=model_argument(p["model"]), refine=p["refine"],
            pos_tol=p["pos_tol"], rot_tol=p["rot_tol"], max_iterations=p["max_iterations"],
            timeout=p["timeout"], onnx_threads=p["onnx_threads"],
        )
        self.base_frame = p["base_frame"]
        self.accept_empty_frame = p["accept_empty_frame"]
        self.position_only = p["position_only"]
        self.max_joint_jump = p["max_joint_jump"]
        self.joint_names = tuple(self.arm.joint_names)
        self._origin = self.arm.base[:3, 3].copy()
        self._current = None          # (dof,) latest joint_states, or None
        self.counts = {"targets": 0, "solved": 0, "superseded": 0}
        self._skipped = []            # targets superseded while taking the newest one
        log.info("solver loaded; warming up (one solve per path)")
        self._warm_up()

        latest = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1,
                            reliability=ReliabilityPolicy.RELIABLE)
        targets = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=TARGET_QUEUE_DEPTH,
                             reliability=ReliabilityPolicy.RELIABLE)
        self._cmd_msg = rc.joint_state(self.joint_names, np.zeros(self.arm.dof))
        self._status_values = [KeyValue(key=k) for k in STATUS_KEYS]
        self._status_msg = DiagnosticArray(status=[DiagnosticStatus(
            name=f"{self.get_fully_qualified_name()}: target", hardware_id=self.arm.name,
            values=self._status_values)])
        self._status_values = self._status_msg.status[0].values
        self.cmd_pub = self.create_publisher(JointState, "joint_command", 10)
        self.status_pub = self.create_publisher(DiagnosticArray, "ik_status", 10)
        self.create_subscription(JointState, "joint_states", self._on_joint_state,
                                 latest)
        self._target_sub = self.create_subscription(PoseStamped, "target_pose", self._on_target,
                                                    targets)
        log.info(f"ready in {time.monotonic() - started:.2f} s: arm {self.arm.name}, model "
                 f"{self.solver.model_path or 'none (no network)'}, base_frame "
                 f"'{self.base_frame}'")

    # ------------------------------------------------------------------ parameters
    def _declare_parameters(self) -> dict:
        d = {}
        d["arm"] = declare(self, "arm", "ur5",
                           ARM_HELP)
        d["model"] = declare(self, "model", "bundled",
                             "Seeding network: 'bundled' (models/<arm>.onnx), a path to an .onnx "
                             "file, or 'none' for no network (solver restarts only)")
        d["refine"] = declare(self, "refine", True,
                              "Refine the network's hypotheses with Levenberg-Marquardt")
        d["position_only"] = declare(self, "position_only", False,
                                     "Solve for the position only and ignore the orientation")
        d["pos_tol"] = declare(self, "pos_tol", 1e-6, "Position tolerance (m) for success")
        d["rot_tol"] = declare(self, "rot_tol", 1e-6, "Rotation tolerance (rad) for success")
        d["max_iterations"] = declare(self, "max_iterations", 100,
                                      "Levenberg-Marquardt iterations per attempt")
        d["timeout"] = declare(self, "timeout", 0.02,
                               "Time budget (s) for one target, restarts included")
        d["base_frame"] = declare(self, "base_frame", "base_link",
                                  "Frame the targets must be expressed in (header.frame_id)")
        d["accept_empty_frame"] = declare(self, "accept_empty_frame", True,
                                          "Accept targets whose frame_id is empty as base_frame")
        d["max_joint_jump"] = declare(
            self, "max_joint_jump", 0.0,
            "Largest joint move (rad, any joint) from the current joint_states a solution may "
            "ask for; farther solutions are reported (WARN joint_jump) and not commanded. "
            "0 disables the check (it also needs joint_states)")
        d["onnx_threads"] = declare(self, "onnx_threads", 1,
                                    "Threads onnxruntime may use for the network (per call)")
        for name in ("pos_tol", "rot_tol", "timeout"):
            if not d[name] > 0:
                raise ConfigError(f"parameter '{name}' must be > 0, got {d[name]}")
        if d["max_iterations"] < 1 or d["onnx_threads"] < 1:
            raise ConfigError("parameters 'max_iterations' and 'onnx_threads' must be >= 1")
        if not d["max_joint_jump"] >= 0:
            raise ConfigError(
                f"parameter 'max_joint_jump' must be >= 0, got {d['max_joint_jump']}")
        if not d["base_frame"]:
            raise ConfigError("parameter 'base_frame' must not be empty")
        return d

    def _warm_up(self):
        """One solve before the topics exist: compile/load everything the first target needs."""
        q = np.clip(np.zeros(self.arm.dof), self.arm.lower, self.arm.upper)
        T = self.arm.fk(q)[0]
        self.solver.solve(T, seed=None, position_only=self.position_only)
        self.solver.solve(T, seed=q, position_only=self.position_only)

    # ------------------------------------------------------------------ callbacks
    def _on_joint_state(self, msg):
        q, reason = rc.positions_by_name(msg, self.joint_names)
        if q is None:
            self.get_logger().warning(f"ignoring joint_states: {reason}",
                                   throttle_duration_sec=LOG_THROTTLE_S)
            return
        self._current = q

    def _on_target(self, msg):
        t0 = time.perf_counter()
        self.counts["targets"] += 1
        self._skipped = []
        try:
            msg = self._latest_target(msg, t0)
            self._solve_target(msg, t0)
        except Exception as exc:  # never let one target take the node down
            self.get_logger().error(f"solver error: {exc!r}", throttle_duration_sec=LOG_THROTTLE_S)
            self._status(msg, ERROR, "solver_error", f"solver error: {exc}", t0)

    def _latest_target(self, msg, t0):
        """The newest target received so far: drain the subscription's queue.

        Every target skipped that way gets a WARN ``superseded`` status (and no command), sent
        in the same DiagnosticArray as the newest target's status: one publish however long the
        backlog.
        """
        sub = self._target_sub
        while True:
            try:
                with sub.handle:   # what rclpy's executors and wait_for_message do to take one
                    taken = sub.handle.take_message(sub.msg_type, sub.raw)
            except Exception:      # an rclpy without this (internal) call: no draining
                return msg
            if taken is None:
                return msg
            self.counts["targets"] += 1
            self.counts["superseded"] += 1
            self._skipped.append(msg)   # reported with the newest one's status, in one message
            msg = taken[0]

    def _solve_target(self, msg, t0):
        check = rc.check_pose(msg, self.base_frame, self.accept_empty_frame)
        if not check.ok:
            self.get_logger().warning(f"rejected target: {check.reason}",
                                   throttle_duration_sec=LOG_THROTTLE_S)
            self._status(msg, ERROR, check.code, f"rejected: {check.reason}", t0)
            return
        T = check.T
        dist = float(np.linalg.norm(T[:3, 3] - self._origin))
        if dist > self.arm.reach * (1 + 1e-9) + 1e-9:
            reason = (f"unreachable: target is {dist:.4g} m from the base, "
                      f"the arm reaches {self.arm.reach:.4g} m")
            self.get_logger().warning(reason, throttle_duration_sec=LOG_THROTTLE_S)
            self._status(msg, WARN, "unreachable", reason, t0, note=check.note)
            return
        seed = self._current
        res = self.solver.solve(T, seed=seed, position_only=self.position_only)
        q = np.asarray(res.q)[0]
        values = {"pos_err": float(res.pos_err[0]), "rot_err": float(res.rot_err[0]),
                  "iterations": int(res.iterations[0])}
        seed_name = "joint_states" if seed is not None else "network"
        if not bool(res.success[0]) or not np.all(np.isfinite(q)):
            reason = (f"unreachable: no solution within tolerance (best pos_err "
                      f"{values['pos_err']:.3g} m, rot_err {values['rot_err']:.3g} rad)")
            self.get_logger().warning(reason, throttle_duration_sec=LOG_THROTTLE_S)
            self._status(msg, WARN, "unreachable", reason, t0, values, seed_name, check.note)
            return
        if self.max_joint_jump > 0 and seed is not None:
            jump = float(np.max(np.abs(q - seed)))
            values["joint_jump"] = jump
            if jump > self.max_joint_jump:
                reason = (f"joint jump {jump:.4g} rad exceeds max_joint_jump "
                          f"{self.max_joint_jump:.4g} rad "
                          "(nearest solution to the current joints)")
                self.get_logger().warning(reason, throttle_duration_sec=LOG_THROTTLE_S)
                self._status(msg, WARN, "joint_jump", reason, t0, values, seed_name, check.note)
                return
        self._command(q, msg.header.stamp)
        self.counts["solved"] += 1
        self._status(msg, OK, "solved", "solved", t0, values, seed_name, check.note)

    # ------------------------------------------------------------------ status
    def _status(self, msg, level, code, message, t0, values=None, seed="", note=""):
        # one message object, refilled: publish() serialises it at once, and building a fresh
        # DiagnosticArray per target costs more than solving one
        values = values or {}
        v = self._status_values
        v[0].value = code
        v[1].value = _fmt(values.get("pos_err", math.nan))
        v[2].value = _fmt(values.get("rot_err", math.nan))
        v[3].value = str(values.get("iterations", 0))
        v[4].value = f"{(time.perf_counter() - t0) * 1e3:.4f}"
        v[5].value = seed
        v[6].value = f"{msg.header.stamp.sec}.{msg.header.stamp.nanosec:09d}"
        v[7].value = _fmt(values.get("joint_jump", math.nan))
        v[8].value = note
        st = self._status_msg.status[0]
        st.level = level
        st.message = message
        arr = self._status_msg
        if self._skipped:
            arr = DiagnosticArray(status=[self._superseded(m) for m in self._skipped] + [st])
            self._skipped = []
        arr.header.stamp = msg.header.stamp
        arr.header.frame_id = msg.header.frame_id
        self.status_pub.publish(arr)

    def _superseded(self, msg):
        values = dict.fromkeys(STATUS_KEYS, "")
        values.update(code="superseded", pos_err="nan", rot_err="nan", iterations="0",
                      solve_time_ms="0", joint_jump="nan",
                      target_stamp=f"{msg.header.stamp.sec}.{msg.header.stamp.nanosec:09d}")
        return DiagnosticStatus(
            level=WARN, name=self._status_msg.status[0].name, hardware_id=self.arm.name,
            message="superseded: a newer target arrived before this one was solved",
            values=[KeyValue(key=k, value=v) for k, v in values.items()])

    def _command(self, q, stamp):
        self._cmd_msg.header.stamp = stamp
        self._cmd_msg.position = array("d", q)
        self.cmd_pub.publish(self._cmd_msg)


def _fmt(x: float) -> str:
    return "nan" if not math.isfinite(x) else f"{x:.6e}"


def main(args=None) -> int:
    return run(IKNode, "ik_node", args)


if __name__ == "__main__":
    import sys

    sys.exit(main())

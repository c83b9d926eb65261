"""``ik_node``: PoseStamped targets in, joint commands out (see docs/ros.md).

Topics (relative: push the node into a namespace to run several arms):

* sub ``target_pose`` (geometry_msgs/PoseStamped): targets, in ``base_frame``;
* sub ``joint_states`` (sensor_msgs/JointState): the arm's joints, read by joint name;
  optional (see :mod:`.tracking` for how they and the node's own last command seed a solve);
* pub the chosen ``command_interfaces`` (:mod:`.commands`): ``joint_command``
  (sensor_msgs/JointState), ``joint_trajectory``, ``position_commands``;
* pub ``ik_status`` (diagnostic_msgs/DiagnosticArray): exactly one DiagnosticStatus per target
  received: OK ``solved``; WARN when a well-formed target is not commanded as such
  (``approach``, ``discontinuity``, ``unreachable``, ``superseded``); ERROR for a malformed
  target or a solver error. Values ``code``, ``pos_err``, ``rot_err``, ``iterations``,
  ``solve_time_ms``, ``seed``, ``target_stamp``, ``joint_jump``, ``note``. One message per
  target handled (header.stamp = its stamp, its status last), preceded in the same message by
  the statuses of the targets it superseded;
* pub ``diagnostics`` (diagnostic_msgs/DiagnosticArray), once a second: the node's counters,
  including targets the middleware reports lost (WARN when any).

Flood control (latest wins, nothing silent): the target subscription keeps up to
``target_queue_depth`` targets (KEEP_LAST, reliable); the callback takes every target already
waiting (the same ``take_message`` call rclpy's executors use) and solves only the newest, each
skipped one getting a WARN ``superseded`` status. A burst up to the depth is thus accounted for
entirely; beyond it, the middleware's lost-message events are counted on ``diagnostics``.
"""
from __future__ import annotations

import math
import time

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from geometry_msgs.msg import PoseStamped
from rclpy.event_handler import UnsupportedEventTypeError
from rclpy.node import Node
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import JointState

from ..solver import IKSolver
from . import conversions as rc
from .commands import INTERFACES, CommandPublishers
from .common import (
    ConfigError,
    declare,
    declare_arm,
    load_declared_arm,
    reject_unknown_parameters,
    run,
)
from .tracking import Tracker

LOG_THROTTLE_S = 2.0
STATUS_KEYS = ("code", "pos_err", "rot_err", "iterations", "solve_time_ms", "seed",
               "target_stamp", "joint_jump", "note")
COUNTERS = ("targets", "solved", "approach", "discontinuity", "superseded", "unreachable",
            "rejected", "errors", "lost")

NEAR_TARGET = (0.02, 0.1)  # (fraction of reach, rad): consecutive stream targets are closer

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
        self.arm = load_declared_arm(p)
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
        self.joint_names = tuple(self.arm.joint_names)
        self._origin = self.arm.base[:3, 3].copy()
        period = 1.0 / p["command_rate"]
        self.tracker = Tracker(self.arm.velocity, p["max_speed_scale"],
                               p["joint_states_timeout"], p["reference_tol"], period)
        self.counts = dict.fromkeys(COUNTERS, 0)
        self._skipped = []            # targets superseded while taking the newest one
        self._goal_stamp = None       # stamp of the target being approached
        self._tracking = False        # the last target was commanded exactly
        self._last_target = None      # (4, 4) the last target commanded
        log.info("solver loaded; warming up (one solve per path)")
        self._warm_up()

        self.commands = CommandPublishers(self, p["command_interfaces"], self.joint_names,
                                          self.arm.velocity * max(p["max_speed_scale"], 1e-9))
        self._status_values = [KeyValue(key=k) for k in STATUS_KEYS]
        self._status_msg = DiagnosticArray(status=[DiagnosticStatus(
            name=f"{self.get_fully_qualified_name()}: target", hardware_id=self.arm.name,
            values=self._status_values)])
        self._status_values = self._status_msg.status[0].values
        self.status_pub = self.create_publisher(DiagnosticArray, "ik_status", 100)
        self.diag_pub = self.create_publisher(DiagnosticArray, "diagnostics", 10)
        latest = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1,
                            reliability=ReliabilityPolicy.RELIABLE)
        self.create_subscription(JointState, "joint_states", self._on_joint_state, latest)
        targets = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=p["target_queue_depth"],
                             reliability=ReliabilityPolicy.RELIABLE)
        try:
            self._target_sub = self.create_subscription(
                PoseStamped, "target_pose", self._on_target, targets,
                event_callbacks=_lost_counter(self.counts))
        except UnsupportedEventTypeError:   # this middleware reports no lost messages
            log.warning("the middleware does not report lost messages: 'lost' stays 0")
            self._target_sub = self.create_subscription(
                PoseStamped, "target_pose", self._on_target, targets)
        if self.tracker.speed_scale > 0:
            self.create_timer(period, self._on_approach_timer)
        self.create_timer(1.0, self._publish_diagnostics)
        log.info(f"ready in {time.monotonic() - started:.2f} s: arm {self.arm.name}, model "
                 f"{self.solver.model_path or 'none (no network)'}, base_frame "
                 f"'{self.base_frame}', commands on {', '.join(p['command_interfaces'])}")

    # ------------------------------------------------------------------ parameters
    def _declare_parameters(self) -> dict:
        d = {}
        d.update(declare_arm(self))
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
                               "Wall-clock cap (s) on one target's random restarts")
        d["base_frame"] = declare(self, "base_frame", "base_link",
                                  "Frame the targets must be expressed in (header.frame_id)")
        d["accept_empty_frame"] = declare(self, "accept_empty_frame", True,
                                          "Accept targets whose frame_id is empty as base_frame")
        d["command_interfaces"] = declare(
            self, "command_interfaces", ["joint_state"],
            "Commands to publish, each on its own topic: joint_state (joint_command), "
            "joint_trajectory (joint_trajectory), position_array (position_commands)")
        d["max_speed_scale"] = declare(
            self, "max_speed_scale", 1.0,
            "Commands move no joint faster than this fraction of its velocity limit; a farther "
            "solution is approached in steps (WARN approach). 0: command solutions as they are")
        d["command_rate"] = declare(self, "command_rate", 50.0,
                                    "Rate (Hz) of the commands that approach a far solution")
        d["joint_states_timeout"] = declare(
            self, "joint_states_timeout", 0.5,
            "joint_states older than this (s) are not used as the reference")
        d["reference_tol"] = declare(
            self, "reference_tol", 0.2,
            "Fresh joint_states farther than this (rad, any joint) from the last command "
            "replace it as the reference (the arm was moved by someone else)")
        d["target_queue_depth"] = declare(
            self, "target_queue_depth", 1000,
            "Targets kept while a solve runs: a burst up to this size gets one status each")
        d["onnx_threads"] = declare(self, "onnx_threads", 1,
                                    "Threads onnxruntime may use for the network (per call)")
        reject_unknown_parameters(self)
        for name in ("pos_tol", "rot_tol", "timeout", "command_rate", "joint_states_timeout",
                     "reference_tol"):
            if not (math.isfinite(d[name]) and d[name] > 0):
                raise ConfigError(f"parameter '{name}' must be a finite number > 0, "
                                  f"got {d[name]}")
        if not (math.isfinite(d["max_speed_scale"]) and 0 <= d["max_speed_scale"] <= 1):
            raise ConfigError(f"parameter 'max_speed_scale' must be in [0, 1], got "
                              f"{d['max_speed_scale']}")
        for name in ("max_iterations", "onnx_threads", "target_queue_depth"):
            if d[name] < 1:
                raise ConfigError(f"parameter '{name}' must be >= 1, got {d[name]}")
        bad = [c for c in d["command_interfaces"] if c not in INTERFACES]
        if bad or not d["command_interfaces"]:
            raise ConfigError(f"parameter 'command_interfaces': {bad or 'empty'}; choose from "
                              f"{', '.join(INTERFACES)}")
        if not d["base_frame"]:
            raise ConfigError("parameter 'base_frame' must not be empty")
        return d

    def _warm_up(self):
        """One solve per path before the topics exist (nothing is compiled: a check)."""
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
        self.tracker.observe(q, time.monotonic())

    def _on_target(self, msg):
        t0 = time.perf_counter()
        self.counts["targets"] += 1
        self._skipped = []
        try:
            msg = self._latest_target(msg)
            self._solve_target(msg, t0)
        except Exception as exc:  # never let one target take the node down
            self.counts["errors"] += 1
            self.get_logger().error(f"solver error: {exc!r}",
                                    throttle_duration_sec=LOG_THROTTLE_S)
            self._status(msg, ERROR, "solver_error", f"solver error: {exc}", t0)

    def _latest_target(self, msg):
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
            self.counts["rejected"] += 1
            self.get_logger().warning(f"rejected target: {check.reason}",
                                      throttle_duration_sec=LOG_THROTTLE_S)
            self._status(msg, ERROR, check.code, f"rejected: {check.reason}", t0)
            return
        T = check.T
        dist = float(np.linalg.norm(T[:3, 3] - self._origin))
        if dist > self.arm.reach * (1 + 1e-9) + 1e-9:
            reason = (f"unreachable: target is {dist:.4g} m from the base, "
                      f"the arm reaches {self.arm.reach:.4g} m")
            self._unreachable(msg, reason, t0, {}, "", check.note)
            return
        now = time.monotonic()
        ref, source = self.tracker.reference(now)
        res = self.solver.solve(T, seed=ref, position_only=self.position_only)
        q = res.q[0]
        values = {"pos_err": float(res.pos_err[0]), "rot_err": float(res.rot_err[0]),
                  "iterations": int(res.iterations[0]), "joint_jump": float(res.jump[0])}
        if not res.success[0]:
            reason = (f"unreachable: no solution within tolerance (best pos_err "
                      f"{values['pos_err']:.3g} m, rot_err {values['rot_err']:.3g} rad)")
            self._unreachable(msg, reason, t0, values, source, check.note)
            return
        cmd, exact = self.tracker.step_towards(q, ref, now, restart=source == "joint_states")
        previous_target, self._last_target = self._last_target, T
        self.commands.publish(cmd, msg.header.stamp, ref)
        if exact:
            self.counts["solved"] += 1
            self._tracking = True
            self._goal_stamp = None
            self._status(msg, OK, "solved", "solved", t0, values, source, check.note)
            return
        jump, joint = values["joint_jump"], int(np.argmax(np.abs(q - ref)))
        # a jump while following a stream of nearby targets is a discontinuity of the IK
        # (the branch ends); a jump to a target far from the last one is just a new goal
        near = previous_target is not None and self._is_near(T, previous_target)
        followed = (self._tracking and near and source == "last_command"
                    and self.tracker.far(q, ref))
        code = "discontinuity" if followed else "approach"
        self.counts[code] += 1
        self._tracking = False
        self._goal_stamp = msg.header.stamp
        if code == "discontinuity":
            message = (f"discontinuity: the nearest solution is {jump:.3g} rad from the last "
                       f"command (joint {joint + 1}), more than the velocity limits allow "
                       "since it: the branch ends at a limit or a singularity, or moves faster "
                       "than the arm can; approaching it at the velocity limits")
            self.get_logger().warning(message, throttle_duration_sec=LOG_THROTTLE_S)
        else:
            message = (f"approach: the solution is {jump:.3g} rad away (joint {joint + 1}); "
                       "commanding steps towards it at the velocity limits")
        self._status(msg, WARN, code, message, t0, values, source, check.note)

    def _is_near(self, T, T_prev) -> bool:
        """Whether two targets are close enough to be neighbours on a stream (NEAR_TARGET)."""
        dp = float(np.linalg.norm(T[:3, 3] - T_prev[:3, 3]))
        c = 0.5 * (float(np.trace(T[:3, :3] @ T_prev[:3, :3].T)) - 1.0)
        return dp <= NEAR_TARGET[0] * self.arm.reach and math.acos(max(-1.0, min(1.0, c))) <= \
            NEAR_TARGET[1]

    def _unreachable(self, msg, reason, t0, values, source, note):
        self.counts["unreachable"] += 1
        self.get_logger().warning(reason, throttle_duration_sec=LOG_THROTTLE_S)
        self._status(msg, WARN, "unreachable", reason, t0, values, source, note)

    def _on_approach_timer(self):
        """Step towards a solution farther than one command could reach; stop when there."""
        previous = self.tracker.last
        cmd = self.tracker.next_step(time.monotonic())
        if cmd is not None:
            self.commands.publish(cmd, self._goal_stamp, previous)
            if self.tracker.goal is None:
                self._tracking = True

    def _publish_diagnostics(self):
        lost = self.counts["lost"]
        st = DiagnosticStatus(
            level=WARN if lost else OK, name=f"{self.get_fully_qualified_name()}",
            hardware_id=self.arm.name,
            message=(f"{lost} target(s) lost by the middleware (more than target_queue_depth "
                     "arrived during one solve)" if lost else "every target accounted for"),
            values=[KeyValue(key=k, value=str(v)) for k, v in self.counts.items()])
        msg = DiagnosticArray(status=[st])
        msg.header.stamp = self.get_clock().now().to_msg()
        self.diag_pub.publish(msg)

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


def _lost_counter(counts: dict):
    """Subscription event callbacks adding the middleware's lost-message reports to counts."""
    from rclpy.event_handler import SubscriptionEventCallbacks

    def lost(info):
        counts["lost"] += int(info.total_count_change)

    return SubscriptionEventCallbacks(message_lost=lost)


def _fmt(x: float) -> str:
    return "nan" if not math.isfinite(x) else f"{x:.6e}"


def main(args=None) -> int:
    return run(IKNode, "ik_node", args)


if __name__ == "__main__":
    import sys

    sys.exit(main())

"""``sim_arm``: a kinematic arm that follows ``joint_command`` under per-joint velocity limits.

* sub ``joint_command`` (sensor_msgs/JointState): goal positions by joint name (a command may
  name a subset of the joints; the others keep their goal). Non-finite commands are ignored;
  goals outside the joint limits are clipped to them (both with a throttled warning);
* pub ``joint_states`` (sensor_msgs/JointState) at ``rate`` Hz: positions and velocities;
* pub ``ee_pose`` (geometry_msgs/PoseStamped) at ``rate`` Hz: forward kinematics of the current
  joints, in ``base_frame``.

Each tick moves every joint toward its goal by at most ``velocity * dt`` (the arm file's
per-joint velocity limit, scaled by ``speed_scale``), where ``dt`` is the measured time since the
previous tick (capped at 5 periods), so a loaded machine does not slow the arm down.
"""
from __future__ import annotations

import time

import numpy as np
from geometry_msgs.msg import PoseStamped
from rclpy.node import Node
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import JointState

from . import conversions as rc
from .common import (
    ConfigError,
    declare,
    declare_arm,
    load_declared_arm,
    reject_unknown_parameters,
    run,
)

LOG_THROTTLE_S = 2.0


class SimArm(Node):
    """Joint-space first-order follower with velocity limits; publishes joints and FK pose."""

    def __init__(self, **kwargs):
        super().__init__("sim_arm", **kwargs)
        arm = declare_arm(self)
        rate = declare(self, "rate", 100.0, "Simulation and publishing rate (Hz)")
        self.base_frame = declare(self, "base_frame", "base_link",
                                  "Frame of the published ee_pose")
        initial = declare(self, "initial_positions", [0.0],
                          "Initial joint positions (rad), one per joint; a single value is used "
                          "for every joint (clipped to the limits)")
        self.speed_scale = declare(self, "speed_scale", 1.0,
                                   "Fraction of the arm file's joint velocity limits to move at")
        reject_unknown_parameters(self)
        if not rate > 0:
            raise ConfigError(f"parameter 'rate' must be > 0, got {rate}")
        if not 0 < self.speed_scale <= 1:
            raise ConfigError(f"parameter 'speed_scale' must be in (0, 1], got {self.speed_scale}")
        self.arm = load_declared_arm(arm)
        initial = np.asarray(initial, dtype=float)
        if initial.size == 1:
            initial = np.full(self.arm.dof, initial[0])
        if initial.shape != (self.arm.dof,) or not np.all(np.isfinite(initial)):
            raise ConfigError(f"parameter 'initial_positions' needs 1 or {self.arm.dof} finite "
                              f"values, got {list(initial)}")
        self.joint_names = tuple(self.arm.joint_names)
        self.q = np.clip(initial, self.arm.lower, self.arm.upper)
        self.goal = self.q.copy()
        self.qd = np.zeros(self.arm.dof)
        self.vmax = self.arm.velocity * self.speed_scale
        self.period = 1.0 / rate
        self._last = time.monotonic()

        self.state_pub = self.create_publisher(JointState, "joint_states", 10)
        self.pose_pub = self.create_publisher(PoseStamped, "ee_pose", 10)
        latest = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1,
                            reliability=ReliabilityPolicy.RELIABLE)
        self.create_subscription(JointState, "joint_command", self._on_command, latest)
        self.timer = self.create_timer(self.period, self._tick)
        self.get_logger().info(f"arm {self.arm.name} at {rate:g} Hz, frame '{self.base_frame}'")

    def _on_command(self, msg):
        goal, reason = rc.positions_by_name(msg, self.joint_names, require_all=False)
        if goal is None:
            self.get_logger().warning(f"ignoring joint_command: {reason}",
                                   throttle_duration_sec=LOG_THROTTLE_S)
            return
        given = np.isfinite(goal)
        clipped = np.clip(goal, self.arm.lower, self.arm.upper)
        if np.any(given & (clipped != goal)):
            self.get_logger().warning("joint_command outside the joint limits: clipped",
                                   throttle_duration_sec=LOG_THROTTLE_S)
        self.goal = np.where(given, clipped, self.goal)

    def _tick(self):
        now = time.monotonic()
        dt = min(now - self._last, 5 * self.period)
        self._last = now
        step = np.clip(self.goal - self.q, -self.vmax * dt, self.vmax * dt)
        self.q = self.q + step
        self.qd = step / dt if dt > 0 else np.zeros_like(step)
        stamp = self.get_clock().now().to_msg()
        self.state_pub.publish(rc.joint_state(self.joint_names, self.q, stamp, self.qd))
        self.pose_pub.publish(rc.pose_stamped(self.arm.fk(self.q)[0], self.base_frame, stamp))


def main(args=None) -> int:
    return run(SimArm, "sim_arm", args)


if __name__ == "__main__":
    import sys

    sys.exit(main())

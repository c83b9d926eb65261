"""``target_publisher``: a stream of reachable PoseStamped targets on ``target_pose``.

The streams (parameter ``path``) are defined in :mod:`.paths`: by default the forward
kinematics of a smooth joint-space curve inside the limits, or a Cartesian circle, line or
figure eight of the tool; each is trackable by an arm moving at its velocity limits.

With ``poses_file`` set, the poses of that YAML file are published in turn instead::

    frame_id: base_link        # optional, default: the base_frame parameter
    poses:
      - {position: [0.3, 0.1, 0.4], orientation: [0.0, 0.0, 0.0, 1.0]}   # x, y, z, w
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import yaml
from geometry_msgs.msg import PoseStamped
from rclpy.node import Node

from . import conversions as rc
from .common import (
    ConfigError,
    declare,
    declare_arm,
    load_declared_arm,
    reject_unknown_parameters,
    run,
)
from .paths import PATHS, curve_period, fit_path, joint_curve


def load_poses(path: str):
    """(frame_id or None, list of (4, 4)) from a poses YAML file; errors name the file."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{p}: no such poses file (parameter 'poses_file')")
    try:
        data = yaml.safe_load(p.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("poses"), list) or not data["poses"]:
        raise ConfigError(f"{p}: expected a mapping with a non-empty list 'poses'")
    frame = data.get("frame_id")
    if frame is not None and not isinstance(frame, str):
        raise ConfigError(f"{p}: field 'frame_id' must be a string")
    out = []
    for i, item in enumerate(data["poses"]):
        where = f"{p}: poses[{i}]"
        if not isinstance(item, dict):
            raise ConfigError(f"{where}: expected a mapping with position and orientation")
        pos, quat = item.get("position"), item.get("orientation", [0.0, 0.0, 0.0, 1.0])
        try:
            pos = np.asarray(pos, dtype=float).reshape(3)
            quat = np.asarray(quat, dtype=float).reshape(4)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: position needs 3 numbers, orientation 4 (x, y, z, w)")
        n = float(np.linalg.norm(quat))
        if not (np.all(np.isfinite(pos)) and np.all(np.isfinite(quat))) or n < 1e-6:
            raise ConfigError(f"{where}: non-finite values or a zero quaternion")
        T = np.eye(4)
        T[:3, :3] = rc.quat_to_matrix(*(quat / n))
        T[:3, 3] = pos
        out.append(T)
    return frame, out


class TargetPublisher(Node):
    """Publish reachable targets at ``rate`` Hz (see the module docstring)."""

    def __init__(self, **kwargs):
        super().__init__("target_publisher", **kwargs)
        arm = declare_arm(self)
        rate = declare(self, "rate", 10.0, "Targets per second")
        self.base_frame = declare(self, "base_frame", "base_link", "frame_id of the targets")
        self.path_period = declare(self, "period", 10.0,
                                   "Duration (s) of one loop of the joint-space curve "
                                   "(lengthened if a joint would need more than 80 % of its "
                                   "velocity limit)")
        self.amplitude = declare(self, "amplitude", 0.4,
                                 "Fraction of each joint's half range the curve sweeps (0..1]")
        random_seed = declare(self, "random_seed", 0, "Seed of the random phases of the curve")
        self.path_kind = declare(
            self, "path", "joint_curve",
            "Stream: joint_curve (FK of a joint-space curve), or a Cartesian path of the tool "
            "from the curve's first pose: circle, line, figure_eight")
        size = declare(self, "path_size", 0.1,
                       "Radius or half-length (m) of a Cartesian path (halved until trackable)")
        poses_file = declare(self, "poses_file", "",
                             "YAML file of poses to publish in turn instead of the curve "
                             "('' = use the curve)")
        reject_unknown_parameters(self)
        for name, value in (("rate", rate), ("period", self.path_period), ("path_size", size)):
            if not (math.isfinite(value) and value > 0):
                raise ConfigError(f"parameter '{name}' must be a finite number > 0, got {value}")
        if not 0 < self.amplitude <= 1:
            raise ConfigError(f"parameter 'amplitude' must be in (0, 1], got {self.amplitude}")
        if self.path_kind not in PATHS:
            raise ConfigError(f"parameter 'path': {self.path_kind!r}; choose from "
                              f"{', '.join(PATHS)}")
        self.arm = load_declared_arm(arm)
        self.phase = np.random.default_rng(random_seed).uniform(0, 2 * math.pi, self.arm.dof)
        self.path = None
        if self.path_kind != "joint_curve":
            try:
                q0 = joint_curve(self.arm, 0.0, 1.0, self.amplitude, self.phase)
                self.path, _ = fit_path(self.arm, self.path_kind, q0, size, self.path_period)
            except ValueError as exc:
                raise ConfigError(f"parameter 'path': {exc}") from exc
        self.path_period = curve_period(self.arm, self.path_period, self.amplitude)
        self.poses = None
        self.frame = self.base_frame
        if poses_file:
            frame, self.poses = load_poses(poses_file)
            self.frame = frame if frame is not None else self.base_frame
        self.count = 0
        self._t0 = self.get_clock().now()
        self.pub = self.create_publisher(PoseStamped, "target_pose", 10)
        self.timer = self.create_timer(1.0 / rate, self._tick)
        if self.poses:
            what = f"{len(self.poses)} poses from {poses_file}"
        elif self.path is not None:
            what = (f"a {self.path_kind} of {self.path.size:.3g} m ({self.path.period:.3g} s "
                    "per loop)")
        else:
            what = f"a joint-space curve ({self.path_period:.3g} s per loop)"
        self.get_logger().info(f"arm {self.arm.name}: {what} at {rate:g} Hz")

    def target(self, t: float) -> np.ndarray:
        """(4, 4) target at time t (s) since start (curve), or the next listed pose."""
        if self.poses:
            return self.poses[self.count % len(self.poses)]
        if self.path is not None:
            return self.path.pose(t)
        q = joint_curve(self.arm, t, self.path_period, self.amplitude, self.phase)
        return self.arm.fk(q)[0]

    def _tick(self):
        now = self.get_clock().now()
        t = (now - self._t0).nanoseconds * 1e-9
        self.pub.publish(rc.pose_stamped(self.target(t), self.frame, now.to_msg()))
        self.count += 1


def main(args=None) -> int:
    return run(TargetPublisher, "target_publisher", args)


if __name__ == "__main__":
    import sys

    sys.exit(main())

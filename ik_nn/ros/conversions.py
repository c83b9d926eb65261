"""geometry_msgs/PoseStamped <-> (4, 4) numpy transforms, target validation, JointState building.

Pure functions: nothing here creates a node. The message classes are imported lazily so that
the maths (:func:`quat_to_matrix`, :func:`matrix_to_quat`, :func:`check_pose`) also works without
ROS installed.

Quaternions are in ROS order ``(x, y, z, w)``.

Target validation (:func:`check_pose`), in this order, first failure wins:

* every position and orientation field must be finite (``code="non_finite"``);
* the quaternion must not be (near) zero: norm < ``1e-6`` (``code="zero_quaternion"``);
* its norm must be within :data:`QUAT_NORM_TOL` (1e-3) of 1: such a quaternion is normalised
  and accepted (``note`` says so: hand-written or float32-rounded quaternions land here); a norm
  farther from 1 is rejected (``code="quaternion_norm"``): it is more likely a bug than rounding;
* ``header.frame_id`` must equal the base frame; an empty frame is accepted only when
  ``accept_empty_frame`` is true (``code="frame"``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

QUAT_NORM_TOL = 1e-3   # |‖q‖ - 1| up to this is normalised; beyond it the target is rejected
QUAT_ZERO = 1e-6       # a quaternion norm below this is "zero"


# --------------------------------------------------------------------------- rotations
def quat_to_matrix(x: float, y: float, z: float, w: float) -> np.ndarray:
    """(3, 3) rotation of a unit quaternion (x, y, z, w); the caller normalises first."""
    xx, yy, zz = x * x, y * y, z * z
    xy, xz, yz = x * y, x * z, y * z
    wx, wy, wz = w * x, w * y, w * z
    return np.array([
        [1.0 - 2.0 * (yy + zz), 2.0 * (xy - wz), 2.0 * (xz + wy)],
        [2.0 * (xy + wz), 1.0 - 2.0 * (xx + zz), 2.0 * (yz - wx)],
        [2.0 * (xz - wy), 2.0 * (yz + wx), 1.0 - 2.0 * (xx + yy)],
    ])


def matrix_to_quat(R) -> tuple:
    """Unit quaternion (x, y, z, w), w >= 0, of a (3, 3) rotation (Shepperd's method)."""
    R = np.asarray(R, dtype=float)
    m00, m11, m22 = R[0, 0], R[1, 1], R[2, 2]
    tr = m00 + m11 + m22
    if tr > 0.0:
        s = 2.0 * math.sqrt(tr + 1.0)
        w = 0.25 * s
        x = (R[2, 1] - R[1, 2]) / s
        y = (R[0, 2] - R[2, 0]) / s
        z = (R[1, 0] - R[0, 1]) / s
    elif m00 > m11 and m00 > m22:
        s = 2.0 * math.sqrt(1.0 + m00 - m11 - m22)
        w = (R[2, 1] - R[1, 2]) / s
        x = 0.25 * s
        y = (R[0, 1] + R[1, 0]) / s
        z = (R[0, 2] + R[2, 0]) / s
    elif m11 > m22:
        s = 2.0 * math.sqrt(1.0 + m11 - m00 - m22)
        w = (R[0, 2] - R[2, 0]) / s
        x = (R[0, 1] + R[1, 0]) / s
        y = 0.25 * s
        z = (R[1, 2] + R[2, 1]) / s
    else:
        s = 2.0 * math.sqrt(1.0 + m22 - m00 - m11)
        w = (R[1, 0] - R[0, 1]) / s
        x = (R[0, 2] + R[2, 0]) / s
        y = (R[1, 2] + R[2, 1]) / s
        z = 0.25 * s
    n = math.sqrt(x * x + y * y + z * z + w * w)
    if w < 0.0:
        n = -n
    return (x / n, y / n, z / n, w / n)


# --------------------------------------------------------------------------- poses
def pose_to_matrix(pose) -> np.ndarray:
    """(4, 4) transform of a geometry_msgs/Pose (quaternion normalised; no other checks)."""
    p, o = pose.position, pose.orientation
    n = math.sqrt(o.x * o.x + o.y * o.y + o.z * o.z + o.w * o.w)
    if not n > 0.0:
        raise ValueError("zero quaternion")
    T = np.eye(4)
    T[:3, :3] = quat_to_matrix(o.x / n, o.y / n, o.z / n, o.w / n)
    T[:3, 3] = (p.x, p.y, p.z)
    return T


def matrix_to_pose(T, pose=None):
    """A geometry_msgs/Pose (new, or ``pose`` filled in place) from a (4, 4) transform."""
    if pose is None:
        from geometry_msgs.msg import Pose

        pose = Pose()
    T = np.asarray(T, dtype=float)
    pose.position.x, pose.position.y, pose.position.z = (float(v) for v in T[:3, 3])
    x, y, z, w = matrix_to_quat(T[:3, :3])
    pose.orientation.x, pose.orientation.y = float(x), float(y)
    pose.orientation.z, pose.orientation.w = float(z), float(w)
    return pose


def pose_stamped(T, frame_id: str, stamp=None):
    """A geometry_msgs/PoseStamped of the (4, 4) transform ``T`` in ``frame_id``."""
    from geometry_msgs.msg import PoseStamped

    msg = PoseStamped()
    msg.header.frame_id = frame_id
    if stamp is not None:
        msg.header.stamp = stamp
    matrix_to_pose(T, msg.pose)
    return msg


@dataclass(frozen=True)
class PoseCheck:
    """Outcome of :func:`check_pose`: ``T`` (4, 4) when ``ok``, else ``code`` and ``reason``."""

    T: np.ndarray | None
    code: str = "ok"       # ok | non_finite | zero_quaternion | quaternion_norm | frame
    reason: str = ""       # human-readable why it was rejected ("" when ok)
    note: str = ""         # something accepted but worth saying (a normalised quaternion)

    @property
    def ok(self) -> bool:
        return self.T is not None


def check_pose(msg, base_frame: str, accept_empty_frame: bool = True,
               quat_tol: float = QUAT_NORM_TOL) -> PoseCheck:
    """Validate a PoseStamped target; see the module docstring for the rules and codes."""
    p, o = msg.pose.position, msg.pose.orientation
    values = (p.x, p.y, p.z, o.x, o.y, o.z, o.w)
    if not all(math.isfinite(v) for v in values):
        bad = [n for n, v in zip(("x", "y", "z", "qx", "qy", "qz", "qw"), values)
               if not math.isfinite(v)]
        return PoseCheck(None, "non_finite", f"non-finite pose field(s): {', '.join(bad)}")
    norm = math.sqrt(o.x * o.x + o.y * o.y + o.z * o.z + o.w * o.w)
    if norm < QUAT_ZERO:
        return PoseCheck(None, "zero_quaternion", "zero quaternion (all of x, y, z, w are 0)")
    note = ""
    if abs(norm - 1.0) > quat_tol:
        return PoseCheck(None, "quaternion_norm",
                         f"quaternion not normalised: norm {norm:.6g} is more than {quat_tol:g} "
                         "from 1")
    if abs(norm - 1.0) > 1e-9:
        note = f"quaternion normalised (norm was {norm:.9g})"
    frame = msg.header.frame_id
    if frame != base_frame and not (frame == "" and accept_empty_frame):
        if frame == "":
            reason = f"empty frame_id (accept_empty_frame is false; expected '{base_frame}')"
        else:
            reason = f"frame_id '{frame}' is not the base frame '{base_frame}'"
        return PoseCheck(None, "frame", reason)
    T = np.eye(4)
    T[:3, :3] = quat_to_matrix(o.x / norm, o.y / norm, o.z / norm, o.w / norm)
    T[:3, 3] = (p.x, p.y, p.z)
    return PoseCheck(T, note=note)


# --------------------------------------------------------------------------- joint states
def joint_state(names, positions, stamp=None, velocities=None, frame_id: str = ""):
    """A sensor_msgs/JointState with ``names`` and ``positions`` (and optional velocities)."""
    from sensor_msgs.msg import JointState

    msg = JointState()
    if stamp is not None:
        msg.header.stamp = stamp
    msg.header.frame_id = frame_id
    msg.name = list(names)
    msg.position = [float(v) for v in positions]
    if velocities is not None:
        msg.velocity = [float(v) for v in velocities]
    return msg


def positions_by_name(msg, names, require_all: bool = True):
    """Positions of ``names`` read from a JointState by joint name.

    Returns ``(positions, reason)``: ``positions`` is a float array the length of ``names`` with
    NaN for joints the message lacks (``require_all=False``), or ``None`` with a ``reason`` when
    the message is malformed, lacks a joint (``require_all=True``) or holds a non-finite value.
    """
    if len(msg.position) != len(msg.name):
        return None, (f"{len(msg.name)} names but {len(msg.position)} positions")
    index = {n: i for i, n in enumerate(msg.name)}
    out = np.full(len(names), np.nan)
    missing = []
    for k, n in enumerate(names):
        i = index.get(n)
        if i is None:
            missing.append(n)
            continue
        v = float(msg.position[i])
        if not math.isfinite(v):
            return None, f"non-finite position for joint '{n}'"
        out[k] = v
    if missing and (require_all or len(missing) == len(names)):
        return None, f"missing joint(s): {', '.join(missing)}"
    return out, ""


def stamp_to_ns(stamp) -> int:
    """builtin_interfaces/Time as integer nanoseconds."""
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def ns_to_stamp(ns: int):
    """builtin_interfaces/Time of integer nanoseconds."""
    from builtin_interfaces.msg import Time

    return Time(sec=int(ns // 1_000_000_000), nanosec=int(ns % 1_000_000_000))

"""``ik-nn urdf ARM``: any arm the package knows (bundled, DH YAML, URDF) written as URDF.

For robot_state_publisher and RViz: one link per frame of the chain, one joint per joint of the
arm (its ``<origin xyz rpy>`` from the chain's fixed transform, with the joint's offset folded
in, so the URDF's joint values are the arm's), its axis, limits and velocity, and a fixed joint
to the tool link. Links carry simple visuals (a cylinder from each joint to the next, and one
along each joint's axis) and no inertia: enough to see the arm, not to simulate it. Efforts are
unknown and written as 0.

Names: the root link is the arm's base link (URDF arms) or ``base_link``; the link moved by
joint i is ``link_i``; the tool link is the arm's tip link (URDF arms) or ``tool0``.
:func:`ik_nn.arm.load_arm` reads the output back with the same forward kinematics (the tests
check 1e-12 m on random configurations).
"""
from __future__ import annotations

import sys
import xml.etree.ElementTree as ET

import numpy as np

from . import kinematics
from .arm import ARM_HELP, ArmError, load_arm
from .urdf import align_z

TINY = 1e-15  # numbers this close to zero are written as 0 (a rounding residue, not data)


def rpy_from_matrix(R) -> np.ndarray:
    """URDF fixed-axis (roll, pitch, yaw) radians of a (3, 3) rotation: R = Rz(y) Ry(p) Rx(r).

    Yaw in (-π, π], pitch in [-π/2, π/2], roll in (-π, π]. Yaw is read first and roll from
    what is left after removing yaw and pitch, so the result reproduces R to rounding error
    even at and near gimbal lock (pitch ±π/2, where only roll ∓ yaw is defined: yaw is then
    whatever the rounding of ``R[:2, 0]`` gives, 0 when they are exactly 0, and roll takes
    the rest).
    """
    R = np.asarray(R, dtype=np.float64)
    yaw = np.arctan2(R[1, 0], R[0, 0])
    c, s = np.cos(yaw), np.sin(yaw)
    # Rz(-yaw) · R = Ry(pitch) · Rx(roll): rows [cp, sp·sr, sp·cr], [0, cr, -sr], [-sp, ...]
    r00 = c * R[0, 0] + s * R[1, 0]
    r11 = -s * R[0, 1] + c * R[1, 1]
    r12 = -s * R[0, 2] + c * R[1, 2]
    pitch = np.arctan2(-R[2, 0], r00)
    roll = np.arctan2(-r12, r11)
    return np.array([roll, pitch, yaw])


def _num(x: float) -> str:
    x = float(x)
    text = "0" if abs(x) < TINY else repr(x)
    return text[:-2] if text.endswith(".0") else text


def _vec(v) -> str:
    return " ".join(_num(x) for x in v)


def _origin(parent, T):
    ET.SubElement(parent, "origin", xyz=_vec(T[:3, 3]), rpy=_vec(rpy_from_matrix(T[:3, :3])))


def _cylinder(link, start, stop, radius, material):
    """A visual cylinder from point ``start`` to ``stop`` (link frame); none if they meet."""
    d = np.asarray(stop, dtype=np.float64) - np.asarray(start, dtype=np.float64)
    length = float(np.linalg.norm(d))
    if length < 1e-9:
        return
    T = np.eye(4)
    T[:3, :3] = align_z(d)
    T[:3, 3] = 0.5 * (np.asarray(start) + np.asarray(stop))
    visual = ET.SubElement(link, "visual")
    _origin(visual, T)
    geometry = ET.SubElement(visual, "geometry")
    ET.SubElement(geometry, "cylinder", radius=_num(radius), length=_num(length))
    ET.SubElement(visual, "material", name=material)


def _unique(name: str, taken: set) -> str:
    while name in taken:
        name += "_"
    taken.add(name)
    return name


def _motion(axis, kind, amount) -> np.ndarray:
    """(4, 4) motion of a joint by ``amount`` about/along its unit ``axis``."""
    T = np.eye(4)
    if kind == kinematics.PRISMATIC:
        T[:3, 3] = amount * np.asarray(axis)
        return T
    x, y, z = axis
    K = np.array([[0.0, -z, y], [z, 0.0, -x], [-y, x, 0.0]])
    T[:3, :3] = np.eye(3) + np.sin(amount) * K + (1.0 - np.cos(amount)) * (K @ K)
    return T


def to_urdf(arm, visuals: bool = True) -> str:
    """URDF text of ``arm`` (an :class:`~ik_nn.arm.Arm`, or anything :func:`load_arm` takes)."""
    arm = load_arm(arm)
    spec = arm.spec
    axes = spec.axis / np.linalg.norm(spec.axis, axis=1, keepdims=True)
    robot = ET.Element("robot", name=arm.name)
    what = f"{arm.path or arm.name}" + (f" ({arm.source})" if arm.source else "")
    robot.append(ET.Comment(   # "--" may not appear in an XML comment
        f" written by ik-nn urdf from {what.replace('--', '- -')}: kinematics, limits and "
        "simple visuals; no inertia, efforts unknown (0) "))
    if visuals:
        for name, rgba in (("ik_nn_link", "0.7 0.7 0.72 1"), ("ik_nn_joint", "0.1 0.4 0.8 1")):
            ET.SubElement(ET.SubElement(robot, "material", name=name), "color", rgba=rgba)
    taken_links, taken_joints = set(), set(arm.joint_names)
    link_names = [_unique(arm.base_link or "base_link", taken_links)]
    link_names += [_unique(f"link_{i + 1}", taken_links) for i in range(arm.dof)]
    link_names.append(_unique(arm.tip_link or "tool0", taken_links))
    radius = max(arm.reach, 0.05) / 60
    for i, name in enumerate(link_names):
        link = ET.SubElement(robot, "link", name=name)
        if not visuals or i > arm.dof:
            continue
        if i > 0:   # the joint that moves this link, drawn along its axis
            half = axes[i - 1] * radius * 3
            _cylinder(link, -half, half, radius * 1.6, "ik_nn_joint")
        _cylinder(link, np.zeros(3), spec.fixed[i][:3, 3], radius, "ik_nn_link")
    for i in range(arm.dof):
        prismatic = spec.kind[i] == kinematics.PRISMATIC
        joint = ET.SubElement(robot, "joint", name=arm.joint_names[i],
                              type="prismatic" if prismatic else "revolute")
        ET.SubElement(joint, "parent", link=link_names[i])
        ET.SubElement(joint, "child", link=link_names[i + 1])
        _origin(joint, spec.fixed[i] @ _motion(axes[i], spec.kind[i], spec.offset[i]))
        ET.SubElement(joint, "axis", xyz=_vec(axes[i]))
        ET.SubElement(joint, "limit", lower=_num(arm.lower[i]), upper=_num(arm.upper[i]),
                      effort="0", velocity=_num(arm.velocity[i]))
    tool = ET.SubElement(robot, "joint", name=_unique(f"{link_names[-1]}_joint", taken_joints),
                         type="fixed")
    ET.SubElement(tool, "parent", link=link_names[-2])
    ET.SubElement(tool, "child", link=link_names[-1])
    _origin(tool, spec.fixed[-1])
    ET.indent(robot)
    return '<?xml version="1.0"?>\n' + ET.tostring(robot, encoding="unicode") + "\n"


def add_arguments(parser):
    parser.add_argument("arm", help=ARM_HELP)
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="write the URDF to FILE (default: standard output)")
    parser.add_argument("--base-link", help="URDF input: the chain's first link (default: root)")
    parser.add_argument("--tip-link", help="URDF input: the chain's last link (default: the "
                        "only leaf)")
    parser.add_argument("--no-visuals", action="store_true",
                        help="links without visual cylinders")


def run(args) -> int:
    try:
        arm = load_arm(args.arm, base_link=args.base_link, tip_link=args.tip_link)
    except ArmError as exc:   # a bad file: one line naming it and the field, no traceback
        print(f"ik-nn urdf: error: {exc}", file=sys.stderr)
        return 1
    text = to_urdf(arm, visuals=not args.no_visuals)
    if args.output:
        with open(args.output, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0

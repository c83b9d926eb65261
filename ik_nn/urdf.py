"""URDF → serial chain: the joints from a base link to a tip link, fixed joints folded in.

Read with the standard library's ElementTree. Xacro files must be expanded first
(``xacro robot.urdf.xacro > robot.urdf``; the ``xacro`` package is on PyPI): a file that still
holds xacro elements or ``${...}`` expressions is refused with that advice.

Semantics (the URDF specification's):

* a joint's ``<origin xyz rpy>`` places its frame in the parent link's frame; ``rpy`` is
  fixed-axis roll, pitch, yaw (``R = Rz(yaw) · Ry(pitch) · Rx(roll)``, :func:`~ik_nn.kinematics.
  transform`); both default to zeros;
* the joint then turns about (``revolute``, ``continuous``) or slides along (``prismatic``) its
  ``<axis xyz>`` (default ``1 0 0``, normalised) in that frame; the child link's frame is the
  joint's frame after the motion; ``fixed`` joints are folded into the transforms around them;
* the chain runs from ``base_link`` (default: the tree's root link) to ``tip_link`` (default:
  the only leaf below ``base_link``; a tree that branches there is an error listing its
  leaves), and the tool frame is the tip link's frame.

Joints on the chain: ``revolute`` and ``prismatic`` need ``<limit lower upper>`` (radians,
metres); a ``continuous`` joint gets [-2π, 2π] (:data:`CONTINUOUS_LIMIT`): two whole turns,
like a UR's ±360° joints, so the solver's whole-turn logic picks the turn nearest the current
position; ``<limit velocity>`` (rad/s or m/s) defaults to ``default_velocity``. Mimic joints,
``floating`` and ``planar`` joints on the chain are errors naming the joint (joints off the
chain, a gripper's mimic finger say, are not looked at). ``safety_controller``,
``calibration``, ``dynamics``, links' geometry and inertia are ignored. Every error names the
file (or ``<urdf text>``) and the element or joint.
"""
from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import numpy as np

from . import kinematics

CONTINUOUS_LIMIT = 2 * math.pi  # a continuous joint's limits: [-2π, 2π]
MOVING = {"revolute": kinematics.REVOLUTE, "continuous": kinematics.REVOLUTE,
          "prismatic": kinematics.PRISMATIC}
XACRO_HINT = "expand it first: xacro robot.urdf.xacro > robot.urdf (pip install xacro)"


class UrdfError(ValueError):
    """A URDF that cannot be made a chain; the message names the file and the element."""


@dataclass(frozen=True)
class UrdfChain:
    """The chain read from a URDF: what :class:`~ik_nn.arm.Arm` needs.

    ``spec`` the chain (base link → tip link frame); ``joint_names``, ``lower``, ``upper``,
    ``velocity`` (dof,) per moving joint.
    """

    robot: str
    base_link: str
    tip_link: str
    spec: kinematics.ChainSpec
    joint_names: tuple
    lower: np.ndarray
    upper: np.ndarray
    velocity: np.ndarray


def align_z(axis) -> np.ndarray:
    """(3, 3) rotation taking the z axis to the unit vector ``axis`` (exact for ±x, ±y, ±z)."""
    a = np.asarray(axis, dtype=np.float64)
    a = a / np.linalg.norm(a)
    if a[2] < 0:   # via half a turn about x (z → -z), so the formula below stays accurate
        return align_z(-a) @ np.diag([1.0, -1.0, -1.0])
    v = np.array([-a[1], a[0], 0.0])         # z × a
    K = np.array([[0.0, -v[2], v[1]], [v[2], 0.0, -v[0]], [-v[1], v[0], 0.0]])
    return np.eye(3) + K + K @ K * (1.0 / (1.0 + a[2]))


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _numbers(text, count: int, where: str) -> list:
    parts = (text or "").split()
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = None
    if values is None or len(values) != count or not all(map(math.isfinite, values)):
        what = "a finite number" if count == 1 else f"{count} finite numbers"
        raise UrdfError(f"{where}: expected {what}, got {text!r}")
    return values


def _number(element, attr: str, where: str, default=None):
    text = element.get(attr)
    if text is None:
        return default
    return _numbers(text, 1, f"{where} {attr}")[0]


def _check_not_xacro(root, origin: str):
    """Refuse xacro elements, and ``${...}``, ``$(...)`` in links' and joints' attributes."""
    for el in root.iter():
        if "xacro" in (el.tag if isinstance(el.tag, str) else ""):
            raise UrdfError(f"{origin}: element <xacro:{_local(el.tag)}>: this is a xacro file; "
                            + XACRO_HINT)
    for top in [*root.findall("link"), *root.findall("joint")]:
        for el in top.iter():
            for key, value in el.attrib.items():
                if "${" in value or "$(" in value:
                    raise UrdfError(f"{origin}: <{_local(el.tag)} {key}={value!r}>: unexpanded "
                                    "xacro expression; " + XACRO_HINT)


def _named(root, kind: str, origin: str) -> dict:
    out = {}
    for el in root.findall(kind):
        name = el.get("name")
        if not name:
            raise UrdfError(f"{origin}: a <{kind}> without a name")
        if name in out:
            raise UrdfError(f"{origin}: {kind} {name!r} defined twice")
        out[name] = el
    return out


def _endpoint(joint, which: str, links: dict, where: str) -> str:
    el = joint.find(which)
    name = el.get("link") if el is not None else None
    if not name:
        raise UrdfError(f"{where}: missing <{which} link=...>")
    if name not in links:
        raise UrdfError(f"{where}: <{which} link={name!r}> is not a link of this robot")
    return name


def _origin(joint, where: str) -> np.ndarray:
    """(4, 4) transform of a joint's ``<origin xyz rpy>`` (identity when absent)."""
    org = joint.find("origin")
    if org is None:
        return np.eye(4)
    xyz = _numbers(org.get("xyz", "0 0 0"), 3, f"{where} <origin xyz>")
    rpy = _numbers(org.get("rpy", "0 0 0"), 3, f"{where} <origin rpy>")
    return kinematics.transform(xyz, rpy)


def _inverse(T) -> np.ndarray:
    """Inverse of a rigid transform (4, 4)."""
    out = np.eye(4)
    out[:3, :3] = T[:3, :3].T
    out[:3, 3] = -T[:3, :3].T @ T[:3, 3]
    return out


def parse_urdf(text: str, origin: str = "<urdf text>", base_link=None, tip_link=None,
               default_velocity: float = 2.0) -> UrdfChain:
    """The chain of URDF ``text`` from ``base_link`` to ``tip_link`` (see the module docstring).

    ``origin`` (the file, or ``<urdf text>``) prefixes every error.
    """
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        hint = f" (a xacro file? {XACRO_HINT})" if "xacro" in text else ""
        raise UrdfError(f"{origin}: not valid XML: {exc}{hint}") from exc
    _check_not_xacro(root, origin)
    if _local(root.tag) != "robot":
        raise UrdfError(f"{origin}: the top element is <{_local(root.tag)}>, expected <robot>")
    robot = root.get("name") or "robot"
    links = _named(root, "link", origin)
    joints = _named(root, "joint", origin)
    if not links:
        raise UrdfError(f"{origin}: no <link> elements")

    parent_joint = {}   # child link -> joint name
    children = {name: [] for name in links}
    for jname, joint in joints.items():
        where = f"{origin}: joint {jname!r}"
        parent = _endpoint(joint, "parent", links, where)
        child = _endpoint(joint, "child", links, where)
        if child in parent_joint:
            raise UrdfError(f"{where}: link {child!r} is already the child of joint "
                            f"{parent_joint[child]!r} (a URDF is a tree)")
        parent_joint[child] = jname
        children[parent].append(child)

    roots = [name for name in links if name not in parent_joint]
    if base_link is None:
        if len(roots) != 1:
            raise UrdfError(f"{origin}: expected one root link, found {len(roots)}: "
                            f"{roots} (pass base_link)")
        base_link = roots[0]
    elif base_link not in links:
        raise UrdfError(f"{origin}: base_link {base_link!r} is not a link of this robot "
                        f"(links: {', '.join(links)})")
    if tip_link is None:
        leaves, todo, seen = [], [base_link], set()
        while todo:
            link = todo.pop()
            if link in seen:
                raise UrdfError(f"{origin}: the joints below link {link!r} form a loop")
            seen.add(link)
            todo += reversed(children[link])
            if not children[link]:
                leaves.append(link)
        if leaves == [base_link]:
            raise UrdfError(f"{origin}: base_link {base_link!r} has no joints below it")
        if len(leaves) > 1:
            raise UrdfError(f"{origin}: the tree branches below {base_link!r}; its leaves are "
                            f"{', '.join(leaves)}: pass tip_link (one of them, or any link)")
        tip_link = leaves[0]
    elif tip_link not in links:
        raise UrdfError(f"{origin}: tip_link {tip_link!r} is not a link of this robot "
                        f"(links: {', '.join(links)})")

    above, link = {base_link: []}, base_link   # link at or above base_link -> joints climbed
    while link in parent_joint:
        jname = parent_joint[link]
        climbed = above[link] + [jname]
        link = joints[jname].find("parent").get("link")
        if link in above:
            raise UrdfError(f"{origin}: the joints above link {base_link!r} form a loop")
        above[link] = climbed
    path, link = [], tip_link   # joint names from the tip up to the common ancestor
    while link not in above:
        if link not in parent_joint or len(path) > len(joints):
            raise UrdfError(f"{origin}: tip_link {tip_link!r} is not connected to base_link "
                            f"{base_link!r}")
        path.append(parent_joint[link])
        link = joints[parent_joint[link]].find("parent").get("link")
    path.reverse()
    # base_link beside or below the tip's branch (a UR's "base" frame, say): climb to the common
    # ancestor over fixed joints only (a moving joint on that way would run backwards)
    current = np.eye(4)
    for jname in above[link]:
        joint = joints[jname]
        if joint.get("type") != "fixed":
            raise UrdfError(f"{origin}: tip_link {tip_link!r} is not below base_link "
                            f"{base_link!r}, and the way up from {base_link!r} to their common "
                            f"ancestor {link!r} passes the {joint.get('type')} joint {jname!r} "
                            "(only fixed joints can be climbed)")
        current = current @ _inverse(_origin(joint, f"{origin}: joint {jname!r}"))

    fixed, axes, kinds, names, lower, upper, velocity = [], [], [], [], [], [], []
    for jname in path:
        joint = joints[jname]
        where = f"{origin}: joint {jname!r}"
        jtype = joint.get("type")
        if jtype not in MOVING and jtype != "fixed":
            if jtype in ("floating", "planar"):
                raise UrdfError(f"{where}: type {jtype!r} is not supported on the chain "
                                "(revolute, continuous, prismatic and fixed joints are)")
            raise UrdfError(f"{where}: unknown joint type {jtype!r}")
        current = current @ _origin(joint, where)
        if jtype == "fixed":
            continue
        mimic = joint.find("mimic")
        if mimic is not None:
            raise UrdfError(f"{where}: mimics joint {mimic.get('joint')!r}; mimic joints are "
                            "not supported on the chain (end it before with tip_link)")
        ax = joint.find("axis")
        axis = _numbers(ax.get("xyz", "1 0 0"), 3, f"{where} <axis xyz>") if ax is not None \
            else [1.0, 0.0, 0.0]
        norm = math.sqrt(sum(a * a for a in axis))
        if norm < 1e-12:
            raise UrdfError(f"{where} <axis xyz>: the axis must not be zero")
        limit = joint.find("limit")
        if jtype == "continuous":
            lo, hi = -CONTINUOUS_LIMIT, CONTINUOUS_LIMIT
        else:
            if limit is None or limit.get("lower") is None or limit.get("upper") is None:
                raise UrdfError(f"{where}: a {jtype} joint needs <limit lower=... upper=...>")
            lo = _number(limit, "lower", f"{where} <limit>")
            hi = _number(limit, "upper", f"{where} <limit>")
            if not lo < hi:
                raise UrdfError(f"{where} <limit>: lower ({lo}) must be below upper ({hi})")
        vel = default_velocity
        if limit is not None:
            vel = _number(limit, "velocity", f"{where} <limit>", default_velocity)
        if not vel > 0:
            raise UrdfError(f"{where} <limit velocity>: must be positive, got {vel}")
        fixed.append(current)
        current = np.eye(4)
        axes.append(np.array(axis) / norm)
        kinds.append(MOVING[jtype])
        names.append(jname)
        lower.append(lo)
        upper.append(hi)
        velocity.append(vel)
    if not names:
        raise UrdfError(f"{origin}: no revolute, continuous or prismatic joint between "
                        f"{base_link!r} and {tip_link!r}")
    fixed.append(current)
    spec = kinematics.ChainSpec(np.array(fixed), np.array(axes),
                                np.array(kinds, dtype=np.int32), np.zeros(len(names)))
    return UrdfChain(robot, base_link, tip_link, spec, tuple(names), np.array(lower),
                     np.array(upper), np.array(velocity))

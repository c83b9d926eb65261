"""Arm descriptions: DH YAML files and URDF → validated :class:`Arm` (FK, Jacobian, limits).

DH YAML schema (metres, radians; angles, and revolute velocities, may also be written ``pi``,
``-pi/2``, ``2*pi``, ``-170*pi/180``)::

    name: rrr
    source: where the numbers come from
    convention: standard          # or modified (Craig)
    base: {xyz: [0, 0, 0], rpy: [0, 0, 0]}   # optional
    tool: {xyz: [0, 0, 0], rpy: [0, 0, 0]}   # optional
    joints:
      - {name: joint_1, a: 0, d: 0, alpha: -pi/2, theta_offset: 0,
         lower: -pi/2, upper: pi/2, velocity: 2.0}   # velocity (rad/s) optional
      - {name: slide, type: prismatic, a: 0, d: 0.1, alpha: 0, theta_offset: 0,
         lower: 0, upper: 0.2, velocity: 0.5}        # metres, m/s

``type`` is ``revolute`` (the default) or ``prismatic``: a prismatic joint slides along its z
axis by ``q + d`` (``d`` is the variable's offset) and turns by the constant ``theta_offset``;
its limits are metres and its velocity m/s.

URDF files (or URDF text) are read by :mod:`ik_nn.urdf`, from a base link to a tip link. Both
kinds become the same :class:`Arm`, whose chain (:class:`~ik_nn.kinematics.ChainSpec`) the
kernels evaluate. Every error names the file and the field.
"""
from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import yaml

from . import kinematics
from .resources import config_path

# The arms shipped in config/arms/ (their file names are the one list of them)
BUNDLED_ARMS = tuple(sorted(p.stem for p in config_path("arms").glob("*.yaml")))
ARM_HELP = (f"Bundled arm name ({', '.join(BUNDLED_ARMS)}), or path of a DH YAML or a URDF "
            "file")
DEFAULT_VELOCITY = 2.0  # rad/s (m/s for prismatic joints), for joints whose file gives none
JOINT_TYPES = {"revolute": kinematics.REVOLUTE, "prismatic": kinematics.PRISMATIC}
URDF_SUFFIXES = (".urdf", ".xml", ".xacro")
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)   # libyaml's: ~7x faster, same result
_PI_EXPR = re.compile(r"^\s*([+-])?\s*(\d+(?:\.\d*)?)?\s*\*?\s*pi\s*(?:/\s*(\d+(?:\.\d*)?))?\s*$")


class ArmError(ValueError):
    """An arm description that cannot be used; the message names the file and the field."""


def _frozen(arr) -> np.ndarray:
    arr = np.array(arr, dtype=np.float64)
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class Arm:
    """A serial chain of revolute and prismatic joints, from a DH table or a URDF.

    Attributes: ``spec`` the chain (:class:`~ik_nn.kinematics.ChainSpec`, base and tool
    included); ``joint_names``; ``lower``/``upper`` (dof,) joint limits, radians (metres for
    prismatic joints); ``velocity`` (dof,) rad/s (m/s); ``base``/``tool`` (4, 4).

    ``base`` is the frame the network encoding expresses poses in and the reach is measured
    from: for DH arms the file's base (FK is ``base · A_1 ⋯ A_n · tool``); for URDF arms the
    first joint's frame at q = 0 in the base link's frame, turned so that its z axis is the
    joint's axis (what a standard-DH base is), and ``tool`` is the identity (the tip link is the
    tool). ``convention`` and :attr:`dh` exist for DH arms only (``convention`` is None for
    URDF arms, whose ``dh`` raises :class:`ArmError`); ``base_link``/``tip_link`` name a URDF
    arm's end links.
    """

    name: str
    joint_names: tuple
    spec: kinematics.ChainSpec
    lower: np.ndarray
    upper: np.ndarray
    velocity: np.ndarray
    base: np.ndarray = field(default_factory=lambda: np.eye(4))
    tool: np.ndarray = field(default_factory=lambda: np.eye(4))
    source: str = ""
    path: str = ""
    convention: str | None = None
    dh_table: np.ndarray | None = None
    base_link: str = ""
    tip_link: str = ""

    def __post_init__(self):
        for name in ("lower", "upper", "velocity", "base", "tool"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))
        if self.dh_table is not None:
            object.__setattr__(self, "dh_table", _frozen(self.dh_table))
        s = self.spec
        kind = np.array(s.kind, dtype=np.int32)
        kind.setflags(write=False)
        object.__setattr__(self, "spec", kinematics.ChainSpec(
            _frozen(s.fixed), _frozen(s.axis), kind, _frozen(s.offset)))

    @classmethod
    def from_dh(cls, name, convention, joint_names, dh, lower, upper, velocity, base=None,
                tool=None, kind=None, source="", path="") -> Arm:
        """An arm from a DH table (dof, 4) ``a, d, alpha, theta_offset``; ``kind`` (dof,)."""
        base = np.eye(4) if base is None else base
        tool = np.eye(4) if tool is None else tool
        spec = kinematics.dh_chain(dh, convention, base, tool, kind)
        return cls(name=name, joint_names=tuple(joint_names), spec=spec, lower=lower,
                   upper=upper, velocity=velocity, base=base, tool=tool, source=source,
                   path=path, convention=convention, dh_table=dh)

    @property
    def dof(self) -> int:
        return self.spec.dof

    @property
    def dh(self) -> np.ndarray:
        """(dof, 4) DH table, columns a, d, alpha, theta_offset (DH arms; ArmError otherwise)."""
        if self.dh_table is None:
            raise ArmError(f"arm {self.name!r} ({self.path}) comes from a URDF and has no DH "
                           "table: this feature needs a DH arm")
        return self.dh_table

    @property
    def prismatic(self) -> np.ndarray:
        """(dof,) bool: prismatic joints (their q, limits and velocity in metres, m/s)."""
        return self.spec.kind == kinematics.PRISMATIC

    @cached_property
    def chain(self) -> bytes:
        """The packed ``Chain`` record the compiled kernels read (see :mod:`ik_nn.contract`)."""
        return kinematics.pack_chain(self.spec, self.lower, self.upper, self.periodic,
                                     self.reach)

    @cached_property
    def reach(self) -> float:
        """Upper bound (m) on the tool point's distance from the base origin (first joint's).

        DH arms: the sum of the links' ``hypot(a, d)`` (for a prismatic joint ``d`` is its
        largest ``|q + d|``) plus the tool's offset. URDF arms: the sum of the fixed
        translations after the first joint plus each prismatic joint's largest travel.
        """
        travel = np.maximum(np.abs(self.lower + self.spec.offset),
                            np.abs(self.upper + self.spec.offset))
        if self.dh_table is not None:
            d = np.where(self.prismatic, travel, self.dh_table[:, 1])
            links = np.hypot(self.dh_table[:, 0], d).sum()
            return float(links + np.linalg.norm(self.tool[:3, 3]))
        steps = np.linalg.norm(self.spec.fixed[1:, :3, 3], axis=1).sum()
        return float(steps + travel[self.prismatic].sum())

    @property
    def periodic(self) -> np.ndarray:
        """(dof,) bool: revolute joints whose range spans a full turn or more."""
        return ((self.upper - self.lower) >= 2 * np.pi - 1e-9) & ~self.prismatic

    @cached_property
    def dh_hash(self) -> str:
        """Hash of everything that shapes the kinematics and the limits (16 hex digits).

        DH arms: convention, table, limits, base, tool (and the joint types when any joint is
        prismatic, so all-revolute arms keep their hash). URDF arms: the chain, the limits and
        the joint names.
        """
        h = hashlib.sha256()
        if self.dh_table is not None:
            h.update(self.convention.encode())
            for arr in (self.dh_table, self.lower, self.upper, self.base, self.tool):
                h.update(np.round(arr, 12).astype("<f8").tobytes())
            if self.prismatic.any():
                h.update(b"kind" + self.spec.kind.astype("<i4").tobytes())
        else:
            h.update(b"chain")
            s = self.spec
            for arr in (s.fixed, s.axis, s.offset, self.lower, self.upper):
                h.update(np.round(arr, 12).astype("<f8").tobytes())
            h.update(s.kind.astype("<i4").tobytes())
            h.update("\0".join(self.joint_names).encode())
        return h.hexdigest()[:16]

    def fk(self, q) -> np.ndarray:
        """Base→tool poses (N, 4, 4), metres, for q (N, dof) or (dof,) radians (metres)."""
        return kinematics.fk(self.chain, q)

    def jacobian(self, q) -> np.ndarray:
        """Geometric Jacobians (N, 6, dof), rows [v; ω] in the base frame."""
        return kinematics.jacobian(self.chain, q)

    def joint_origins(self, q) -> np.ndarray:
        """(N, dof, 3) a point on each joint's axis (its frame's origin), base frame, metres."""
        return kinematics.joint_axes(self.chain, q)[1]

    def within_limits(self, q, tol: float = 0.0) -> np.ndarray:
        """(N,) bool: every joint of q (N, dof) inside [lower - tol, upper + tol]."""
        q = np.atleast_2d(q)
        return np.all((q >= self.lower - tol) & (q <= self.upper + tol), axis=-1)

    def random_q(self, n: int, rng) -> np.ndarray:
        """(n, dof) configurations drawn uniformly inside the limits."""
        return rng.uniform(self.lower, self.upper, size=(n, self.dof))


def _angle(value, where: str) -> float:
    if isinstance(value, str):
        m = _PI_EXPR.match(value)
        if not m:
            try:
                return _number(float(value), where)   # YAML 1.1 reads 1e-3 as a string
            except ValueError:
                raise ArmError(f"{where}: cannot read {value!r} as an angle (radians: a number, "
                               "or like pi, -pi/2, 2*pi/3, -170*pi/180)") from None
        sign = -1.0 if m.group(1) == "-" else 1.0
        mul = float(m.group(2)) if m.group(2) else 1.0
        div = float(m.group(3)) if m.group(3) else 1.0
        if div == 0:
            raise ArmError(f"{where}: division by zero in {value!r}")
        return sign * mul * math.pi / div
    return _number(value, where)


def _twist(value, where: str) -> float:
    """A DH angle (alpha, theta_offset): beyond ±2π it is degrees written as radians."""
    angle = _angle(value, where)
    if abs(angle) > 2 * math.pi + 1e-9:
        raise ArmError(f"{where}: {value!r} rad is more than a turn: degrees? write 90° as "
                       "pi/2 or 90*pi/180")
    return angle


def _number(value, where: str) -> float:
    if isinstance(value, str):
        try:
            value = float(value)   # YAML 1.1 reads 1e-3 (no dot) as a string
        except ValueError:
            pass
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ArmError(f"{where}: expected a number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ArmError(f"{where}: must be finite, got {value}")
    return value


def _transform(spec, where: str) -> np.ndarray:
    if spec is None:
        return np.eye(4)
    if not isinstance(spec, dict):
        raise ArmError(f"{where}: expected a mapping with xyz and rpy")
    unknown = set(spec) - {"xyz", "rpy"}
    if unknown:
        raise ArmError(f"{where}: unknown field(s) {sorted(unknown)} (allowed: xyz, rpy)")
    vals = {}
    for key, conv in (("xyz", _number), ("rpy", _angle)):
        v = spec.get(key, [0.0, 0.0, 0.0])
        if not isinstance(v, (list, tuple)) or len(v) != 3:
            raise ArmError(f"{where}.{key}: expected a list of 3 numbers, got {v!r}")
        vals[key] = [conv(x, f"{where}.{key}[{i}]") for i, x in enumerate(v)]
    return kinematics.transform(vals["xyz"], vals["rpy"])


def arm_from_dict(data, origin: str = "<dict>") -> Arm:
    """Validate a parsed description; ``origin`` (the file) prefixes every error."""
    if not isinstance(data, dict):
        raise ArmError(f"{origin}: expected a mapping at the top level, got {type(data).__name__}")
    allowed = {"name", "source", "convention", "base", "tool", "joints"}
    unknown = set(data) - allowed
    if unknown:
        raise ArmError(f"{origin}: unknown field(s) {sorted(unknown)} "
                       f"(allowed: {sorted(allowed)})")
    for key in ("name", "convention", "joints"):
        if key not in data:
            raise ArmError(f"{origin}: missing field '{key}'")
    name = data["name"]
    if not isinstance(name, str) or not name.strip():
        raise ArmError(f"{origin}: field 'name' must be a non-empty string")
    convention = data["convention"]
    if convention not in kinematics.CONVENTIONS:
        raise ArmError(
            f"{origin}: field 'convention': unknown DH convention {convention!r} "
            f"(expected one of {sorted(kinematics.CONVENTIONS)})"
        )
    joints = data["joints"]
    if not isinstance(joints, list) or not joints:
        raise ArmError(f"{origin}: field 'joints' must be a non-empty list")
    if len(joints) > kinematics.MAX_DOF:
        raise ArmError(f"{origin}: field 'joints': {len(joints)} joints, the kernels take at "
                       f"most {kinematics.MAX_DOF}")
    rows, lower, upper, vel, names, kind = [], [], [], [], [], []
    required = ("name", "a", "d", "alpha", "theta_offset", "lower", "upper")
    for i, j in enumerate(joints):
        where = f"{origin}: joint {i + 1} (joints[{i}])"  # joints count from 1 everywhere
        if not isinstance(j, dict):
            raise ArmError(f"{where}: expected a mapping")
        for key in required:
            if key not in j:
                raise ArmError(f"{where}: missing field '{key}'")
        unknown = set(j) - set(required) - {"velocity", "type"}
        if unknown:
            raise ArmError(f"{where}: unknown field(s) {sorted(unknown)}")
        jname = j["name"]
        if not isinstance(jname, str) or not jname:
            raise ArmError(f"{where}, field 'name': must be a non-empty string")
        if jname in names:
            raise ArmError(f"{where}, field 'name': duplicate joint name {jname!r}")
        names.append(jname)
        jtype = j.get("type", "revolute")
        if jtype not in JOINT_TYPES:
            raise ArmError(f"{where}, field 'type': unknown joint type {jtype!r} "
                           f"(expected one of {sorted(JOINT_TYPES)})")
        kind.append(JOINT_TYPES[jtype])
        rows.append([
            _number(j["a"], f"{where}, field 'a'"),
            _number(j["d"], f"{where}, field 'd'"),
            _twist(j["alpha"], f"{where}, field 'alpha'"),
            _twist(j["theta_offset"], f"{where}, field 'theta_offset'"),
        ])
        limit = _number if jtype == "prismatic" else _angle   # metres, or radians
        lo = limit(j["lower"], f"{where}, field 'lower'")
        hi = limit(j["upper"], f"{where}, field 'upper'")
        if not lo < hi:
            raise ArmError(f"{where}: lower ({lo}) must be below upper ({hi})")
        lower.append(lo)
        upper.append(hi)
        v = limit(j.get("velocity", DEFAULT_VELOCITY), f"{where}, field 'velocity'")
        if v <= 0:
            raise ArmError(f"{where}, field 'velocity': must be positive, got {v}")
        vel.append(v)
    source = data.get("source", "")
    if not isinstance(source, str):
        raise ArmError(f"{origin}: field 'source' must be a string")
    return Arm.from_dh(
        name=name,
        convention=convention,
        joint_names=names,
        dh=np.array(rows),
        lower=np.array(lower),
        upper=np.array(upper),
        velocity=np.array(vel),
        base=_transform(data.get("base"), f"{origin}: base"),
        tool=_transform(data.get("tool"), f"{origin}: tool"),
        kind=np.array(kind, dtype=np.int32),
        source=source,
        path=origin,
    )


def arm_from_urdf(text: str, origin: str = "<urdf text>", base_link=None, tip_link=None,
                  name=None) -> Arm:
    """The arm of URDF ``text`` from ``base_link`` to ``tip_link`` (see :mod:`ik_nn.urdf`).

    ``origin`` (the file, or ``<urdf text>``) prefixes every error; ``name`` defaults to the
    robot's name.
    """
    from . import urdf

    try:
        chain = urdf.parse_urdf(text, origin, base_link, tip_link, DEFAULT_VELOCITY)
    except urdf.UrdfError as exc:
        raise ArmError(str(exc)) from exc
    if chain.spec.dof > kinematics.MAX_DOF:
        raise ArmError(f"{origin}: {chain.spec.dof} moving joints from {chain.base_link!r} to "
                       f"{chain.tip_link!r}, the kernels take at most {kinematics.MAX_DOF}")
    base = chain.spec.fixed[0].copy()
    base[:3, :3] = base[:3, :3] @ urdf.align_z(chain.spec.axis[0])
    return Arm(
        name=name or chain.robot,
        joint_names=chain.joint_names,
        spec=chain.spec,
        lower=chain.lower,
        upper=chain.upper,
        velocity=chain.velocity,
        base=base,
        source=f"URDF robot {chain.robot!r}, {chain.base_link} → {chain.tip_link}",
        path=origin,
        base_link=chain.base_link,
        tip_link=chain.tip_link,
    )


def load_arm(source, base_link=None, tip_link=None) -> Arm:
    """An arm from a bundled name, a DH YAML file, a URDF file, or URDF text.

    ``source``: a bundled name (``rrr``, ``rrr_full``, ``rrrrrr``, ``ur5``), the path of a DH
    YAML file or of a URDF file (``.urdf``, or any file whose text starts with ``<``), URDF XML
    text (a string starting with ``<``), or an :class:`Arm` (returned as is). ``base_link`` and
    ``tip_link`` choose a URDF's chain (defaults: the root link, and the only leaf).
    """
    urdf_only = base_link is not None or tip_link is not None
    if isinstance(source, Arm):
        if urdf_only:
            raise ArmError(f"arm {source.name!r}: base_link/tip_link apply when reading a URDF")
        return source
    if isinstance(source, str) and source.lstrip().startswith("<"):
        return arm_from_urdf(source, "<urdf text>", base_link, tip_link)
    text = str(source)
    path = Path(text)
    if text in BUNDLED_ARMS or (not path.suffix and not path.exists()):
        path = config_path("arms", f"{text}.yaml")
        if not path.is_file():
            raise ArmError(f"unknown arm {text!r}: bundled arms are {', '.join(BUNDLED_ARMS)}, "
                           "or give the path of a DH YAML or URDF file")
    if not path.is_file():
        raise ArmError(f"{path}: no such arm file")
    try:
        content = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise ArmError(f"{path}: cannot read it: {exc}") from exc
    if path.suffix.lower() in URDF_SUFFIXES or content.lstrip().startswith("<"):
        return arm_from_urdf(content, str(path), base_link, tip_link)
    if urdf_only:
        raise ArmError(f"{path}: base_link/tip_link apply to URDF files, this is a DH YAML file")
    try:
        data = yaml.load(content, Loader=_YAML_LOADER)
    except yaml.YAMLError as exc:
        raise ArmError(f"{path}: not valid YAML: {exc}") from exc
    return arm_from_dict(data, str(path))

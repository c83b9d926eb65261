"""Arm descriptions: validated DH YAML files → :class:`Arm` (FK, Jacobian, limits).

Schema (metres, radians; angles may also be written ``pi``, ``-pi/2``, ``2*pi``)::

    name: rrr
    source: where the numbers come from
    convention: standard          # or modified (Craig)
    base: {xyz: [0, 0, 0], rpy: [0, 0, 0]}   # optional
    tool: {xyz: [0, 0, 0], rpy: [0, 0, 0]}   # optional
    joints:
      - {name: joint_1, a: 0, d: 0, alpha: -pi/2, theta_offset: 0,
         lower: -pi/2, upper: pi/2, velocity: 2.0}   # velocity (rad/s) optional

Every error names the file and the field.
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
ARM_HELP = f"Bundled arm name ({', '.join(BUNDLED_ARMS)}) or path of a DH YAML file"
DEFAULT_VELOCITY = 2.0  # rad/s, for joints whose file gives none
_PI_EXPR = re.compile(r"^\s*([+-])?\s*(\d+(?:\.\d*)?)?\s*\*?\s*pi\s*(?:/\s*(\d+(?:\.\d*)?))?\s*$")


class ArmError(ValueError):
    """An arm description that cannot be used; the message names the file and the field."""


@dataclass(frozen=True, eq=False)
class Arm:
    """A serial chain of revolute joints described by DH parameters.

    Attributes: ``dh`` (dof, 4) columns a, d, alpha, theta_offset; ``lower``/``upper`` (dof,)
    joint limits in radians; ``velocity`` (dof,) rad/s; ``base``/``tool`` (4, 4).
    """

    name: str
    convention: str
    joint_names: tuple
    dh: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    velocity: np.ndarray
    base: np.ndarray = field(default_factory=lambda: np.eye(4))
    tool: np.ndarray = field(default_factory=lambda: np.eye(4))
    source: str = ""
    path: str = ""

    def __post_init__(self):
        for name in ("dh", "lower", "upper", "velocity", "base", "tool"):
            arr = np.ascontiguousarray(getattr(self, name), dtype=np.float64)
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)

    @property
    def dof(self) -> int:
        return self.dh.shape[0]

    @cached_property
    def chain(self) -> bytes:
        """The packed ``Chain`` record the compiled kernels read (see :mod:`ik_nn.contract`)."""
        spec = kinematics.dh_chain(self.dh, self.convention, self.base, self.tool)
        return kinematics.pack_chain(spec, self.lower, self.upper, self.periodic, self.reach)

    @property
    def reach(self) -> float:
        """Upper bound (m) on the tool point's distance from the first joint's origin."""
        links = np.hypot(self.dh[:, 0], self.dh[:, 1]).sum()
        return float(links + np.linalg.norm(self.tool[:3, 3]))

    @property
    def periodic(self) -> np.ndarray:
        """(dof,) bool: joints whose range spans a full turn or more."""
        return (self.upper - self.lower) >= 2 * np.pi - 1e-9

    @property
    def dh_hash(self) -> str:
        """Hash of everything that shapes the kinematics and the limits (16 hex digits)."""
        h = hashlib.sha256()
        h.update(self.convention.encode())
        for arr in (self.dh, self.lower, self.upper, self.base, self.tool):
            h.update(np.round(arr, 12).astype("<f8").tobytes())
        return h.hexdigest()[:16]

    def fk(self, q) -> np.ndarray:
        """Base→tool poses (N, 4, 4), metres, for q (N, dof) or (dof,) radians."""
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
            raise ArmError(f"{where}: cannot read {value!r} as an angle (a number, or like -pi/2)")
        sign = -1.0 if m.group(1) == "-" else 1.0
        mul = float(m.group(2)) if m.group(2) else 1.0
        div = float(m.group(3)) if m.group(3) else 1.0
        if div == 0:
            raise ArmError(f"{where}: division by zero in {value!r}")
        return sign * mul * math.pi / div
    return _number(value, where)


def _number(value, where: str) -> float:
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
    rows, lower, upper, vel, names = [], [], [], [], []
    required = ("name", "a", "d", "alpha", "theta_offset", "lower", "upper")
    for i, j in enumerate(joints):
        where = f"{origin}: joints[{i}]"
        if not isinstance(j, dict):
            raise ArmError(f"{where}: expected a mapping")
        for key in required:
            if key not in j:
                raise ArmError(f"{where}: missing field '{key}'")
        unknown = set(j) - set(required) - {"velocity"}
        if unknown:
            raise ArmError(f"{where}: unknown field(s) {sorted(unknown)}")
        jname = j["name"]
        if not isinstance(jname, str) or not jname:
            raise ArmError(f"{where}.name: must be a non-empty string")
        if jname in names:
            raise ArmError(f"{where}.name: duplicate joint name {jname!r}")
        names.append(jname)
        rows.append([
            _number(j["a"], f"{where}.a"),
            _number(j["d"], f"{where}.d"),
            _angle(j["alpha"], f"{where}.alpha"),
            _angle(j["theta_offset"], f"{where}.theta_offset"),
        ])
        lo = _angle(j["lower"], f"{where}.lower")
        hi = _angle(j["upper"], f"{where}.upper")
        if not lo < hi:
            raise ArmError(f"{where}: lower ({lo}) must be below upper ({hi})")
        lower.append(lo)
        upper.append(hi)
        v = _number(j.get("velocity", DEFAULT_VELOCITY), f"{where}.velocity")
        if v <= 0:
            raise ArmError(f"{where}.velocity: must be positive, got {v}")
        vel.append(v)
    source = data.get("source", "")
    if not isinstance(source, str):
        raise ArmError(f"{origin}: field 'source' must be a string")
    return Arm(
        name=name,
        convention=convention,
        joint_names=tuple(names),
        dh=np.array(rows),
        lower=np.array(lower),
        upper=np.array(upper),
        velocity=np.array(vel),
        base=_transform(data.get("base"), f"{origin}: base"),
        tool=_transform(data.get("tool"), f"{origin}: tool"),
        source=source,
        path=origin,
    )


def load_arm(name_or_path) -> Arm:
    """A bundled arm by name (``rrr``, ``rrr_full``, ``rrrrrr``, ``ur5``) or any YAML file path."""
    if isinstance(name_or_path, Arm):
        return name_or_path
    text = str(name_or_path)
    path = Path(text)
    if text in BUNDLED_ARMS or (not path.suffix and not path.exists()):
        path = config_path("arms", f"{text}.yaml")
        if not path.is_file():
            raise ArmError(f"unknown arm {text!r}: bundled arms are {', '.join(BUNDLED_ARMS)}, "
                           "or give the path of a YAML description")
    if not path.is_file():
        raise ArmError(f"{path}: no such arm file")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ArmError(f"{path}: not valid YAML: {exc}") from exc
    return arm_from_dict(data, str(path))

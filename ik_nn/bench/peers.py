"""Peer IK solvers for ``ik-nn bench``: roboticstoolbox-python's ``ik_LM`` (C++) and ikpy.

Both are optional (``pip install .[bench]``) and imported only here, only when the bench runs.
Each adapter builds the peer's model of any :class:`~ik_nn.arm.Arm` (DH or URDF, prismatic
joints included) from its chain (:func:`joint_frames`) and
**checks that the peer's FK reproduces ours** (≤ :data:`FK_TOL` on every pose entry over random
configurations) before anything is measured; an arm a peer cannot express raises
:class:`PeerUnsupported` with the reason, which the report prints instead of a number.

Settings (each peer's documented defaults, plus what a fair 1e-6 attempt needs):

* rtb ``ik_LM``: ``ilimit=30, slimit=100, method="chan", k=1, joint_limits=True`` (defaults),
  no ``q0`` (the C++ solver then starts each search from a random configuration), and
  ``tol=5e-13``: its stopping test is on ``E = ½ eᵀe`` (e = position error ⊕ angle-axis error),
  so ``E ≤ 5e-13`` implies ``|e| ≤ 1e-6`` — its default ``tol=1e-6`` stops at |e| ≈ 1.4 mm.
  Called on a prebuilt ``ETS`` (the same C++ solver ``DHRobot.ik_LM`` uses; that convenience
  method rebuilds its ETS on every call, ~10× the solve time).
* ikpy ``Chain.inverse_kinematics_frame``: ``orientation_mode="all"`` (its default matches the
  position only), everything else default (``scipy.optimize.least_squares``, start at zero).

An adapter only turns a target pose into joint angles (``solve_one``); success is never taken
from a peer: :func:`ik_nn.bench.judge.judge` judges every answer by our own FK.
"""
from __future__ import annotations

import importlib.util

import numpy as np

from ..kinematics import transform
from ..urdf_export import rpy_from_matrix

FK_TOL = 1e-12
PEERS = {
    # name: (python module, pip distribution, description)
    "rtb_ik_LM": ("roboticstoolbox", "roboticstoolbox-python",
                  "roboticstoolbox-python ik_LM (C++ Levenberg–Marquardt, random restarts)"),
    "ikpy": ("ikpy", "ikpy", "ikpy inverse_kinematics_frame (scipy least_squares)"),
}


class PeerUnsupported(RuntimeError):
    """The peer cannot express this arm exactly (the message says why)."""


def installed(name) -> bool:
    """Tell whether the peer's package can be imported."""
    return importlib.util.find_spec(PEERS[name][0]) is not None


def joint_frames(arm):
    """Split the chain as ``C_0 · J_1(q_1) · C_1 ⋯ J_n(q_n) · C_n``, every joint along local z.

    Returns (C, prismatic): C (dof + 1, 4, 4) fixed transforms, prismatic (dof,) bool: J is
    Tz(q) for a prismatic joint, Rz(q) for a revolute one. Works for any chain ik_nn knows (DH
    or URDF, base and tool included): a joint about or along a unit axis ``a`` is
    ``R · J(q) · Rᵀ`` with R any rotation taking z to a, and its offset becomes a constant
    ``J(offset)``; both are folded into the neighbouring fixed parts. This is the form both
    peers build.
    """
    s = arm.spec
    C = [np.asarray(s.fixed[0], dtype=np.float64).copy()]
    for i in range(arm.dof):
        R = np.eye(4)
        R[:3, :3] = _z_to(np.asarray(s.axis[i], dtype=np.float64))
        J0 = transform(xyz=(0, 0, s.offset[i])) if arm.prismatic[i] else transform(
            rpy=(0, 0, s.offset[i]))
        C[-1] = C[-1] @ R @ J0
        C.append(R.T @ s.fixed[i + 1])
    return np.array(C), arm.prismatic.copy()


def _z_to(a):
    """A (3, 3) rotation whose third column is the unit vector a."""
    a = a / np.linalg.norm(a)
    if a[2] > 1.0 - 1e-15:
        return np.eye(3)
    if a[2] < -1.0 + 1e-15:
        return np.diag([1.0, -1.0, -1.0])
    helper = np.array([1.0, 0.0, 0.0]) if abs(a[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    x = np.cross(helper, a)
    x /= np.linalg.norm(x)
    return np.column_stack([x, np.cross(a, x), a])


def _check_fk(arm, peer_fk, who, n=64, seed=7):
    """Return the largest |peer FK - our FK| entry over n random q; PeerUnsupported if > FK_TOL."""
    q = arm.random_q(n, np.random.default_rng(seed))
    ours = arm.fk(q)
    theirs = np.array([peer_fk(qq) for qq in q])
    err = float(np.abs(theirs - ours).max())
    if not err <= FK_TOL:
        raise PeerUnsupported(f"{who}: FK differs from ik_nn's by {err:.1e} on {arm.name}")
    return err


class RtbPeer:
    """roboticstoolbox-python ``ik_LM`` on an ``ETS`` built from the arm's chain.

    The ETS is constant ``SE3`` elements between ``Rz``/``tz`` joints (:func:`joint_frames`),
    limits on the joints, so any DH or URDF arm (prismatic joints included) is expressed.
    """

    name = "rtb_ik_LM"
    settings = dict(ilimit=30, slimit=100, tol=5e-13, joint_limits=True, method="chan", k=1.0)

    def __init__(self, arm):
        import roboticstoolbox as rtb
        from spatialmath import SE3

        self.arm = arm
        C, prismatic = joint_frames(arm)
        ets = rtb.ET.SE3(SE3(C[0], check=False))
        for i in range(arm.dof):
            lim = [float(arm.lower[i]), float(arm.upper[i])]
            joint = rtb.ET.tz(qlim=lim) if prismatic[i] else rtb.ET.Rz(qlim=lim)
            ets = ets * joint * rtb.ET.SE3(SE3(C[i + 1], check=False))
        self.ets = ets
        self.fk_error = _check_fk(arm, self.fk, "rtb")

    def fk(self, q):
        """Return the peer's base→tool pose (4, 4), metres, of one q (dof,) radians."""
        return self.ets.eval(q)

    def solve_one(self, T):
        """Solve one target pose (4, 4), metres, cold start; return joint angles (dof,) rad."""
        return np.asarray(self.ets.ik_LM(T, **self.settings).q, dtype=np.float64)


class IkpyPeer:
    """ikpy ``Chain`` of URDF links: a fixed origin, then a z-axis joint, per joint."""

    name = "ikpy"
    settings = dict(orientation_mode="all")

    def __init__(self, arm):
        import warnings

        from ikpy.chain import Chain
        from ikpy.link import OriginLink, URDFLink

        self.arm = arm
        C, prismatic = joint_frames(arm)
        links = [OriginLink()]
        for i, (Ci, lo, hi) in enumerate(zip(C[:-1], arm.lower, arm.upper)):
            motion = (dict(joint_type="prismatic", translation=[0, 0, 1])
                      if prismatic[i] else dict(rotation=[0, 0, 1]))
            links.append(URDFLink(f"joint_{i + 1}", origin_translation=Ci[:3, 3],
                                  origin_orientation=rpy_from_matrix(Ci[:3, :3]),
                                  bounds=(float(lo), float(hi)), **motion))
        links.append(URDFLink("tool", origin_translation=C[-1][:3, 3],
                              origin_orientation=rpy_from_matrix(C[-1][:3, :3]),
                              joint_type="fixed"))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.chain = Chain(links, active_links_mask=[False] + [True] * arm.dof + [False],
                               name=arm.name)
        self.fk_error = _check_fk(arm, self.fk, "ikpy")

    def _full(self, q):
        """Return ikpy's joint vector (dof + 2,): the fixed origin and tool links around q."""
        return np.concatenate([[0.0], q, [0.0]])

    def fk(self, q):
        """Return the peer's base→tool pose (4, 4), metres, of one q (dof,) radians."""
        return self.chain.forward_kinematics(self._full(q))

    def solve_one(self, T):
        """Solve one target pose (4, 4), metres, from ikpy's default zeros; return (dof,) rad."""
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            full = self.chain.inverse_kinematics_frame(T, **self.settings)
        return np.asarray(full[1:-1], dtype=np.float64)


ADAPTERS = {"rtb_ik_LM": RtbPeer, "ikpy": IkpyPeer}


def make_peer(name, arm):
    """Build the adapter for peer ``name`` on ``arm`` (raises PeerUnsupported or ImportError)."""
    return ADAPTERS[name](arm)


def versions():
    """Return {peer: installed version or None}, for the report."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name, (_, dist, _) in PEERS.items():
        try:
            out[name] = version(dist)
        except PackageNotFoundError:
            out[name] = None
    return out

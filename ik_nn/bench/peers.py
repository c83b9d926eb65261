"""Peer IK solvers for ``ik-nn bench``: roboticstoolbox-python's ``ik_LM`` (C++) and ikpy.

Both are optional (``pip install .[bench]``) and imported only here, only when the bench runs.
Each adapter builds the peer's model of an :class:`~ik_nn.arm.Arm` from its DH table and
**checks that the peer's FK reproduces ours** (≤ :data:`FK_TOL` on every pose entry over random
configurations) before anything is measured; an arm a peer cannot express raises
:class:`PeerUnsupported` with the reason, which the report prints instead of a number.

Settings (each peer's documented defaults, plus what a fair 1e-6 attempt needs):

* rtb ``ik_LM``: ``ilimit=30, slimit=100, method="chan", k=1, joint_limits=True`` (defaults),
  no ``q0`` (the C++ solver then starts each search from a random configuration), and
  ``tol=5e-13``: its stopping test is on ``E = ½ eᵀe`` (e = position error ⊕ angle-axis error),
  so ``E ≤ 5e-13`` implies ``|e| ≤ 1e-6`` — its default ``tol=1e-6`` stops at |e| ≈ 1.4 mm.
  Called through the robot's prebuilt ``ETS`` (``robot.ets().ik_LM``, same C++ solver): the
  ``DHRobot.ik_LM`` convenience method rebuilds that ETS on every call, ~10× the solve time.
* ikpy ``Chain.inverse_kinematics_frame``: ``orientation_mode="all"`` (its default matches the
  position only), everything else default (``scipy.optimize.least_squares``, start at zero).

An adapter only turns a target pose into joint angles (``solve_one``); success is never taken
from a peer: :func:`ik_nn.bench.judge.judge` judges every answer by our own FK.
"""
from __future__ import annotations

import importlib.util

import numpy as np

from ..kinematics import transform

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


def _rz(t):
    return transform(rpy=(0.0, 0.0, t))


def _rx(t):
    return transform(rpy=(t, 0.0, 0.0))


def _trans(x, y, z):
    return transform(xyz=(x, y, z))


def fixed_transforms(arm):
    """Split the chain as ``F_0 · Rz(q_1) · F_1 ⋯ Rz(q_n) · F_n``: (dof + 1) fixed (4, 4).

    Standard DH (``A_i = Rz(θ_i + o_i) Tz(d_i) Tx(a_i) Rx(α_i)``) and modified DH
    (``A_i = Rx(α_i) Tx(a_i) Rz(θ_i + o_i) Tz(d_i)``), base and tool included, offsets o_i folded
    into the fixed parts. This is the form of a URDF chain (fixed origin, then a z-axis joint).
    """
    F = []
    cur = arm.base.copy()
    for a, d, alpha, off in arm.dh:
        if arm.convention == "standard":
            F.append(cur @ _rz(off))
            cur = _trans(0, 0, d) @ _trans(a, 0, 0) @ _rx(alpha)
        else:
            F.append(cur @ _rx(alpha) @ _trans(a, 0, 0) @ _rz(off))
            cur = _trans(0, 0, d)
    F.append(cur @ arm.tool)
    return F


def rpy_from_matrix(R):
    """Return URDF fixed-axis (roll, pitch, yaw) radians of a (3, 3) rotation R.

    ``R = Rz(yaw) Ry(pitch) Rx(roll)``; at gimbal lock the whole turn goes into yaw.
    """
    pitch = np.arctan2(-R[2, 0], np.hypot(R[0, 0], R[1, 0]))
    if np.hypot(R[0, 0], R[1, 0]) < 1e-12:  # gimbal lock: put everything into yaw
        return np.array([0.0, pitch, np.arctan2(-R[0, 1], R[1, 1])])
    return np.array([np.arctan2(R[2, 1], R[2, 2]), pitch, np.arctan2(R[1, 0], R[0, 0])])


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
    """roboticstoolbox-python ``ik_LM`` on a ``DHRobot`` built from the arm's DH table."""

    name = "rtb_ik_LM"
    settings = dict(ilimit=30, slimit=100, tol=5e-13, joint_limits=True, method="chan", k=1.0)

    def __init__(self, arm):
        import roboticstoolbox as rtb

        self.arm = arm
        if np.any(arm.dh[:, 3] != 0):
            raise PeerUnsupported("rtb ik_LM: the C++ solver refuses joint offsets "
                                  "(theta_offset ≠ 0)")
        cls = rtb.RevoluteDH if arm.convention == "standard" else rtb.RevoluteMDH
        links = [cls(a=a, d=d, alpha=alpha, offset=off, qlim=[lo, hi])
                 for (a, d, alpha, off), lo, hi in zip(arm.dh, arm.lower, arm.upper)]
        self.robot = rtb.DHRobot(links, name=arm.name, base=arm.base.copy(),
                                 tool=arm.tool.copy())
        self.ets = self.robot.ets()  # includes base and tool (checked by the FK test below)
        self.fk_error = _check_fk(arm, self.fk, "rtb")
        _check_fk(arm, lambda q: self.robot.fkine(q).A, "rtb DHRobot.fkine")

    def fk(self, q):
        """Return the peer's base→tool pose (4, 4), metres, of one q (dof,) radians."""
        return self.ets.eval(q)

    def solve_one(self, T):
        """Solve one target pose (4, 4), metres, cold start; return joint angles (dof,) rad."""
        return np.asarray(self.ets.ik_LM(T, **self.settings).q, dtype=np.float64)


class IkpyPeer:
    """ikpy ``Chain`` of URDF links (fixed origin then a z-axis revolute joint per DH row)."""

    name = "ikpy"
    settings = dict(orientation_mode="all")

    def __init__(self, arm):
        import warnings

        from ikpy.chain import Chain
        from ikpy.link import OriginLink, URDFLink

        self.arm = arm
        F = fixed_transforms(arm)
        links = [OriginLink()]
        for i, (Fi, lo, hi) in enumerate(zip(F[:-1], arm.lower, arm.upper)):
            links.append(URDFLink(f"joint_{i + 1}", origin_translation=Fi[:3, 3],
                                  origin_orientation=rpy_from_matrix(Fi[:3, :3]),
                                  rotation=[0, 0, 1], bounds=(float(lo), float(hi))))
        links.append(URDFLink("tool", origin_translation=F[-1][:3, 3],
                              origin_orientation=rpy_from_matrix(F[-1][:3, :3]),
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
    if arm.convention is None or arm.prismatic.any():
        raise PeerUnsupported(f"{name}: the adapters translate revolute DH tables only")
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

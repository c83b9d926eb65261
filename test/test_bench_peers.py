"""Peer adapters (ik_nn.bench.peers) reproduce ik_nn's FK exactly, on DH and URDF arms.

Skipped only when the peer package is absent (``pip install .[bench]``).
"""
import numpy as np
import pytest

from ik_nn import load_arm
from ik_nn.arm import BUNDLED_ARMS, arm_from_dict
from ik_nn.bench.peers import FK_TOL, joint_frames
from ik_nn.kinematics import pose_error, transform


def _odd_arm(convention, offset=0.0):
    """6 joints, base and tool with rotations, non-trivial a/d/alpha."""
    alphas = ["pi/2", "-pi/2", 0.3, "pi/2", "-pi/2", 0.0]
    return arm_from_dict({
        "name": f"odd_{convention}", "convention": convention,
        "base": {"xyz": [0.1, -0.2, 0.3], "rpy": [0.3, -0.5, 1.0]},
        "tool": {"xyz": [0.01, 0.02, 0.05], "rpy": [0.2, 0.1, -0.4]},
        "joints": [{"name": f"j{i}", "a": 0.1 * i, "d": 0.05 * (i % 2), "alpha": alphas[i],
                    "theta_offset": offset if i == 2 else 0.0, "lower": -3.0, "upper": 3.0}
                   for i in range(6)]})


ARMS = [*BUNDLED_ARMS, "odd_standard", "odd_modified", "offset", "test/arms/ur5e.urdf#tool0",
        "test/arms/ur5_legacy.urdf", "test/arms/panda.urdf#panda_hand_tcp", "test/arms/scara.urdf",
        "test/arms/scara_dh.yaml"]


def _arm(name):
    if name == "offset":
        return _odd_arm("standard", 0.4)
    if name.startswith("odd_"):
        return _odd_arm(name[4:])
    path, _, tip = name.partition("#")  # "file.urdf#tip_link"
    return load_arm(path, tip_link=tip or None)


@pytest.mark.parametrize("name", ARMS)
def test_joint_frames_reproduce_fk(name):
    """The z-axis split both adapters rely on (URDF axes, prismatic joints, offsets), no peer."""
    arm = _arm(name)
    C, prismatic = joint_frames(arm)
    q = arm.random_q(16, np.random.default_rng(3))
    for qq, T in zip(q, arm.fk(q)):
        M = C[0]
        for qi, slide, Ci in zip(qq, prismatic, C[1:]):
            J = transform(xyz=(0, 0, qi)) if slide else transform(rpy=(0, 0, qi))
            M = M @ J @ Ci
        assert np.abs(M - T).max() <= FK_TOL


@pytest.mark.parametrize("name", ARMS)
def test_rtb_adapter_fk_and_solve(name):
    pytest.importorskip("roboticstoolbox")
    from ik_nn.bench.peers import RtbPeer

    arm = _arm(name)
    peer = RtbPeer(arm)  # raises PeerUnsupported if FK differs
    assert peer.fk_error <= FK_TOL
    q = arm.random_q(3, np.random.default_rng(5))
    T = arm.fk(q)
    Q = np.array([peer.solve_one(t) for t in T])
    pe, re = pose_error(T, arm.fk(Q))
    assert (pe <= 1e-6).mean() >= 2 / 3 and (re <= 1e-6).mean() >= 2 / 3


@pytest.mark.parametrize("name", ARMS)
def test_ikpy_adapter_fk(name):
    pytest.importorskip("ikpy")
    from ik_nn.bench.peers import IkpyPeer

    arm = _arm(name)
    assert IkpyPeer(arm).fk_error <= FK_TOL


def test_ikpy_adapter_solves_rrr():
    pytest.importorskip("ikpy")
    from ik_nn.bench.peers import IkpyPeer

    arm = load_arm("rrr")
    peer = IkpyPeer(arm)
    q = arm.random_q(2, np.random.default_rng(5))
    T = arm.fk(q)
    Q = np.array([peer.solve_one(t) for t in T])
    assert arm.within_limits(Q).all()
    pe, re = pose_error(T, arm.fk(Q))
    assert (pe <= 1e-6).all() and (re <= 1e-6).all()

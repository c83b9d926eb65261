"""FK against closed forms and textbook products, Jacobians against finite differences."""
import numpy as np
import pytest
from reference import fk_reference, random_rotation, rodrigues

import ik_nn
from ik_nn.kinematics import pose_error, transform

ARMS = list(ik_nn.BUNDLED_ARMS)


@pytest.fixture(scope="module", params=ARMS)
def arm(request):
    return ik_nn.load_arm(request.param)


def test_rrr_position_closed_form():
    arm = ik_nn.load_arm("rrr")
    q = arm.random_q(500, np.random.default_rng(0))
    p = arm.fk(q)[:, :3, 3]
    t1, t2 = q[:, 0], q[:, 1]
    expect = 0.05 * np.stack([np.cos(t1) * np.sin(t2), np.sin(t1) * np.sin(t2), np.cos(t2)], 1)
    np.testing.assert_allclose(p, expect, atol=1e-15)


def test_fk_matches_textbook_products(arm):
    q = arm.random_q(200, np.random.default_rng(1))
    T = arm.fk(q)
    for k in range(len(q)):
        np.testing.assert_allclose(T[k], fk_reference(arm, q[k]), atol=1e-14)


def test_ur5_hand_checked_poses():
    arm = ik_nn.load_arm("ur5")
    d1, a2, a3, d4, d5, d6 = 0.089159, -0.425, -0.39225, 0.10915, 0.09465, 0.0823
    # all zeros: arm stretched along -x; tool z along -y
    T0 = arm.fk(np.zeros(6))[0]
    np.testing.assert_allclose(T0[:3, 3], [a2 + a3, -(d4 + d6), d1 - d5], atol=1e-12)
    np.testing.assert_allclose(T0[:3, :3], [[1, 0, 0], [0, 0, -1], [0, 1, 0]], atol=1e-12)
    # shoulder lift and wrist 1 at -90 deg: arm straight up, wrist 2 axis pointing down
    T1 = arm.fk([0, -np.pi / 2, 0, -np.pi / 2, 0, 0])[0]
    np.testing.assert_allclose(T1[:3, 3], [0, -(d4 + d6), d1 - a2 - a3 + d5], atol=1e-12)
    # shoulder pan by +90 deg turns the zero pose about base z
    T2 = arm.fk([np.pi / 2, 0, 0, 0, 0, 0])[0]
    np.testing.assert_allclose(T2[:3, 3], [d4 + d6, a2 + a3, d1 - d5], atol=1e-12)


def test_batched_equals_looped(arm):
    q = arm.random_q(64, np.random.default_rng(2))
    T, J = arm.fk(q), arm.jacobian(q)
    for k in range(len(q)):
        np.testing.assert_array_equal(T[k], arm.fk(q[k])[0])
        np.testing.assert_array_equal(J[k], arm.jacobian(q[k])[0])
    assert T.shape == (64, 4, 4) and J.shape == (64, 6, arm.dof)


def _log(R):
    """Rotation vector of R via the angle-axis formula (fine away from pi)."""
    th = np.arccos(np.clip((np.trace(R) - 1) / 2, -1, 1))
    v = np.array([R[2, 1] - R[1, 2], R[0, 2] - R[2, 0], R[1, 0] - R[0, 1]])
    return v * (0.5 if th < 1e-12 else th / (2 * np.sin(th)))


def test_jacobian_matches_central_differences(arm):
    rng = np.random.default_rng(3)
    q = arm.random_q(30, rng)
    h = 1e-6
    J = arm.jacobian(q)
    for k in range(len(q)):
        for i in range(arm.dof):
            dq = np.zeros(arm.dof)
            dq[i] = h
            Tp, Tm = arm.fk(q[k] + dq)[0], arm.fk(q[k] - dq)[0]
            v = (Tp[:3, 3] - Tm[:3, 3]) / (2 * h)
            w = _log(Tp[:3, :3] @ Tm[:3, :3].T) / (2 * h)
            np.testing.assert_allclose(J[k, :3, i], v, atol=1e-8)
            np.testing.assert_allclose(J[k, 3:, i], w, atol=1e-8)


def test_modified_convention_matches_standard(tmp_path):
    """UR5 rewritten in Craig's convention (a, alpha shifted down one row) gives the same FK."""
    std = ik_nn.load_arm("ur5")
    rows = []
    for i in range(std.dof):
        a_prev, alpha_prev = (0.0, 0.0) if i == 0 else map(float, std.dh[i - 1, [0, 2]])
        rows.append(f"  - {{name: j{i}, a: {a_prev!r}, d: {float(std.dh[i, 1])!r}, "
                    f"alpha: {alpha_prev!r}, theta_offset: 0, lower: -2*pi, upper: 2*pi}}")
    a_n, alpha_n = map(float, std.dh[-1, [0, 2]])
    path = tmp_path / "ur5_modified.yaml"
    path.write_text("name: ur5_modified\nconvention: modified\n"
                    f"tool: {{xyz: [{a_n!r}, 0, 0], rpy: [{alpha_n!r}, 0, 0]}}\n"
                    "joints:\n" + "\n".join(rows) + "\n")
    mod = ik_nn.load_arm(path)
    q = std.random_q(100, np.random.default_rng(4))
    np.testing.assert_allclose(mod.fk(q), std.fk(q), atol=1e-14)
    np.testing.assert_allclose(mod.jacobian(q), std.jacobian(q), atol=1e-14)
    for k in range(5):
        np.testing.assert_allclose(mod.fk(q[k])[0], fk_reference(mod, q[k]), atol=1e-14)


def test_base_and_tool_transforms(tmp_path):
    path = tmp_path / "arm.yaml"
    path.write_text("name: moved\nconvention: standard\n"
                    "base: {xyz: [0.1, -0.2, 0.3], rpy: [0.1, 0.2, 0.3]}\n"
                    "tool: {xyz: [0, 0, 0.05], rpy: [pi, 0, 0]}\n"
                    "joints:\n"
                    "  - {name: j1, a: 0.2, d: 0.1, alpha: pi/2, theta_offset: 0.1, "
                    "lower: -pi, upper: pi}\n"
                    "  - {name: j2, a: 0.3, d: 0, alpha: 0, theta_offset: 0, "
                    "lower: -pi, upper: pi}\n")
    arm = ik_nn.load_arm(path)
    q = arm.random_q(20, np.random.default_rng(5))
    base = transform([0.1, -0.2, 0.3], [0.1, 0.2, 0.3])
    for k in range(len(q)):
        np.testing.assert_allclose(arm.fk(q[k])[0], fk_reference(arm, q[k]), atol=1e-14)
    np.testing.assert_allclose(arm.base, base)


def test_pose_error_angles():
    rng = np.random.default_rng(6)
    for angle in (0.0, 1e-9, 1e-6, 0.3, 2.0, np.pi - 1e-6, np.pi):
        for _ in range(20):
            axis = rng.normal(size=3)
            axis /= np.linalg.norm(axis)
            R = random_rotation(rng)
            Ta, Tb = np.eye(4), np.eye(4)
            Ta[:3, :3] = R
            Tb[:3, :3] = rodrigues(angle * axis) @ R
            Tb[:3, 3] = [0.3, -0.4, 0.0]
            pos, rot = pose_error(Tb, Ta)
            assert pos[0] == pytest.approx(0.5, abs=1e-15)
            assert rot[0] == pytest.approx(angle, abs=1e-12 + 1e-9 * angle)


def test_rotation_log_inverts_exp_including_near_pi():
    from ik_nn.kinematics import rotation_log

    rng = np.random.default_rng(7)
    for angle in (1e-10, 1e-3, 1.0, 3.0, np.pi - 1e-5, np.pi - 1e-9):
        # random axes, and axes that tie the diagonal entries the near-π branch picks from
        special = [(1, 0, 0), (0, 1, 0), (0, 0, -1), (1, 1, 0), (0, -1, 1), (1, 1, 1)]
        for axis in ([rng.normal(size=3) for _ in range(20)]
                     + [np.array(a, float) for a in special]):
            w = angle * axis / np.linalg.norm(axis)
            E = rodrigues(w)
            got, w_out = rotation_log(E, np.eye(3))
            assert got == pytest.approx(angle, abs=1e-9)
            np.testing.assert_allclose(rodrigues(w_out), E, atol=1e-9)


def test_shapes_are_checked(arm):
    with pytest.raises(ValueError, match="shape"):
        arm.fk(np.zeros(arm.dof + 1))
    with pytest.raises(ValueError, match="shape"):
        pose_error(np.eye(3), np.eye(4))

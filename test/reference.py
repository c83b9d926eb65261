"""Independent textbook references for the tests (plain numpy 4x4 products, no ik_nn code)."""
import numpy as np


def dh_standard(theta, d, a, alpha):
    """The deck's A_i = Rot_z(θ) Trans_z(d) Trans_x(a) Rot_x(α), written out."""
    ct, st, ca, sa = np.cos(theta), np.sin(theta), np.cos(alpha), np.sin(alpha)
    return np.array([
        [ct, -st * ca, st * sa, a * ct],
        [st, ct * ca, -ct * sa, a * st],
        [0.0, sa, ca, d],
        [0.0, 0.0, 0.0, 1.0],
    ])


def dh_modified(theta, d, a, alpha):
    """Craig's A_i = Rot_x(α) Trans_x(a) Rot_z(θ) Trans_z(d)."""
    ct, st, ca, sa = np.cos(theta), np.sin(theta), np.cos(alpha), np.sin(alpha)
    return np.array([
        [ct, -st, 0.0, a],
        [st * ca, ct * ca, -sa, -sa * d],
        [st * sa, ct * sa, ca, ca * d],
        [0.0, 0.0, 0.0, 1.0],
    ])


def fk_reference(arm, q):
    """Tool pose (4, 4) of one configuration by a loop of 4x4 products."""
    step = dh_standard if arm.convention == "standard" else dh_modified
    T = arm.base.copy()
    for i in range(arm.dof):
        a, d, alpha, off = arm.dh[i]
        T = T @ step(q[i] + off, d, a, alpha)
    return T @ arm.tool


def rodrigues(w):
    """exp([w]x) for a rotation vector w (3,)."""
    th = np.linalg.norm(w)
    if th < 1e-15:
        return np.eye(3)
    k = w / th
    K = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + np.sin(th) * K + (1 - np.cos(th)) * K @ K


def random_rotation(rng):
    q = rng.normal(size=4)
    x, y, z, w = q / np.linalg.norm(q)
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])

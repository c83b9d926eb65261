"""Batched forward kinematics, geometric Jacobian and pose error for revolute DH chains.

One implementation serves everything: compiled (numba, cached on disk) scalar kernels that work
on one configuration, and batched wrappers that loop over samples in compiled code. The solver's
inner loop calls the same kernels, so what the tests prove of ``fk``/``jacobian`` holds for it.

Conventions
-----------
* ``dh`` is ``(dof, 4)`` float64: columns ``a, d, alpha, theta_offset`` (metres, radians).
* ``convention`` is :data:`STANDARD` (``A_i = Rz(θ) Tz(d) Tx(a) Rx(α)``, joint i turns about
  ``z_{i-1}``) or :data:`MODIFIED` (Craig: ``A_i = Rx(α) Tx(a) Rz(θ) Tz(d)``, joint i turns
  about ``z_i``).
* ``base`` and ``tool`` are ``(4, 4)`` homogeneous transforms; FK is ``base · A_1 ⋯ A_n · tool``.
* Jacobian rows are ``[v; ω]`` in the base frame for the tool point.
* Rotation error is the log map of ``R_target · Rᵀ`` (base frame), its norm the angle.
"""
from __future__ import annotations

import numpy as np
from numba import njit

STANDARD = 0
MODIFIED = 1
CONVENTIONS = {"standard": STANDARD, "modified": MODIFIED}
_HALF_PI = np.pi / 2


@njit(cache=True, inline="always")
def _rotz_transz(R, p, theta, d):
    """In place: (R, p) ← (R, p) · Rz(θ) · Tz(d)."""
    p[0] += d * R[0, 2]
    p[1] += d * R[1, 2]
    p[2] += d * R[2, 2]
    c = np.cos(theta)
    s = np.sin(theta)
    for r in range(3):
        x = R[r, 0]
        y = R[r, 1]
        R[r, 0] = c * x + s * y
        R[r, 1] = -s * x + c * y


@njit(cache=True, inline="always")
def _transx_rotx(R, p, a, alpha):
    """In place: (R, p) ← (R, p) · Tx(a) · Rx(α)."""
    p[0] += a * R[0, 0]
    p[1] += a * R[1, 0]
    p[2] += a * R[2, 0]
    if alpha == 0.0:  # most DH twists are 0 or ±π/2: skip the trigonometry
        return
    if alpha == _HALF_PI or alpha == -_HALF_PI:
        c = 0.0
        s = 1.0 if alpha > 0.0 else -1.0
    else:
        c = np.cos(alpha)
        s = np.sin(alpha)
    for r in range(3):
        y = R[r, 1]
        z = R[r, 2]
        R[r, 1] = c * y + s * z
        R[r, 2] = -s * y + c * z


@njit(cache=True)
def chain_one(q, dh, convention, base, tool, R, p, axes, origins):
    """FK of one configuration, recording each joint's axis and a point on it.

    q (dof,); dh (dof, 4); base, tool (4, 4). Outputs, written in place: R (3, 3) and p (3,)
    the tool pose; axes (dof, 3) unit joint axes and origins (dof, 3) points on them, base frame.
    """
    for r in range(3):
        p[r] = base[r, 3]
        for c in range(3):
            R[r, c] = base[r, c]
    for i in range(dh.shape[0]):
        a = dh[i, 0]
        d = dh[i, 1]
        alpha = dh[i, 2]
        theta = q[i] + dh[i, 3]
        if convention == MODIFIED:
            _transx_rotx(R, p, a, alpha)
        for r in range(3):
            axes[i, r] = R[r, 2]
            origins[i, r] = p[r]
        _rotz_transz(R, p, theta, d)
        if convention == STANDARD:
            _transx_rotx(R, p, a, alpha)
    # tool: p ← p + R t ; R ← R R_tool
    t0 = tool[0, 3]
    t1 = tool[1, 3]
    t2 = tool[2, 3]
    for r in range(3):
        x = R[r, 0]
        y = R[r, 1]
        z = R[r, 2]
        p[r] += x * t0 + y * t1 + z * t2
        for c in range(3):
            R[r, c] = x * tool[0, c] + y * tool[1, c] + z * tool[2, c]


@njit(cache=True)
def jacobian_one(p, axes, origins, J):
    """Geometric Jacobian (6, dof) of the tool point p (3,) from joint axes/origins (dof, 3)."""
    for i in range(axes.shape[0]):
        zx = axes[i, 0]
        zy = axes[i, 1]
        zz = axes[i, 2]
        rx = p[0] - origins[i, 0]
        ry = p[1] - origins[i, 1]
        rz = p[2] - origins[i, 2]
        J[0, i] = zy * rz - zz * ry
        J[1, i] = zz * rx - zx * rz
        J[2, i] = zx * ry - zy * rx
        J[3, i] = zx
        J[4, i] = zy
        J[5, i] = zz


@njit(cache=True)
def rotation_log(Rt, R, w):
    """Rotation vector w (3,) with exp([w]) = Rt · Rᵀ; returns its angle in [0, π].

    Robust at both ends: atan2 keeps tiny angles exact, and near π the axis comes from the
    symmetric part instead of the vanishing skew part.
    """
    # E = Rt Rᵀ, as scalars (no scratch array: this runs in the solver's innermost loop)
    e00 = Rt[0, 0] * R[0, 0] + Rt[0, 1] * R[0, 1] + Rt[0, 2] * R[0, 2]
    e01 = Rt[0, 0] * R[1, 0] + Rt[0, 1] * R[1, 1] + Rt[0, 2] * R[1, 2]
    e02 = Rt[0, 0] * R[2, 0] + Rt[0, 1] * R[2, 1] + Rt[0, 2] * R[2, 2]
    e10 = Rt[1, 0] * R[0, 0] + Rt[1, 1] * R[0, 1] + Rt[1, 2] * R[0, 2]
    e11 = Rt[1, 0] * R[1, 0] + Rt[1, 1] * R[1, 1] + Rt[1, 2] * R[1, 2]
    e12 = Rt[1, 0] * R[2, 0] + Rt[1, 1] * R[2, 1] + Rt[1, 2] * R[2, 2]
    e20 = Rt[2, 0] * R[0, 0] + Rt[2, 1] * R[0, 1] + Rt[2, 2] * R[0, 2]
    e21 = Rt[2, 0] * R[1, 0] + Rt[2, 1] * R[1, 1] + Rt[2, 2] * R[1, 2]
    e22 = Rt[2, 0] * R[2, 0] + Rt[2, 1] * R[2, 1] + Rt[2, 2] * R[2, 2]
    vx = e21 - e12
    vy = e02 - e20
    vz = e10 - e01
    s2 = np.sqrt(vx * vx + vy * vy + vz * vz)  # 2 sin θ
    c2 = e00 + e11 + e22 - 1.0  # 2 cos θ
    angle = np.arctan2(s2, c2)
    if angle < 1e-8:
        w[0] = 0.5 * vx
        w[1] = 0.5 * vy
        w[2] = 0.5 * vz
    elif angle < np.pi - 1e-4:
        k = angle / s2
        w[0] = k * vx
        w[1] = k * vy
        w[2] = k * vz
    else:
        # Near π the skew part vanishes; the symmetric part is cos θ I + (1 - cos θ) n nᵀ
        # exactly. Take n from the column of the largest diagonal entry (best conditioned).
        c = 0.5 * c2
        if e00 >= e11 and e00 >= e22:
            nk = np.sqrt(max((e00 - c) / (1.0 - c), 1e-300))
            n0 = nk
            n1 = 0.5 * (e10 + e01) / ((1.0 - c) * nk)
            n2 = 0.5 * (e20 + e02) / ((1.0 - c) * nk)
        elif e11 >= e22:
            nk = np.sqrt(max((e11 - c) / (1.0 - c), 1e-300))
            n0 = 0.5 * (e01 + e10) / ((1.0 - c) * nk)
            n1 = nk
            n2 = 0.5 * (e21 + e12) / ((1.0 - c) * nk)
        else:
            nk = np.sqrt(max((e22 - c) / (1.0 - c), 1e-300))
            n0 = 0.5 * (e02 + e20) / ((1.0 - c) * nk)
            n1 = 0.5 * (e12 + e21) / ((1.0 - c) * nk)
            n2 = nk
        if n0 * vx + n1 * vy + n2 * vz < 0.0:
            n0, n1, n2 = -n0, -n1, -n2
        nn = np.sqrt(n0 * n0 + n1 * n1 + n2 * n2)
        w[0] = angle * n0 / nn
        w[1] = angle * n1 / nn
        w[2] = angle * n2 / nn
    return angle


@njit(cache=True)
def _fk_batch(q, dh, convention, base, tool, out):
    n, dof = q.shape
    axes = np.empty((dof, 3))
    origins = np.empty((dof, 3))
    R = np.empty((3, 3))
    p = np.empty(3)
    for k in range(n):
        chain_one(q[k], dh, convention, base, tool, R, p, axes, origins)
        for r in range(3):
            for c in range(3):
                out[k, r, c] = R[r, c]
            out[k, r, 3] = p[r]
        out[k, 3, 0] = 0.0
        out[k, 3, 1] = 0.0
        out[k, 3, 2] = 0.0
        out[k, 3, 3] = 1.0


@njit(cache=True)
def _jacobian_batch(q, dh, convention, base, tool, out):
    n, dof = q.shape
    axes = np.empty((dof, 3))
    origins = np.empty((dof, 3))
    R = np.empty((3, 3))
    p = np.empty(3)
    for k in range(n):
        chain_one(q[k], dh, convention, base, tool, R, p, axes, origins)
        jacobian_one(p, axes, origins, out[k])


@njit(cache=True)
def _pose_error_batch(T_target, T, pos_err, rot_err):
    w = np.empty(3)
    for k in range(T.shape[0]):
        dx = T_target[k, 0, 3] - T[k, 0, 3]
        dy = T_target[k, 1, 3] - T[k, 1, 3]
        dz = T_target[k, 2, 3] - T[k, 2, 3]
        pos_err[k] = np.sqrt(dx * dx + dy * dy + dz * dz)
        rot_err[k] = rotation_log(T_target[k, :3, :3], T[k, :3, :3], w)


def _as_batch(q, dof):
    q = np.asarray(q, dtype=np.float64)
    single = q.ndim == 1
    q2 = np.ascontiguousarray(q.reshape(1, -1) if single else q)
    if q2.ndim != 2 or q2.shape[1] != dof:
        raise ValueError(f"q must have shape (N, {dof}) or ({dof},), got {q.shape}")
    return q2


def fk(q, dh, convention, base, tool):
    """Tool poses (N, 4, 4) for joint configurations q (N, dof) or (dof,)."""
    q2 = _as_batch(q, dh.shape[0])
    out = np.empty((q2.shape[0], 4, 4))
    _fk_batch(q2, dh, convention, base, tool, out)
    return out


def jacobian(q, dh, convention, base, tool):
    """Geometric Jacobians (N, 6, dof), rows [v; ω] in the base frame."""
    q2 = _as_batch(q, dh.shape[0])
    out = np.empty((q2.shape[0], 6, dh.shape[0]))
    _jacobian_batch(q2, dh, convention, base, tool, out)
    return out


def as_poses(T):
    """(N, 4, 4) contiguous float64 view of T given as (4, 4) or (N, 4, 4)."""
    T = np.asarray(T, dtype=np.float64)
    if T.shape == (4, 4):
        T = T[None]
    if T.ndim != 3 or T.shape[1:] != (4, 4):
        raise ValueError(f"poses must have shape (N, 4, 4) or (4, 4), got {T.shape}")
    return np.ascontiguousarray(T)


def pose_error(T_target, T):
    """Task-space errors between poses (N, 4, 4): position (N,) metres, rotation (N,) radians.

    The rotation error is the angle of R_target · Rᵀ.
    """
    Tt = as_poses(T_target)
    Ta = as_poses(T)
    if Tt.shape != Ta.shape:
        raise ValueError(f"pose batches differ in shape: {Tt.shape} vs {Ta.shape}")
    pos = np.empty(Tt.shape[0])
    rot = np.empty(Tt.shape[0])
    _pose_error_batch(Tt, Ta, pos, rot)
    return pos, rot


def transform(xyz=(0.0, 0.0, 0.0), rpy=(0.0, 0.0, 0.0)):
    """(4, 4) transform from a translation (m) and fixed-axis roll, pitch, yaw (rad), as URDF."""
    r, p, y = rpy
    cr, sr, cp, sp, cy, sy = np.cos(r), np.sin(r), np.cos(p), np.sin(p), np.cos(y), np.sin(y)
    T = np.eye(4)
    T[:3, :3] = [
        [cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr],
        [sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr],
        [-sp, cp * sr, cp * cr],
    ]
    T[:3, 3] = xyz
    return T

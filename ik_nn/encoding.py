r"""The one definition of the seeding network's input and output encoding (numpy only).

Training (``ik_nn.training``, torch) and runtime (``ik_nn.seeder``, onnxruntime) both take their
layout and constants from here; the torch twin of :func:`decode` and the compiled twins in the
seeder are tested against these functions.

Input features, ``(N, N_FEATURES)`` float32, pose expressed in the arm's base frame
(``base⁻¹ · T``, so a mounted arm sees the same numbers as an unmounted one):

====  =====================================================================================
0-2   tool position / ``arm.reach`` (about unit scale whatever the arm's size)
3-5   first column of the rotation matrix  \  the continuous 6-D rotation representation
6-8   second column of the rotation matrix /  (Zhou et al. 2019); never Euler angles
9-11  third column (the cross product of the first two: redundant, but it makes wrist-centre
      positions ``p - d·z`` linear in the input; measured on the UR5 at equal budget, 300k
      samples x 5 epochs: median 38.8 mm / 9.9 deg with it, 41.3 mm / 12.0 deg without)
12    flag: 1 = full pose, 0 = position only (then features 3-11 are zero)
====  =====================================================================================

One network serves both modes: position-only training samples carry flag 0, zeroed rotation
features and labels whose free joints are canonicalised (see ``ik_nn.training.dataset``).

Azimuth factored out (arms whose first joint is periodic): the first DH joint turns about the
base z axis (see :func:`uses_azimuth`), so ``FK(θ1 + φ, rest) = Rz(φ) · FK(θ1, rest)`` in the
base frame. The pose is turned by ``-φ``, ``φ = atan2(y, x)`` of the tool position, before
encoding (so the position features always have y = 0, x ≥ 0), the network predicts ``θ1 - φ``
and :func:`decode` adds ``φ`` back. The network then learns a function of one dimension less.
Arms with a bounded first joint are encoded without this (their limits break the symmetry).

Output, per hypothesis, ``M = output_width(arm)`` numbers, joint by joint in the arm's order:

* periodic joint (range ≥ 2π): two numbers ``(s, c)``; the angle is ``atan2(s, c)`` — the
  network predicts the joint modulo 2π and :func:`nearest_representative` picks the turn;
* any other joint: one number ``u``; the angle is ``mid + half · clip(u, -1, 1)`` with
  ``mid``/``half`` the centre/half-width of its limits, so every decoded angle is in range.

The network emits ``(N, K·M)`` (K hypotheses, hypothesis-major); :func:`decode` maps it to
``(N, K, dof)`` angles.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

ENCODING_VERSION = 2
N_FEATURES = 13
POS = slice(0, 3)
ROT = slice(3, 12)
FLAG = 12

# The ONNX file: one input (batch, N_FEATURES) float32, one output (batch, K·M) float32, and
# string metadata under METADATA_PREFIX (values JSON-encoded unless plain strings).
INPUT_NAME = "pose_features"
OUTPUT_NAME = "joint_hypotheses"
METADATA_PREFIX = "ik_nn."
REQUIRED_METADATA = ("arm", "dh_hash", "joint_names", "K", "M", "encoding_version")


class ModelError(ValueError):
    """A model file that cannot serve this arm; the message names the file and the field."""


@dataclass(frozen=True)
class Layout:
    """Where each joint lives in one hypothesis' output row.

    ``periodic`` (dof,) bool; ``first`` (dof,) column of the joint's first number (``s`` for a
    periodic joint, ``u`` otherwise); ``second`` (dof,) column of ``c`` for periodic joints and
    -1 otherwise; ``mid``/``half`` (dof,) limit centre and half-width; ``width`` = M.
    """

    periodic: np.ndarray
    first: np.ndarray
    second: np.ndarray
    mid: np.ndarray
    half: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    width: int


def layout(arm) -> Layout:
    periodic = np.asarray(arm.periodic, dtype=bool)
    first = np.empty(arm.dof, dtype=np.int64)
    second = np.full(arm.dof, -1, dtype=np.int64)
    col = 0
    for j in range(arm.dof):
        first[j] = col
        col += 1
        if periodic[j]:
            second[j] = col
            col += 1
    lower = np.asarray(arm.lower, dtype=np.float64)
    upper = np.asarray(arm.upper, dtype=np.float64)
    return Layout(periodic, first, second, 0.5 * (lower + upper), 0.5 * (upper - lower),
                  lower, upper, col)


def output_width(arm) -> int:
    """M: numbers per hypothesis."""
    return int(arm.dof + np.count_nonzero(arm.periodic))


def _base_inverse(arm):
    B = np.asarray(arm.base, dtype=np.float64)
    Rb = B[:3, :3]
    return Rb.T, -Rb.T @ B[:3, 3]


def uses_azimuth(arm) -> bool:
    """Whether the azimuth of the target is factored out.

    That is: first joint periodic and turning about the base z axis (always so in standard DH;
    modified DH needs a_0 = α_0 = 0).
    """
    if not bool(np.asarray(arm.periodic)[0]):
        return False
    if arm.convention == "modified":
        return (abs(arm.dh[0, 0]) < 1e-12 and abs(np.sin(arm.dh[0, 2])) < 1e-12
                and np.cos(arm.dh[0, 2]) > 0)
    return True


def _local(T, arm):
    T = np.asarray(T, dtype=np.float64)
    if T.shape == (4, 4):
        T = T[None]
    if T.ndim != 3 or T.shape[1:] != (4, 4):
        raise ValueError(f"poses must have shape (N, 4, 4) or (4, 4), got {T.shape}")
    RbT, tb = _base_inverse(arm)
    return T[:, :3, 3] @ RbT.T + tb, RbT[None] @ T[:, :3, :3]


def azimuth(T, arm) -> np.ndarray:
    """(N,) angle φ added to the first joint by :func:`decode` (zeros if not factored out)."""
    p, _ = _local(T, arm)
    if not uses_azimuth(arm):
        return np.zeros(p.shape[0])
    return np.arctan2(p[:, 1], p[:, 0])


def encode_pose(T, arm, position_only=False) -> np.ndarray:
    """Network input ``(N, N_FEATURES)`` float32 for target poses T ``(N, 4, 4)`` or ``(4, 4)``.

    ``position_only`` may be a bool or an ``(N,)`` bool array (mixed batches, for training).
    """
    p, R = _local(T, arm)
    n = p.shape[0]
    if uses_azimuth(arm):  # turn by -φ about z: position ends up at y = 0, x ≥ 0
        phi = np.arctan2(p[:, 1], p[:, 0])
        c, s = np.cos(phi)[:, None], np.sin(phi)[:, None]
        p = np.stack([c[:, 0] * p[:, 0] + s[:, 0] * p[:, 1], np.zeros(n), p[:, 2]], axis=1)
        R = np.stack([c * R[:, 0] + s * R[:, 1], -s * R[:, 0] + c * R[:, 1], R[:, 2]], axis=1)
    out = np.empty((n, N_FEATURES), dtype=np.float32)
    out[:, POS] = p / arm.reach
    out[:, 3:6] = R[:, :, 0]
    out[:, 6:9] = R[:, :, 1]
    out[:, 9:12] = R[:, :, 2]
    po = np.broadcast_to(np.asarray(position_only, dtype=bool), (n,))
    out[:, FLAG] = np.where(po, 0.0, 1.0)
    out[po, ROT] = 0.0
    return out


def encode_joints(q, arm, phi=None) -> np.ndarray:
    """Training targets ``(N, M)`` float32 for joint angles q ``(N, dof)`` (inside the limits).

    For targets whose :func:`azimuth` is ``phi`` (N,) (required when the arm uses it).
    """
    q = np.array(np.atleast_2d(q), dtype=np.float64)
    if uses_azimuth(arm):
        if phi is None:
            raise ValueError(f"arm {arm.name!r} factors out the azimuth: pass phi")
        q[:, 0] -= phi
    lay = layout(arm)
    out = np.empty((q.shape[0], lay.width), dtype=np.float64)
    per = lay.periodic
    out[:, lay.first[per]] = np.sin(q[:, per])
    out[:, lay.second[per]] = np.cos(q[:, per])
    out[:, lay.first[~per]] = (q[:, ~per] - lay.mid[~per]) / lay.half[~per]
    return out.astype(np.float32)


def decode(raw, arm, K=None, phi=None) -> np.ndarray:
    """Joint angles ``(N, K, dof)`` float64 from network outputs ``(N, K·M)`` or ``(N, K, M)``.

    For targets whose :func:`azimuth` is ``phi`` (N,) (required when the arm uses it).

    Periodic joints come back as principal values in (-π, π] (pass the result through
    :func:`nearest_representative` to place them inside the limits); other joints inside
    their limits.
    """
    raw = np.asarray(raw, dtype=np.float64)
    lay = layout(arm)
    if raw.ndim == 2:
        if raw.shape[1] % lay.width:
            raise ValueError(f"output width {raw.shape[1]} is not a multiple of M={lay.width}")
        raw = raw.reshape(raw.shape[0], -1, lay.width)
    if K is not None and raw.shape[1] != K:
        raise ValueError(f"expected {K} hypotheses, got {raw.shape[1]}")
    per = lay.periodic
    q = np.empty(raw.shape[:2] + (len(per),), dtype=np.float64)
    q[..., per] = np.arctan2(raw[..., lay.first[per]], raw[..., lay.second[per]])
    u = np.clip(raw[..., lay.first[~per]], -1.0, 1.0)
    q[..., ~per] = lay.mid[~per] + lay.half[~per] * u
    if uses_azimuth(arm):
        if phi is None:
            raise ValueError(f"arm {arm.name!r} factors out the azimuth: pass phi")
        a = q[..., 0] + np.asarray(phi, dtype=np.float64).reshape(-1, 1)
        q[..., 0] = np.arctan2(np.sin(a), np.cos(a))
    return q


def default_reference(arm) -> np.ndarray:
    """(dof,) reference for choosing periodic joints' turn: mid-limits (0 for symmetric limits)."""
    return 0.5 * (np.asarray(arm.lower) + np.asarray(arm.upper))


def nearest_representative(q, arm, q_ref=None) -> np.ndarray:
    """Q with each periodic joint moved by whole turns to the in-limits value nearest ``q_ref``.

    ``q_ref`` is broadcastable to q (default :func:`default_reference`). Other joints untouched.

    ``q_ref`` is first clipped into the limits; since a periodic joint's range spans at least
    2π, the nearest representative of that clipped reference always lies inside the limits.
    """
    q = np.array(q, dtype=np.float64)
    lower = np.asarray(arm.lower, dtype=np.float64)
    upper = np.asarray(arm.upper, dtype=np.float64)
    ref = default_reference(arm) if q_ref is None else np.asarray(q_ref, dtype=np.float64)
    ref = np.clip(ref, lower, upper)
    per = np.asarray(arm.periodic, dtype=bool)
    two_pi = 2.0 * np.pi
    ref = np.broadcast_to(ref, q.shape)
    d = q - ref
    c = ref + (d - two_pi * np.round(d / two_pi))
    c = np.where(c > upper, c - two_pi, c)
    c = np.where(c < lower, c + two_pi, c)
    q[..., per] = c[..., per]
    return q


# ---------------------------------------------------------------------- the model file
def metadata(arm, K: int, command: str = "", extra: dict | None = None) -> dict:
    """The metadata an exported model carries (keys with :data:`METADATA_PREFIX`)."""
    meta = {"arm": arm.name, "dh_hash": arm.dh_hash,
            "joint_names": json.dumps(list(arm.joint_names)), "K": str(int(K)),
            "M": str(output_width(arm)), "encoding_version": str(ENCODING_VERSION),
            "training_command": command}
    for k, v in (extra or {}).items():
        meta[k] = v if isinstance(v, str) else json.dumps(v)
    return {METADATA_PREFIX + k: v for k, v in meta.items()}


def metadata_from(custom_map: dict) -> dict:
    """The ``ik_nn`` entries of an ONNX model's custom metadata, keys without the prefix."""
    n = len(METADATA_PREFIX)
    return {k[n:]: v for k, v in custom_map.items() if k.startswith(METADATA_PREFIX)}


def check_metadata(meta: dict, arm, where: str) -> int:
    """Check a model's metadata (:func:`metadata_from`) against ``arm``; returns K.

    Raises :class:`ModelError` naming ``where`` (the file) and the field.
    """
    for key in REQUIRED_METADATA:
        if key not in meta:
            raise ModelError(f"{where}: metadata field '{key}' missing (not an ik-nn model?)")
    if meta["arm"] != arm.name:
        raise ModelError(f"{where}: metadata field 'arm' is {meta['arm']!r}, "
                         f"but the arm is {arm.name!r}")
    if meta["dh_hash"] != arm.dh_hash:
        raise ModelError(f"{where}: metadata field 'dh_hash' is {meta['dh_hash']}, but arm "
                         f"{arm.name!r} has {arm.dh_hash} (DH parameters or limits changed)")
    try:
        names = tuple(json.loads(meta["joint_names"]))
    except (ValueError, TypeError) as exc:
        raise ModelError(f"{where}: metadata field 'joint_names' unreadable: {exc}") from exc
    if names != tuple(arm.joint_names):
        raise ModelError(f"{where}: metadata field 'joint_names' is {list(names)}, "
                         f"but the arm's joints are {list(arm.joint_names)}")
    if meta["encoding_version"] != str(ENCODING_VERSION):
        raise ModelError(f"{where}: metadata field 'encoding_version' is "
                         f"{meta['encoding_version']}, this ik_nn reads version "
                         f"{ENCODING_VERSION} (retrain the model)")
    try:
        K, M = int(meta["K"]), int(meta["M"])
    except ValueError as exc:
        raise ModelError(f"{where}: metadata field 'K' or 'M' is not an integer") from exc
    if K < 1:
        raise ModelError(f"{where}: metadata field 'K' must be at least 1, got {K}")
    if M != output_width(arm):
        raise ModelError(f"{where}: metadata field 'M' is {M}, arm {arm.name!r} needs "
                         f"{output_width(arm)} outputs per hypothesis")
    return K


def network_record(arm, K: int) -> bytes:
    """The kernels' ``Network`` record (:mod:`ik_nn.contract`).

    What the compiled twins of :func:`encode_pose` and :func:`decode` need for ``arm`` and K
    hypotheses.
    """
    from .contract import NETWORK, pack

    lay = layout(arm)
    RbT, tb = _base_inverse(arm)
    frame = np.zeros(16)
    frame[:9] = RbT.ravel()
    frame[9:12] = tb
    frame[12] = 1.0 / arm.reach
    return pack(NETWORK, dof=arm.dof, K=int(K), M=lay.width, azimuth=int(uses_azimuth(arm)),
                first=lay.first, second=lay.second, periodic=lay.periodic.astype(np.int32),
                mid=lay.mid, half=lay.half, lower=lay.lower, upper=lay.upper, frame=frame)

"""Runtime seeding network: ONNX model → K joint-space hypotheses per target (onnxruntime only).

The model's metadata must match the arm (name, DH hash, joint names), the encoding version
and its own output width; anything else is refused with :class:`ModelError` naming the file
and the field. The input/output encoding is :mod:`ik_nn.encoding`; the compiled kernels here
are twins of :func:`ik_nn.encoding.encode_pose`, :func:`~ik_nn.encoding.decode` and
:func:`~ik_nn.encoding.nearest_representative` (tested equal), written so that a single query
costs a few microseconds around the network itself: buffers are pre-allocated and bound to
onnxruntime once (I/O binding), with one intra-op thread and sequential execution by default.
"""
from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
from numba import njit, prange

from . import encoding
from .refiner import _renamed

INPUT_NAME = "pose_features"
OUTPUT_NAME = "joint_hypotheses"
_TWO_PI = 2.0 * np.pi
_F64 = np.dtype(np.float64)
_ONE = (4, 4)
_ONE3 = (1, 4, 4)


class ModelError(ValueError):
    """A model file that cannot serve this arm; the message names the file and the field."""


def _encode(T, E, azimuth, position_only, out, phi):
    """Twin of encoding.encode_pose (+ encoding.azimuth into phi (N,)): T (N, 4, 4) float64 →
    out (N, F) float32. Returns False (out incomplete) as soon as a pose has a NaN or inf.

    E (5, 3): rows 0-2 the base rotation transposed, row 3 the base-inverse translation,
    E[4, 0] = 1 / reach. Rotation columns fill encoding.ROT, the flag is the last feature.
    """
    for x in T.ravel():
        if not np.isfinite(x):
            return False
    ncols = (out.shape[1] - 4) // 3
    flag = out.shape[1] - 1
    for n in prange(T.shape[0]):
        p = np.empty(3)
        R = np.empty((3, 3))
        for r in range(3):
            v = E[3, r]
            for c in range(3):
                v += E[r, c] * T[n, c, 3]
            p[r] = v
            for col in range(3):
                w = 0.0
                for c in range(3):
                    w += E[r, c] * T[n, c, col]
                R[r, col] = w
        if azimuth:
            a = np.arctan2(p[1], p[0])
            phi[n] = a
            ca = np.cos(a)
            sa = np.sin(a)
            p[0], p[1] = ca * p[0] + sa * p[1], 0.0
            for col in range(3):
                r0 = R[0, col]
                r1 = R[1, col]
                R[0, col] = ca * r0 + sa * r1
                R[1, col] = -sa * r0 + ca * r1
        else:
            phi[n] = 0.0
        for r in range(3):
            out[n, r] = p[r] * E[4, 0]
        for col in range(ncols):
            for r in range(3):
                out[n, 3 + 3 * col + r] = 0.0 if position_only else R[r, col]
        out[n, flag] = 0.0 if position_only else 1.0
    return True


def _decode(raw, K, P, idx, phi, qref, out):
    """Twins of encoding.decode + nearest_representative: raw (N, K·M) → out (N, K, dof);
    phi (N,) is added to the first joint (zeros when the arm does not factor out the azimuth).

    P (5, dof): mid, half, lower, upper, periodic (1.0/0.0); idx (2, dof): first, second
    output column per joint. qref (R, dof) with R = 1 (shared) or N, clipped into the limits.
    """
    dof = P.shape[1]
    M = raw.shape[1] // K
    for n in prange(raw.shape[0]):
        ref = qref[0] if qref.shape[0] == 1 else qref[n]
        for k in range(K):
            base = k * M
            for j in range(dof):
                if P[4, j] > 0.5:
                    a = np.arctan2(np.float64(raw[n, base + idx[0, j]]),
                                   np.float64(raw[n, base + idx[1, j]]))
                    if j == 0:
                        a += phi[n]
                    d = a - ref[j]
                    c = ref[j] + (d - _TWO_PI * np.round(d / _TWO_PI))
                    if c > P[3, j]:
                        c -= _TWO_PI
                    if c < P[2, j]:
                        c += _TWO_PI
                    out[n, k, j] = c
                else:
                    u = np.float64(raw[n, base + idx[0, j]])
                    if u > 1.0:
                        u = 1.0
                    elif u < -1.0:
                        u = -1.0
                    out[n, k, j] = P[0, j] + P[1, j] * u


# Serial builds (GIL released: the solver runs chunks of a batch on several threads) and
# parallel ones (every core) for large batches. numba's disk cache is keyed by the function's
# name, hence the renamed twins.
_encode_into = njit(cache=True, nogil=True)(_encode)
_decode_into = njit(cache=True, nogil=True)(_decode)
_encode_into_par = njit(cache=True, parallel=True)(_renamed(_encode, "_encode_par"))
_decode_into_par = njit(cache=True, parallel=True)(_renamed(_decode, "_decode_par"))
PARALLEL_MIN = 256  # poses; below this, starting the threads costs more than they save


def read_metadata(path) -> dict:
    """The ``ik_nn.*`` metadata of an ONNX model (keys without the prefix)."""
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    meta = sess.get_modelmeta().custom_metadata_map
    return {k[len("ik_nn."):]: v for k, v in meta.items() if k.startswith("ik_nn.")}


class Seeder:
    """K joint-space hypotheses per target pose from an ``ik-nn train`` ONNX model.

    ``hypotheses`` is safe to call from several threads (``lock`` guards the single-query
    buffers). Decoding constants, shared with the solver's compiled single-query path:
    ``P`` (5, dof) mid, half, lower, upper, periodic; ``idx`` (2, dof) output columns;
    ``ref0`` (1, dof) the default reference for periodic joints (mid-limits).
    """

    def __init__(self, path, arm, threads: int = 1):
        import onnxruntime as ort

        self.path = Path(path)
        self.arm = arm
        where = str(self.path)
        if not self.path.is_file():
            raise ModelError(f"{where}: no such model file")
        so = ort.SessionOptions()
        so.intra_op_num_threads = max(1, int(threads))
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.log_severity_level = 3
        try:
            self._sess = ort.InferenceSession(where, so, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises several types for unreadable files
            raise ModelError(f"{where}: not a readable ONNX model ({type(exc).__name__}: "
                             f"{str(exc).strip()[:200]})") from exc
        meta = self._sess.get_modelmeta().custom_metadata_map
        self.metadata = {k[len("ik_nn."):]: v for k, v in meta.items() if k.startswith("ik_nn.")}
        self._check(where, arm)

        lay = encoding.layout(arm)
        self.M = lay.width
        self.dof = arm.dof
        self._lower, self._upper = lay.lower.copy(), lay.upper.copy()
        self.P = np.ascontiguousarray(np.stack([lay.mid, lay.half, lay.lower, lay.upper,
                                                lay.periodic.astype(np.float64)]))
        self.idx = np.ascontiguousarray(np.stack([lay.first, lay.second]))
        self.ref0 = encoding.default_reference(arm).reshape(1, -1).copy()
        B = np.asarray(arm.base, dtype=np.float64)
        self._E = np.zeros((5, 3))
        self._E[:3] = B[:3, :3].T
        self._E[3] = -B[:3, :3].T @ B[:3, 3]
        self._E[4, 0] = 1.0 / arm.reach
        self._azimuth = encoding.uses_azimuth(arm)
        self.phi1 = np.zeros(1)
        self._shape1 = (1, self.K, self.dof)

        # Single-query path (run_one): buffers bound once; ORT writes straight into raw1.
        self._x1 = np.zeros((1, encoding.N_FEATURES), dtype=np.float32)
        self.raw1 = np.zeros((1, self.K * self.M), dtype=np.float32)
        self._io = self._sess.io_binding()
        self._io.bind_ortvalue_input(INPUT_NAME, ort.OrtValue.ortvalue_from_numpy(self._x1))
        self._io.bind_ortvalue_output(OUTPUT_NAME, ort.OrtValue.ortvalue_from_numpy(self.raw1))
        self._raw_io = self._io._iobinding
        self._run_io = self._sess._sess.run_with_iobinding
        self._run_opts = ort.RunOptions()
        self.lock = threading.Lock()
        self.hypotheses(np.eye(4))  # compile/warm up now, not on the first real query

    def _check(self, where, arm):
        meta = self.metadata

        def need(key):
            if key not in meta:
                raise ModelError(f"{where}: metadata field '{key}' missing (not an ik-nn model?)")
            return meta[key]

        if need("arm") != arm.name:
            raise ModelError(f"{where}: metadata field 'arm' is {meta['arm']!r}, "
                             f"but the arm is {arm.name!r}")
        if need("dh_hash") != arm.dh_hash:
            raise ModelError(f"{where}: metadata field 'dh_hash' is {meta['dh_hash']}, but arm "
                             f"{arm.name!r} has {arm.dh_hash} (DH parameters or limits changed)")
        try:
            names = tuple(json.loads(need("joint_names")))
        except (ValueError, TypeError) as exc:
            raise ModelError(f"{where}: metadata field 'joint_names' unreadable: {exc}") from exc
        if names != tuple(arm.joint_names):
            raise ModelError(f"{where}: metadata field 'joint_names' is {list(names)}, "
                             f"but the arm's joints are {list(arm.joint_names)}")
        version = need("encoding_version")
        if version != str(encoding.ENCODING_VERSION):
            raise ModelError(f"{where}: metadata field 'encoding_version' is {version}, this "
                             f"ik_nn reads version {encoding.ENCODING_VERSION} (retrain the model)")
        try:
            K = int(need("K"))
            M = int(need("M"))
        except ValueError as exc:
            raise ModelError(f"{where}: metadata field 'K' or 'M' is not an integer") from exc
        if K < 1:
            raise ModelError(f"{where}: metadata field 'K' must be at least 1, got {K}")
        if M != encoding.output_width(arm):
            raise ModelError(f"{where}: metadata field 'M' is {M}, arm {arm.name!r} needs "
                             f"{encoding.output_width(arm)} outputs per hypothesis")
        ins, outs = self._sess.get_inputs(), self._sess.get_outputs()
        if len(ins) != 1 or ins[0].name != INPUT_NAME or ins[0].shape[-1] != encoding.N_FEATURES:
            raise ModelError(f"{where}: input must be '{INPUT_NAME}' (batch, "
                             f"{encoding.N_FEATURES}), got {[(i.name, i.shape) for i in ins]}")
        if len(outs) != 1 or outs[0].name != OUTPUT_NAME or outs[0].shape[-1] != K * M:
            raise ModelError(f"{where}: output must be '{OUTPUT_NAME}' (batch, {K * M}) for "
                             f"K={K}, got {[(o.name, o.shape) for o in outs]}")
        self.K = K

    def run_one(self, T, position_only=False) -> bool:
        """Encode one pose T (1, 4, 4) (C-contiguous float64) into the bound input and run the
        network: its raw output is then in ``raw1`` (1, K·M) float32 and the azimuth in ``phi1``
        (1,); decode with ``_decode_into(raw1, K, P, idx, phi1, ref, out)``. Returns False,
        without running, when T has a NaN or inf. The caller holds ``lock`` until it has read
        ``raw1``. This is the single-query path of :class:`~ik_nn.solver.IKSolver`.
        """
        if not _encode_into(T, self._E, self._azimuth, position_only, self._x1, self.phi1):
            return False
        self._run_io(self._raw_io, self._run_opts)
        return True

    def raw(self, features) -> np.ndarray:
        """Network outputs (N, K·M) float32 for encoded features (N, N_FEATURES)."""
        x = np.ascontiguousarray(features, dtype=np.float32)
        return self._sess.run([OUTPUT_NAME], {INPUT_NAME: x})[0]

    def hypotheses(self, T, q_ref=None, position_only: bool = False,
                   parallel=None) -> np.ndarray:
        """(N, K, dof) float64 joint hypotheses inside the limits for targets T (N, 4, 4).

        Periodic joints take the whole-turn representative inside the limits nearest
        ``q_ref`` ((N, dof) or (dof,); default mid-limits). Hypotheses are in network order,
        not ranked: rank them by FK task error. ``parallel``: encode/decode on every core
        (default: when N ≥ PARALLEL_MIN); False when the caller runs batches on threads itself.
        """
        if (q_ref is None and T.__class__ is np.ndarray and T.dtype is _F64
                and (T.shape == _ONE or T.shape == _ONE3) and T.flags.c_contiguous):
            # Fast path, one pose, no reference: nothing to check or convert.
            out = np.empty(self._shape1)
            with self.lock:
                if not self.run_one(T.reshape(_ONE3), bool(position_only)):
                    raise ValueError("target pose contains NaN or inf")
                _decode_into(self.raw1, self.K, self.P, self.idx, self.phi1, self.ref0, out)
            return out
        if type(T) is not np.ndarray or T.dtype != np.float64 or not T.flags.c_contiguous:
            T = np.ascontiguousarray(T, dtype=np.float64)
        if T.ndim == 2:
            T = T[None]
        if T.ndim != 3 or T.shape[1:] != (4, 4):
            raise ValueError(f"poses must have shape (N, 4, 4) or (4, 4), got {T.shape}")
        n = T.shape[0]
        if q_ref is None:
            ref = self.ref0
        else:
            ref = np.asarray(q_ref, dtype=np.float64)
            if ref.ndim == 1:
                ref = ref[None]
            if ref.ndim != 2 or ref.shape[1] != self.dof or ref.shape[0] not in (1, n):
                raise ValueError(f"q_ref must have shape ({n}, {self.dof}) or ({self.dof},), "
                                 f"got {np.shape(q_ref)}")
            ref = np.clip(ref, self._lower, self._upper)
        out = np.empty((n, self.K, self.dof))
        po = bool(position_only)
        if n == 1:
            with self.lock:
                if not self.run_one(T, po):
                    raise ValueError("target pose contains NaN or inf")
                _decode_into(self.raw1, self.K, self.P, self.idx, self.phi1, ref, out)
            return out
        x = np.empty((n, encoding.N_FEATURES), dtype=np.float32)
        phi = np.empty(n)
        par = n >= PARALLEL_MIN if parallel is None else bool(parallel)
        if not (_encode_into_par if par else _encode_into)(T, self._E, self._azimuth, po, x, phi):
            raise ValueError("target poses contain NaN or inf")
        (_decode_into_par if par else _decode_into)(self.raw(x), self.K, self.P, self.idx, phi,
                                                    ref, out)
        return out

"""The seeding network: target poses → K joint-space hypotheses each (onnxruntime only).

The model file's contract (tensor names, metadata, encoding) is :mod:`ik_nn.encoding`; a file
whose metadata does not match the arm is refused with :class:`~ik_nn.encoding.ModelError`
naming the file and the field. Encoding and decoding run in the compiled twins of
:func:`ik_nn.encoding.encode_pose` and :func:`ik_nn.encoding.decode` (tested equal). The
seeder owns its buffers: a single pose is encoded into an input bound to onnxruntime once,
and the network writes straight into a bound output (no per-call allocation or conversion).
Hypotheses come out in network order, not ranked: ranking is solve policy
(:mod:`ik_nn.candidates`).
"""
from __future__ import annotations

import threading
from functools import partial
from pathlib import Path

import numpy as np

from . import _kernels, encoding
from .encoding import ModelError

__all__ = ["ModelError", "Seeder", "read_metadata"]


def read_metadata(path) -> dict:
    """The ``ik_nn`` metadata of an ONNX model file (keys without the prefix)."""
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return encoding.metadata_from(sess.get_modelmeta().custom_metadata_map)


class Seeder:
    """K joint-space hypotheses per target pose from an ``ik-nn train`` ONNX model.

    Args:
        path: the ``.onnx`` file.
        arm: the :class:`~ik_nn.arm.Arm` it must serve.
        threads: onnxruntime intra-op threads per call.

    Thread-safe: single poses share bound buffers under a lock; batches allocate their own.
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
        self.metadata = encoding.metadata_from(self._sess.get_modelmeta().custom_metadata_map)
        self.K = encoding.check_metadata(self.metadata, arm, where)
        self._check_tensors(where)
        self.dof = arm.dof
        self.network = encoding.network_record(arm, self.K)
        self._lower, self._upper = arm.lower, arm.upper
        self._ref0 = encoding.default_reference(arm).reshape(1, -1).copy()

        # one pose at a time: buffers bound to onnxruntime once
        self._x1 = np.zeros((1, encoding.N_FEATURES), dtype=np.float32)
        self._raw1 = np.zeros((1, self.K * encoding.output_width(arm)), dtype=np.float32)
        self._phi1 = np.zeros(1)
        binding = self._sess.io_binding()
        binding.bind_ortvalue_input(encoding.INPUT_NAME,
                                    ort.OrtValue.ortvalue_from_numpy(self._x1))
        binding.bind_ortvalue_output(encoding.OUTPUT_NAME,
                                     ort.OrtValue.ortvalue_from_numpy(self._raw1))
        self._binding = binding  # keeps the bound OrtValues alive
        # onnxruntime's wrapper of run_with_iobinding re-validates the binding on every call,
        # a measurable part of a 3-joint solve: call the session's own method directly
        self._run_bound = partial(self._sess._sess.run_with_iobinding, binding._iobinding,
                                  ort.RunOptions())
        self._lock = threading.Lock()

    def _check_tensors(self, where):
        ins, outs = self._sess.get_inputs(), self._sess.get_outputs()
        width = self.K * encoding.output_width(self.arm)
        if (len(ins) != 1 or ins[0].name != encoding.INPUT_NAME
                or ins[0].shape[-1] != encoding.N_FEATURES):
            raise ModelError(f"{where}: input must be '{encoding.INPUT_NAME}' (batch, "
                             f"{encoding.N_FEATURES}), got {[(i.name, i.shape) for i in ins]}")
        if len(outs) != 1 or outs[0].name != encoding.OUTPUT_NAME or outs[0].shape[-1] != width:
            raise ModelError(f"{where}: output must be '{encoding.OUTPUT_NAME}' (batch, "
                             f"{width}) for K={self.K}, got {[(o.name, o.shape) for o in outs]}")

    def raw(self, features) -> np.ndarray:
        """Network outputs (N, K·M) float32 for encoded features (N, N_FEATURES)."""
        x = np.ascontiguousarray(features, dtype=np.float32)
        return self._sess.run([encoding.OUTPUT_NAME], {encoding.INPUT_NAME: x})[0]

    def hypotheses(self, T, q_ref=None, position_only: bool = False) -> np.ndarray:
        """(N, K, dof) joint hypotheses inside the limits, in network order.

        For target poses T (N, 4, 4) or (4, 4), metres.

        Periodic joints take the whole-turn representative inside the limits nearest
        ``q_ref`` ((N, dof) or (dof,); default mid-limits).
        """
        from .kinematics import as_poses

        T = as_poses(T)
        n = T.shape[0]
        if q_ref is None:
            ref = self._ref0
        else:
            ref = np.asarray(q_ref, dtype=np.float64)
            if ref.ndim == 1:
                ref = ref[None]
            if ref.ndim != 2 or ref.shape[1] != self.dof or ref.shape[0] not in (1, n):
                raise ValueError(f"q_ref must have shape ({n}, {self.dof}) or ({self.dof},), "
                                 f"got {np.shape(q_ref)}")
            ref = np.ascontiguousarray(np.clip(ref, self._lower, self._upper))
        out = np.empty((n, self.K, self.dof))
        if not self.propose(T, ref, bool(position_only), out):
            raise ValueError("target poses contain NaN or inf")
        return out

    def propose(self, T, ref, position_only: bool, out) -> bool:
        """Hypotheses for checked inputs into ``out`` (N, K, dof).

        T (N, 4, 4) and ref (1 or N, dof) C-contiguous float64, ref inside the limits. Returns
        False (out incomplete) if a pose is not finite. The solver's path: no checks or
        conversions beyond this.
        """
        if T.shape[0] == 1:
            with self._lock:
                if not _kernels.encode(self.network, T, position_only, self._x1, self._phi1):
                    return False
                self._run_bound()
                _kernels.decode(self.network, self._raw1, self._phi1, ref, out)
            return True
        x = np.empty((T.shape[0], encoding.N_FEATURES), dtype=np.float32)
        phi = np.empty(T.shape[0])
        if not _kernels.encode(self.network, T, position_only, x, phi):
            return False
        _kernels.decode(self.network, self.raw(x), phi, ref, out)
        return True

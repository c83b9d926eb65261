"""ONNX export with the metadata the seeder checks, then an onnxruntime-vs-torch comparison."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch

from .. import encoding


def export_onnx(model, arm, path, command: str = "", extra: dict | None = None,
                opset: int = 17) -> Path:
    """Write ``path`` (dynamic batch axis, named input/output, metadata); returns the path."""
    import onnx

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model = model.eval()
    dummy = torch.zeros(1, encoding.N_FEATURES)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model, (dummy,), str(path), input_names=[encoding.INPUT_NAME],
            output_names=[encoding.OUTPUT_NAME],
            dynamic_axes={encoding.INPUT_NAME: {0: "batch"}, encoding.OUTPUT_NAME: {0: "batch"}},
            opset_version=opset, dynamo=False,
        )
    proto = onnx.load(str(path))
    del proto.metadata_props[:]
    for k, v in encoding.metadata(arm, model.K, command, extra).items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = k, v
    proto.doc_string = f"ik_nn seeding network for arm {arm.name} (K={model.K})"
    onnx.checker.check_model(proto)
    onnx.save(proto, str(path))
    return path


def check_onnx(path, model, n: int = 512, seed: int = 0, atol: float = 1e-3) -> float:
    """Compare onnxruntime with torch on random features; raises if they differ. Returns max |Δ|.

    float32 kernels sum in different orders: a 256-wide trunk differs by up to ~3e-4 (ur5,
    measured). 1e-3 in the network's output units is still 100x below what a seed needs, and
    far below any export bug (a wrong layer or layout is off by O(1)).
    """
    import onnxruntime as ort

    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, size=(n, encoding.N_FEATURES)).astype(np.float32)
    x[:, encoding.FLAG] = rng.integers(0, 2, n)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = sess.run([encoding.OUTPUT_NAME], {encoding.INPUT_NAME: x})[0]
    with torch.no_grad():
        want = model.eval()(torch.from_numpy(x)).numpy()
    err = float(np.max(np.abs(got - want)))
    if not np.allclose(got, want, atol=atol, rtol=1e-4):
        raise AssertionError(f"{path}: onnxruntime and torch disagree (max |Δ| = {err:.3g})")
    return err

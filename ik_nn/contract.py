"""The compiled kernels' inputs, as numpy records built from the kernels' own declaration.

``ik_nn/kernels/contract.h`` declares each record once (field, type, count, description); the
extension reports that table (``_kernels.layouts()``) and this module turns it into numpy
dtypes with the same offsets and size. So the code that packs a record and the kernels that
read it cannot disagree: there is no offset or order written anywhere else.

Records: :data:`CHAIN` (an arm's kinematics and limits, packed by :mod:`ik_nn.kinematics`),
:data:`SETTINGS` (tolerances, budgets and policy, packed by :mod:`ik_nn.candidates`),
:data:`NETWORK` (the seeding network's decoding constants, packed by :mod:`ik_nn.encoding`).
Per-joint fields are :data:`MAX_DOF` long and filled from the front.
"""
from __future__ import annotations

import numpy as np

from . import _kernels

MAX_DOF = _kernels.MAX_DOF      # joints per chain the kernels accept
MAX_K = _kernels.MAX_K          # network hypotheses per target
N_FEATURES = _kernels.N_FEATURES


def _dtype(name: str) -> np.dtype:
    size, fields = _kernels.layouts()[name]
    return np.dtype({
        "names": [f[0] for f in fields],
        "formats": [np.dtype(f[2]) if f[3] == 1 else (np.dtype(f[2]), (f[3],)) for f in fields],
        "offsets": [f[1] for f in fields],
        "itemsize": size,
    })


def describe(name: str) -> dict:
    """{field: description} of one record (``Chain``, ``Settings`` or ``Network``)."""
    return {f[0]: f[4] for f in _kernels.layouts()[name][1]}


CHAIN = _dtype("Chain")
SETTINGS = _dtype("Settings")
NETWORK = _dtype("Network")


def pack(dtype: np.dtype, **values) -> bytes:
    """The bytes of a record of ``dtype`` with the given fields set (others zero).

    Immutable bytes are what the kernels read (the cheapest buffer to hand over: a
    single-target solve makes several calls); :func:`read` shows the fields again.

    Array fields take a sequence no longer than the field, written from the front; every
    field of the record must be given, so a field added to contract.h cannot go unset.
    """
    missing = set(dtype.names) - set(values)
    unknown = set(values) - set(dtype.names)
    if missing or unknown:
        raise ValueError(f"record fields: missing {sorted(missing)}, unknown {sorted(unknown)}")
    rec = np.zeros((), dtype=dtype)
    for name, value in values.items():
        shape = dtype.fields[name][0].shape
        if shape:
            flat = np.asarray(value).ravel()
            if flat.size > shape[0]:
                raise ValueError(f"field {name!r}: {flat.size} values, room for {shape[0]}")
            rec[name][:flat.size] = flat
        else:
            rec[name] = value
    return rec.tobytes()


def read(dtype: np.dtype, record: bytes) -> np.ndarray:
    """The fields of a packed record, as a read-only numpy record (``read(CHAIN, c)["dof"]``)."""
    return np.frombuffer(record, dtype=dtype)[0]

"""Networks and losses (torch). Layout and constants come from :mod:`ik_nn.encoding`.

* ``wta``: an MLP with K hypotheses (``K·M`` outputs) trained with relaxed winner-takes-all:
  each sample's loss is ``(1-ε)·min_k L_k + ε·mean_{k≠best} L_k`` so the hypotheses specialise
  on different IK branches instead of averaging them, and no hypothesis starves.
* ``plain``: the slide deck's regressor, MLP 128-64-32 ReLU with one output and MSE loss
  (K = 1, so WTA reduces to plain regression); kept for the comparison study.

``L_k`` is, joint by joint, approximately the squared angle error in radians: for a periodic
joint the squared chord between (s, c) and (sin q, cos q) (= 2 - 2 cos Δ ≈ Δ² for a unit
vector; the wrap-around is built in); for a bounded joint ``(half · (u - u*))²``.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .. import encoding

ARCHS = ("wta", "plain")
PLAIN_HIDDEN = (128, 64, 32)


class IKNet(nn.Module):
    """MLP: features (N, F) → raw outputs (N, K·M), hypothesis-major."""

    def __init__(self, n_in: int, hidden, K: int, M: int, activation: str = "silu"):
        super().__init__()
        act = {"silu": nn.SiLU, "relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh}[activation]
        layers, d = [], n_in
        for w in hidden:
            layers += [nn.Linear(d, w), act()]
            d = w
        self.trunk = nn.Sequential(*layers)
        self.head = nn.Linear(d, K * M)
        self.K, self.M = K, M
        self.hidden = tuple(hidden)
        self.activation = activation
        for m in list(self.trunk) + [self.head]:
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x, with_detached: bool = False):
        """Raw outputs; with ``with_detached`` also the head on the trunk's detached features.

        The trunk's features are cut from the graph (for the relaxed-WTA term of the
        non-winning hypotheses).
        """
        h = self.trunk(x)
        out = self.head(h)
        if with_detached:
            return out, self.head(h.detach())
        return out


def build(arch: str, arm, K: int, hidden=None, activation: str = "silu") -> IKNet:
    M = encoding.output_width(arm)
    if arch == "plain":
        return IKNet(encoding.N_FEATURES, PLAIN_HIDDEN, 1, M, "relu")
    if arch != "wta":
        raise ValueError(f"unknown architecture {arch!r} (choose from {ARCHS})")
    return IKNet(encoding.N_FEATURES, hidden, K, M, activation)


def joint_weights(arm, lever_fraction: float = 0.25, n: int = 256, seed: int = 0) -> np.ndarray:
    """(dof,) weights making Σ w_j Δq_j² approximate the task-space error a joint error causes.

    ``w_j = E|J_v,j|² / (lever_fraction·reach)² + E|J_ω,j|²`` over random configurations,
    normalised to mean 1 (1 rad of rotation error weighs as much as lever_fraction·reach of
    position error). Joints far from the tool (long lever arms) count more.
    """
    J = arm.jacobian(arm.random_q(n, np.random.default_rng(seed)))
    lever = (lever_fraction * arm.reach) ** 2
    w = (J[:, :3, :] ** 2).sum(1).mean(0) / lever + (J[:, 3:, :] ** 2).sum(1).mean(0)
    return w / w.mean()


class LayoutTensors:
    """The encoding layout as torch tensors, plus per-column loss weights."""

    def __init__(self, arm, lever_fraction: float = 0.0):
        lay = encoding.layout(arm)
        self.lay = lay
        self.joint_weight = (joint_weights(arm, lever_fraction) if lever_fraction > 0
                             else np.ones(arm.dof))
        w = np.ones(lay.width)
        per = lay.periodic
        w[lay.first[~per]] = lay.half[~per] ** 2  # (half·Δu)² = Δq²
        w[lay.first] *= self.joint_weight
        w[lay.second[per]] *= self.joint_weight[per]
        self.col_weight = torch.tensor(w, dtype=torch.float32)
        self.per = torch.tensor(per)
        self.first = torch.tensor(lay.first)
        self.second = torch.tensor(lay.second)
        self.mid = torch.tensor(lay.mid)
        self.half = torch.tensor(lay.half)
        self.azimuth = encoding.uses_azimuth(arm)


def hypothesis_losses(raw, target, lt: LayoutTensors):
    """(N, K) per-hypothesis loss ≈ Σ_j Δq_j² for raw (N, K·M) and targets (N, M)."""
    n = raw.shape[0]
    r = raw.view(n, -1, lt.lay.width)
    d = r - target[:, None, :]
    return (d * d * lt.col_weight).sum(-1)


def wta_loss(raw, target, lt: LayoutTensors, eps: float = 0.05, raw_detached=None):
    """Relaxed winner-takes-all loss (mean over the batch) and the per-sample best loss.

    With ``raw_detached`` (the head on detached trunk features, see :meth:`IKNet.forward`) the
    ε term of the non-winning hypotheses trains their head weights only, so they cannot pull
    the shared trunk towards the mean of other branches. Off by default: on rrr_full (100k
    samples x 4 epochs) it gave 0.80 mm / 1.64 deg against 0.55 mm / 0.79 deg without.
    """
    L = hypothesis_losses(raw, target, lt)
    K = L.shape[1]
    best, idx = L.min(dim=1)
    if K == 1 or eps == 0:
        return best.mean(), best
    Lo = L if raw_detached is None else hypothesis_losses(raw_detached, target, lt)
    others = (Lo.sum(dim=1) - Lo.gather(1, idx[:, None])[:, 0]) / (K - 1)
    return ((1.0 - eps) * best + eps * others).mean(), best


def decode_torch(raw, lt: LayoutTensors, phi=None):
    """Torch twin of :func:`ik_nn.encoding.decode`: (N, K·M) → (N, K, dof) float64."""
    n = raw.shape[0]
    r = raw.reshape(n, -1, lt.lay.width).double()
    per = lt.per
    q = torch.empty(r.shape[:2] + (per.shape[0],), dtype=torch.float64)
    q[..., per] = torch.atan2(r[..., lt.first[per]], r[..., lt.second[per]])
    u = r[..., lt.first[~per]].clamp(-1.0, 1.0)
    q[..., ~per] = lt.mid[~per] + lt.half[~per] * u
    if lt.azimuth:
        a = q[..., 0] + torch.as_tensor(phi, dtype=torch.float64).reshape(-1, 1)
        q[..., 0] = torch.atan2(torch.sin(a), torch.cos(a))
    return q

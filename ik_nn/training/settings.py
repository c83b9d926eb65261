"""Training settings for any arm, derived from its chain analysis and a timed probe.

numpy only at import (torch is imported by :func:`probe_rate` when it runs), so that
``ik-nn train --help`` and the dependency check stay cheap.

What is derived, and from what (:func:`derive`):

* **K** (hypotheses): from an estimate of the number of IK branches. Each *wide* joint
  (revolute, moves the tool point, range > 1.1π, so that both ``q`` and a flipped solution
  fit inside its limits for a good share of targets) can carry one binary branch choice, but
  no more choices than the chain's structure allows: ``position_rank − 1`` for placing the
  wrist (2 for a shoulder + elbow), 1 more for a 3-D orientation (the wrist flip), and 1 more
  for a 6-D chain whose wrist is not decoupled (no spherical wrist and no three parallel axes:
  16 rather than 8 solutions). ``K = 2^bits + 4`` (the extra 4 cover poles and branch
  boundaries), clamped to [4, 16]. A 7-joint arm whose self-motion is canonicalised
  (:mod:`.dataset`) is sized on the 6 joints left; left in the labels (``--redundancy none``)
  it gets 4 more hypotheses to spread over the self-motion.
* **widths**: two layers of 96 for chains of rank ≤ 3, else three layers of 192 (the rrr
  and rrrrrr presets' sizes). Width is paid on every network call of a single query
  (onnxruntime, one thread: 8 µs at 192, 11 µs at 256 for a 7-joint K = 12 head), and within
  the 10-minute budget 192 matched 256: on the Panda (7 joints, K = 16) 30.0 vs 28.5 mm
  network-alone median, basin 99.89 vs 99.90 % (10,000 targets); on the UR5e 9.5 vs 9.2 mm,
  basin 100 % both; single-query p99 with the network 8-11 % lower at 192 (20,000 queries,
  interleaved). Stepped down (192 → 128) when the probe says the time limit would allow
  fewer than :data:`MIN_PASSES` sample passes.
* **samples, epochs**: the time limit minus the start-up, export and result-card reserve,
  divided by the measured costs: a timed probe of this network's training steps (samples per
  second with the chosen threads) and of the data set (samples per second, canonicalisation
  included). Aim for :data:`TARGET_EPOCHS` epochs over as many samples as that allows
  (clamped to [50k, 2M]); small networks get more epochs (at most 100).
* **threads**: all cores (torch's default) unless ``--threads`` is given or a one-thread probe
  is faster: busy cores make multi-thread steps spin-wait (a UR-sized network measured 2.9k
  samples/s on both cores while another job used them, 40x below idle), which would size the
  whole run on a collapsed rate.
* **lever, ε, position-only share**: the bundled presets' values for the same kind of chain
  (lever 1.0 for rank ≤ 3, else 0.25; ε 0.02; 25 % position-only samples for rank ≤ 4, else
  10 %).

The result is printed once with the reasons (:func:`format_derivation`).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

DEFAULT_TIME_LIMIT = 10.0  # minutes, on 2 cores
TARGET_EPOCHS = 20
MAX_EPOCHS = 100
MIN_SAMPLES, MAX_SAMPLES = 50_000, 2_000_000
MIN_PASSES = 6_000_000     # sample passes below which the network is made narrower
STARTUP_S = 10.0           # analysis, probe, dependency check, validation set
WIDE = 1.1 * math.pi       # a revolute joint with a larger range can flip to a second branch


@dataclass
class ChainFacts:
    """What the settings are derived from (joint numbers 1-based, as ``ik-nn info``)."""

    dof: int
    rank: int
    position_rank: int
    prismatic: list
    periodic: list
    wide: list             # revolute, moves the tool point, range > 1.1π
    coaxial: list
    no_position: list
    placing: list          # revolute joints that move the tool point
    decoupled: str         # rank 6: "spherical wrist", "parallel axes i-j-k" or ""
    self_motion: int       # dimensions of self-motion left after the coaxial split
    redundant_joint: int | None = None   # 1-based joint pinned by the canonicalisation
    redundant_value: float | None = None


@dataclass
class Derivation:
    settings: dict
    reasons: list = field(default_factory=list)
    facts: ChainFacts | None = None
    source: str = "derived"     # "derived", "preset" or "tiny"


def _decoupled(arm, rep, rng) -> str:
    """Why the wrist decouples from the arm (analytic IK has ≤ 8 branches), or ""."""
    par = {(i, j) for i, j in rep.parallel}
    for i in range(1, arm.dof - 1):
        j, k = i + 1, i + 2
        if {(i, j), (i, k), (j, k)} <= par:
            return f"parallel axes {i}-{j}-{k}"
    revolute = [i for i in range(arm.dof) if not arm.prismatic[i]]
    if len(revolute) < 3 or arm.dof < 6:
        return ""
    from ..kinematics import joint_axes

    last = revolute[-3:]
    axes, origins = joint_axes(arm.chain, arm.random_q(32, rng))
    for a, o in zip(axes, origins):
        # the point nearest the three axis lines: Σ (I − a aᵀ)(x − o) = 0
        A = np.zeros((3, 3))
        b = np.zeros(3)
        for i in last:
            P = np.eye(3) - np.outer(a[i], a[i])
            A += P
            b += P @ o[i]
        x = np.linalg.lstsq(A, b, rcond=None)[0]
        miss = max(np.linalg.norm((np.eye(3) - np.outer(a[i], a[i])) @ (x - o[i]))
                   for i in last)
        if miss > 1e-9 * max(arm.reach, 1.0):
            return ""
    return "spherical wrist"


def chain_facts(arm, samples: int = 256) -> ChainFacts:
    from ..analysis import analyse
    from .dataset import redundant_joint

    rep = analyse(arm, samples=samples)
    rng = np.random.default_rng(0)
    span = np.asarray(arm.upper) - np.asarray(arm.lower)
    free = set(rep.no_position)
    wide = [i + 1 for i in range(arm.dof)
            if not arm.prismatic[i] and span[i] > WIDE and (i + 1) not in free]
    coax = [(i, j) for i, j, s in rep.coaxial if j == i + 1 and s > 0]
    facts = ChainFacts(
        dof=arm.dof, rank=rep.rank, position_rank=rep.position_rank,
        prismatic=[int(i) + 1 for i in np.flatnonzero(arm.prismatic)],
        periodic=[int(i) + 1 for i in np.flatnonzero(arm.periodic)], wide=wide, coaxial=coax,
        no_position=[int(i) for i in rep.no_position],
        placing=[i + 1 for i in range(arm.dof) if not arm.prismatic[i] and (i + 1) not in free],
        decoupled=_decoupled(arm, rep, rng) if rep.rank >= 6 else "",
        self_motion=max(0, arm.dof - rep.rank - len(coax)))
    if facts.self_motion == 1:
        pinned = redundant_joint(arm)
        if pinned is not None:
            facts.redundant_joint, facts.redundant_value = pinned[0] + 1, float(pinned[1])
    return facts


def branch_bits(f: ChainFacts) -> tuple[int, str]:
    """(bits, why): log2 of the estimated number of IK branches."""
    place = max(0, min(f.position_rank, len(f.placing)) - 1)
    orient = 1 if f.rank - f.position_rank >= 3 else 0
    general = 1 if (f.rank >= 6 and not f.decoupled) else 0
    cap = place + orient + general
    bits = min(len(f.wide), cap)
    parts = [f"{len(f.wide)} wide joint(s) {f.wide}" if f.wide else "no wide joint",
             f"at most {cap} branch choice(s): {place} placing the wrist ({len(f.placing)} "
             f"revolute joints move it, position rank {f.position_rank})"
             + (", 1 wrist flip" if orient else "")
             + (", 1 more (wrist not decoupled)" if general else
                (f" ({f.decoupled})" if f.decoupled and f.rank >= 6 else ""))]
    return bits, "; ".join(parts)


def probe_rate(arm, K, hidden, batch: int = 1024, threads: int = 0, seconds: float = 1.0,
               lever: float = 0.25) -> float:
    """Training samples per second of this network (AdamW steps on random data, timed)."""
    import torch

    from .. import encoding
    from . import network

    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = network.build("wta", arm, K, hidden)
    lt = network.LayoutTensors(arm, 0.0)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    X = torch.randn(batch, encoding.N_FEATURES)
    Y = torch.randn(batch, encoding.output_width(arm))

    def step():
        loss, _ = network.wta_loss(model(X), Y, lt, 0.02)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    try:   # the caller's thread count is restored: derive() probes several counts in a row
        for _ in range(3):
            step()
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            step()
            n += batch
        return n / (time.perf_counter() - t0)
    finally:
        torch.set_num_threads(before)


def cores() -> int:
    """CPUs this process may run on."""
    import os

    return len(os.sched_getaffinity(0))


def static_rate(arm, K, hidden) -> float:
    """A probe-free estimate (1 thread on this project's 2-core machine)."""
    from .. import encoding

    d, params = encoding.N_FEATURES, 0
    for w in hidden:
        params += d * w + w
        d = w
    params += d * K * encoding.output_width(arm)
    return min(3.0e5, 8.0e9 / max(params, 1))


def data_rate(arm, redundancy: str, n: int = 5000) -> float:
    """Data set samples per second (FK, canonicalisation, encoding), timed on n samples."""
    from .dataset import make_dataset

    t0 = time.perf_counter()
    make_dataset(arm, n, seed=12345, position_only_fraction=0.1, redundancy=redundancy)
    return n / max(time.perf_counter() - t0, 1e-6)


def derive(arm, time_limit: float = DEFAULT_TIME_LIMIT, threads: int = 0, probe: bool = True,
           redundancy: str | None = None, reserve_s: float = 45.0, overrides=None) -> Derivation:
    """Settings for ``arm`` sized to ``time_limit`` minutes (see the module doc).

    ``overrides``: settings the user gave (K, hidden, samples, epochs, ...); derivation keeps
    them and sizes the rest around them. ``probe``: time the network and the data set (else a
    static estimate, e.g. under DDP where every rank must derive the same numbers).
    """
    from .dataset import DEFAULT_REDUNDANCY

    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    f = chain_facts(arm)
    why = []
    s = dict(batch=1024, lr=3e-3, patience=8, eps=0.02, time_limit=time_limit)

    # redundancy
    red = redundancy or DEFAULT_REDUNDANCY
    if f.self_motion == 0:
        red = "none"
        if f.dof > f.rank:
            why.append(f"redundancy: {f.dof - f.rank} dimension(s), removed by the coaxial "
                       f"split {f.coaxial}")
    elif f.redundant_joint is None or f.self_motion > 1:
        why.append(f"redundancy: {f.self_motion}-D self-motion left in the labels (only 1-D "
                   "self-motion is canonicalised)")
        red = "none"
    else:
        why.append(f"redundancy: 1-D self-motion ({f.dof} joints, rank {f.rank}); "
                   + {"project": f"labels moved along it to joint {f.redundant_joint} = "
                                 f"{f.redundant_value:.3g} (or as near as the limits allow)",
                      "fix": f"training configurations sampled with joint {f.redundant_joint}"
                             f" = {f.redundant_value:.3g}",
                      "none": "left in the labels (--redundancy none)"}[red])
    s["redundancy"] = red
    if red != "none" and f.redundant_joint is not None:  # branches of the joints left
        f.wide = [i for i in f.wide if i != f.redundant_joint]
        f.placing = [i for i in f.placing if i != f.redundant_joint]

    bits, bwhy = branch_bits(f)
    K = int(np.clip(2 ** bits + 4 + (4 if (f.self_motion and red == "none") else 0), 4, 16))
    s["K"] = K
    why.append(f"K = {K}: 2^{bits} estimated branches + 4 ({bwhy})"
               + ("; +4 for the self-motion left in the labels"
                  if f.self_motion and red == "none" else ""))

    if f.rank <= 3:
        hidden = (96, 96)
        hwhy = f"rank {f.rank} ≤ 3"
    else:
        hidden = (192,) * 3
        hwhy = f"rank {f.rank} > 3 (wider costs every single query more than it gains)"
    s["lever"] = 1.0 if f.rank <= 3 else 0.25
    s["position_only_fraction"] = 0.25 if f.rank <= 4 else 0.1
    s.update(overrides)
    K, hidden = s["K"], overrides.get("hidden", hidden)

    budget = time_limit * 60.0 - reserve_s - STARTUP_S if time_limit else 15 * 60.0
    budget = max(budget, 10.0)
    dr = data_rate(arm, red) if probe else 2.0e5
    one_thread = False
    while True:
        rate = (probe_rate(arm, K, hidden, s["batch"], threads) if probe
                else static_rate(arm, K, hidden))
        if probe and not threads and cores() > 1:
            # busy cores make torch's multi-thread steps spin-wait: measured 40x slower (2.9k
            # against 122k samples/s) while another job used both cores; one thread then
            # keeps most of its speed
            single = probe_rate(arm, K, hidden, s["batch"], 1)
            one_thread = single > rate
            rate = max(rate, single)
        passes = rate * budget
        if "hidden" in overrides or passes >= MIN_PASSES or min(hidden) <= 128:
            break
        hidden = tuple(w - 64 for w in hidden)
        hwhy += f"; narrowed to {hidden[0]} ({passes / 1e6:.1f}M sample passes would fit)"
    s["hidden"] = tuple(hidden)
    why.append(f"hidden {'x'.join(map(str, hidden))}: {hwhy}")
    if one_thread:
        s["threads"] = 1
        why.append(f"threads 1: one thread measured faster than all {cores()} (the cores are "
                   "busy with other work); --threads overrides")
    src = "measured" if probe else "estimated"
    if "samples" in overrides:
        n = int(overrides["samples"])
    else:
        n = budget / (1.0 / dr + TARGET_EPOCHS / rate)
        n = int(np.clip(round(n, -4), MIN_SAMPLES, MAX_SAMPLES))
    if "epochs" in overrides:
        epochs = int(overrides["epochs"])
    else:
        epochs = int(np.clip((budget - n / dr) * rate / n, 3, MAX_EPOCHS))
    s["samples"], s["epochs"] = n, epochs
    plan = (f"{budget:.0f} s of the {time_limit:g} min limit for data and training "
            f"({reserve_s + STARTUP_S:.0f} s kept for start-up, export and the result card)"
            if time_limit else f"no time limit: planned for {budget:.0f} s of data and training")
    why.append(f"samples {n:,} x {epochs} epochs: {plan}, {src} {rate:,.0f} training "
               f"samples/s and {dr:,.0f} data samples/s")
    given = [f"{k}={v}" for k, v in overrides.items() if k not in ("time_limit", "redundancy")]
    if given:
        why.append("given on the command line (kept): " + ", ".join(given))
    return Derivation(settings=s, reasons=why, facts=f)


def format_derivation(arm, d: Derivation) -> str:
    s = d.settings
    head = {"derived": "derived from the arm's chain analysis",
            "preset": "the bundled preset (the settings its shipped model was trained with)",
            "tiny": "--tiny (a seconds-long smoke configuration)"}[d.source]
    f = d.facts
    lines = [f"ik-nn train {arm.name}: settings {head}"]
    if f is not None:
        lines.append(
            f"  chain: {f.dof} joints ({len(f.prismatic)} prismatic), rank {f.rank}, position "
            f"rank {f.position_rank}, periodic {f.periodic or 'none'}, coaxial "
            f"{f.coaxial or 'none'}, position-free {f.no_position or 'none'}"
            + (f", wrist {f.decoupled or 'not decoupled'}" if f.rank >= 6 else ""))
    hid = "x".join(map(str, s.get("hidden", ())))
    lines.append(f"  K={s.get('K')} hidden={hid} samples={s.get('samples'):,} "
                 f"epochs={s.get('epochs')} batch={s.get('batch')} lr={s.get('lr')} "
                 f"eps={s.get('eps', 0.05)} lever={s.get('lever', 0.0)} "
                 f"position_only={s.get('position_only_fraction', 0.25)} "
                 f"redundancy={s.get('redundancy', 'none')} "
                 f"time_limit={s.get('time_limit') or 0:g} min")
    lines += [f"  - {r}" for r in d.reasons]
    return "\n".join(lines)

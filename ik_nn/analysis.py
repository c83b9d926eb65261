"""Chain analysis (``ik-nn info ARM``): what the DH chain can and cannot do, computed.

Everything here is measured on random configurations inside the limits, from the same
Jacobian the solver uses:

* generic Jacobian rank (full pose, and position only) and so the number of task-space
  directions the arm cannot move in;
* coaxial joint pairs: twist columns (``[z × (p − o); z]``) equal or opposite at every sample
  means the two axes are the same line, so only their sum (or difference) matters;
* parallel (not coaxial) axes, for information;
* joints that never move the tool position (zero linear column everywhere);
* reach: the bound used to scale position errors, and the sampled range of tool distances
  (equal ends mean the tool point lives on a sphere).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .arm import ARM_HELP, load_arm

RANK_TOL = 1e-9


@dataclass
class ChainReport:
    """Measured properties of an arm; joint numbers are 1-based as in DH tables."""

    arm: object
    samples: int
    rank: int
    position_rank: int
    coaxial: list  # (i, j, sense) with sense +1 (only θi + θj matters) or -1 (θi − θj)
    parallel: list  # (i, j) parallel, not coaxial
    no_position: list  # joints that never move the tool position
    reach_bound: float
    dist_min: float
    dist_max: float

    @property
    def on_sphere(self) -> bool:
        return self.dist_max - self.dist_min < 1e-9 * max(self.reach_bound, 1.0)


def _rank(J):
    """Numerical rank per sample of J (N, m, dof), relative tolerance RANK_TOL."""
    s = np.linalg.svd(J, compute_uv=False)
    return (s > RANK_TOL * np.maximum(s[:, :1], 1e-300)).sum(axis=1)


def _same_line(a, b, tol):
    """(sense) if columns a, b (N, k) are equal (+1) or opposite (-1) at every sample, else 0."""
    if np.all(np.abs(a - b) < tol):
        return 1
    if np.all(np.abs(a + b) < tol):
        return -1
    return 0


def analyse(arm, samples: int = 2000, seed: int = 0) -> ChainReport:
    arm = load_arm(arm)
    rng = np.random.default_rng(seed)
    q = arm.random_q(samples, rng)
    J = arm.jacobian(q)
    J[:, :3] /= arm.reach  # metres → fraction of reach, comparable with radians
    tol = 1e-9
    coaxial, parallel, no_position = [], [], []
    for i in range(arm.dof):
        if np.all(np.linalg.norm(J[:, :3, i], axis=1) < tol):
            no_position.append(i + 1)
        for j in range(i + 1, arm.dof):
            sense = _same_line(J[:, :, i], J[:, :, j], tol)
            if sense:
                coaxial.append((i + 1, j + 1, sense))
            elif _same_line(J[:, 3:, i], J[:, 3:, j], tol):
                parallel.append((i + 1, j + 1))
    base_origin = arm.base[:3, 3]
    dist = np.linalg.norm(arm.fk(q)[:, :3, 3] - base_origin, axis=1)
    return ChainReport(
        arm=arm,
        samples=samples,
        rank=int(_rank(J).max()),
        position_rank=int(_rank(J[:, :3]).max()),
        coaxial=coaxial,
        parallel=parallel,
        no_position=no_position,
        reach_bound=arm.reach,
        dist_min=float(dist.min()),
        dist_max=float(dist.max()),
    )


def format_report(rep: ChainReport) -> str:
    arm = rep.arm
    deg = np.degrees
    n_pris = int(np.count_nonzero(arm.prismatic))
    kinds = f"{arm.dof - n_pris} revolute" + (f", {n_pris} prismatic" if n_pris else "")
    described = f"{arm.convention} DH" if arm.convention else "URDF"
    lines = [
        f"arm: {arm.name}  ({kinds} joints, {described})  file: {arm.path}",
        f"source: {arm.source}" if arm.source else "source: (not given)",
        f"hash: {arm.dh_hash}",
        "",
    ]

    def limit(i, value):   # degrees for revolute joints, metres for prismatic ones
        return f"{value:>7.4f}m" if arm.prismatic[i] else f"{deg(value):>7.1f}°"

    if arm.convention:
        lines.append(f"{'joint':>5} {'name':<20} {'a [m]':>9} {'d [m]':>9} {'alpha':>8}"
                     f" {'offset':>8} {'lower':>8} {'upper':>8}")
        for i in range(arm.dof):
            a, d, alpha, off = arm.dh[i]
            lines.append(
                f"{i + 1:>5} {arm.joint_names[i]:<20} {a:>9.5f} {d:>9.5f} {deg(alpha):>7.1f}°"
                f" {deg(off):>7.1f}° {limit(i, arm.lower[i])} {limit(i, arm.upper[i])}")
    else:
        lines.append(f"{'joint':>5} {'name':<20} {'type':<10} {'lower':>8} {'upper':>8}")
        for i in range(arm.dof):
            kind = "prismatic" if arm.prismatic[i] else "revolute"
            lines.append(f"{i + 1:>5} {arm.joint_names[i]:<20} {kind:<10}"
                         f" {limit(i, arm.lower[i])} {limit(i, arm.upper[i])}")
    lines += [
        "",
        f"reach bound: {rep.reach_bound:.5f} m (position errors are scaled by it)",
        f"tool distance from base over {rep.samples} random configurations: "
        f"{rep.dist_min:.5f} .. {rep.dist_max:.5f} m",
    ]
    if rep.on_sphere:
        lines.append(f"  -> the tool point lies on a sphere of radius {rep.dist_max:.5f} m: "
                     "it cannot reach any other distance")
    lines.append(
        f"Jacobian rank (generic, over {rep.samples} samples): {rep.rank} of 6 task-space "
        f"directions with {arm.dof} joints; position rank {rep.position_rank} of 3"
    )
    if rep.position_rank < 3:
        lines.append(f"  -> the tool position moves on a {rep.position_rank}-D surface only")
    if rep.rank < 6:
        lines.append(f"  -> {6 - rep.rank} task-space direction(s) the arm can never move in: "
                     "arbitrary 6-D poses are not reachable")
    if arm.dof > rep.rank:
        lines.append(f"  -> {arm.dof - rep.rank} redundant degree(s) of freedom: the solver keeps "
                     "them near the seed")
    for i, j, sense in rep.coaxial:
        combo = f"θ{i} + θ{j}" if sense > 0 else f"θ{i} − θ{j}"
        lines.append(f"coaxial joints {i}-{j}: same axis line at every sample; only {combo} "
                     "matters")
    if not rep.coaxial:
        lines.append("coaxial joints: none")
    if rep.parallel:
        lines.append("parallel (not coaxial) axes: "
                     + ", ".join(f"{i}-{j}" for i, j in rep.parallel))
    for i in rep.no_position:
        lines.append(f"joint {i} never moves the tool position (it only turns the tool)")
    if not rep.no_position:
        lines.append("joints that never move the tool position: none")
    periodic = [str(i + 1) for i in np.flatnonzero(arm.periodic)]
    if periodic:
        lines.append("periodic joints (range ≥ 360°): " + ", ".join(periodic))
    return "\n".join(lines)


def add_arguments(parser):
    parser.add_argument("arm", help=ARM_HELP)
    parser.add_argument("--samples", type=int, default=2000,
                        help="random configurations to measure on (default 2000)")


def run(args) -> int:
    from .arm import ArmError

    try:
        print(format_report(analyse(args.arm, samples=args.samples)))
    except ArmError as exc:   # a bad file: one line naming it and the field, no traceback
        print(f"ik-nn info: error: {exc}")
        return 1
    return 0

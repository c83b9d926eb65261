"""Target streams the demo publishes: a joint-space curve, and Cartesian paths (no ROS here).

Every stream is trackable by construction: its joints never need more than
:data:`SPEED_FRACTION` of their velocity limits, so an arm that follows commands at its limits
(sim_arm) keeps up once it is on the stream.

* ``joint_curve``: the FK of a smooth joint-space curve inside the limits::

      q_i(t) = mid_i + amplitude * half_range_i * sin(2 pi (1 + i mod 3) t / period + phase_i)

* ``circle``, ``line``, ``figure_eight``: the tool position moves along the path in the base
  frame (x-y plane through the start pose, radius or half-length ``size`` metres) while the
  orientation stays that of the start pose, the curve's pose at t = 0. :func:`fit_path`
  checks the path point by point with the solver, continued from the previous point: it halves
  ``size`` until every point solves on one branch, and lengthens ``period`` until the joint
  speeds along it are within SPEED_FRACTION of the limits.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

SPEED_FRACTION = 0.8
PATHS = ("joint_curve", "circle", "line", "figure_eight")
SAMPLES = 400          # points per loop checked by fit_path
MAX_SAMPLE_STEP = 0.2  # rad: a larger joint step between two samples is a branch change


def curve_period(arm, period: float, amplitude: float) -> float:
    """``period``, or longer so the curve's peak joint speed is SPEED_FRACTION of the limits."""
    half = 0.5 * (arm.upper - arm.lower)
    freq = 1.0 + np.arange(arm.dof) % 3
    needed = np.max(amplitude * half * 2 * math.pi * freq / (SPEED_FRACTION * arm.velocity))
    return max(float(period), float(needed))


def joint_curve(arm, t: float, period: float, amplitude: float, phase) -> np.ndarray:
    """(dof,) joints of the smooth curve at time t (s); inside the limits for amplitude <= 1."""
    mid = 0.5 * (arm.lower + arm.upper)
    half = 0.5 * (arm.upper - arm.lower)
    freq = 1.0 + np.arange(arm.dof) % 3
    return mid + amplitude * half * np.sin(2 * math.pi * freq * t / period + phase)


def offset(kind: str, theta: float) -> np.ndarray:
    """(3,) position offset (in units of the path's size) at phase theta (rad) of one loop."""
    if kind == "circle":
        return np.array([math.cos(theta) - 1.0, math.sin(theta), 0.0])
    if kind == "line":
        return np.array([math.sin(theta), 0.0, 0.0])
    if kind == "figure_eight":
        return np.array([math.sin(theta), 0.5 * math.sin(2 * theta), 0.0])
    raise ValueError(f"unknown path {kind!r}: choose from {', '.join(PATHS[1:])}")


@dataclass(frozen=True)
class CartesianPath:
    """A closed tool path: start pose ``start`` (4, 4), ``size`` m, ``period`` s per loop."""

    kind: str
    start: np.ndarray
    size: float
    period: float

    def pose(self, t: float) -> np.ndarray:
        """(4, 4) target at time t (s)."""
        T = self.start.copy()
        T[:3, 3] += self.size * offset(self.kind, 2 * math.pi * t / self.period)
        return T

    def poses(self, n: int) -> np.ndarray:
        """(n, 4, 4) targets evenly spaced over one loop."""
        return np.stack([self.pose(self.period * k / n) for k in range(n)])


def fit_path(arm, kind: str, q_start, size: float, period: float, solver=None):
    """A trackable :class:`CartesianPath` from the pose of q_start (dof,), and its joint path.

    Returns ``(path, q (SAMPLES, dof))``; raises ValueError if even size/16 fails.
    """
    from ..solver import IKSolver

    solver = solver or IKSolver(arm, model=None)
    start = arm.fk(q_start)[0]
    for _ in range(5):
        path = CartesianPath(kind, start, size, period)
        q, ok = np.empty((SAMPLES, arm.dof)), True
        prev = np.asarray(q_start, dtype=float)
        for k, T in enumerate(path.poses(SAMPLES)):
            r = solver.solve(T, seed=prev)
            if not r.success[0] or r.jump[0] > MAX_SAMPLE_STEP:
                ok = False
                break
            q[k] = prev = r.q[0]
        if ok and np.max(np.abs(q[0] - q[-1])) <= MAX_SAMPLE_STEP:
            speed = np.max(np.abs(np.diff(np.vstack([q, q[:1]]), axis=0)), axis=0)
            speed = speed * SAMPLES / period  # rad/s at this period
            need = float(np.max(speed / (SPEED_FRACTION * arm.velocity)))
            return CartesianPath(kind, start, size, period * max(1.0, need)), q
        size /= 2
    raise ValueError(f"no trackable {kind} around the start pose of arm {arm.name!r}, "
                     f"even {size * 2:.3g} m")

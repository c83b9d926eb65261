"""What ik_node seeds each solve from, and how far one command may move the arm (no ROS here).

Reference, the seed of each solve (:meth:`Tracker.reference`):

* the node's own last command, while the arm follows it: consecutive answers then come from
  one branch, even when the arm lags or publishes no joint_states at all;
* fresh joint_states when they are farther than ``reference_tol`` (any joint) from the last
  command: someone else moved the arm, or it does not follow. An arm that follows lags its
  commands by what it moves in its control latency, since no command asks for more than the
  velocity limits allow;
* joint_states older than ``joint_states_timeout`` are not used; with no reference at all the
  network alone proposes (status ``seed`` = ``network``).

Commands never ask a joint to move faster than ``speed_scale`` times its velocity limit: a
command is at most ``velocity * speed_scale * dt`` from the previous one, ``dt`` the time
since it (:meth:`Tracker.step_towards`; a first command, or one from measured joints, may
take :data:`FIRST_PERIOD`). A solution farther than that is approached: the node commands
steps along the straight joint-space line towards it, on its own timer between targets, until
it is reached. So an arm that starts away from a stream of targets is brought onto it, and a
jump the IK cannot avoid (a branch ending at a limit or a singularity) becomes motion the arm
can follow. ``speed_scale`` 0 commands every solution as it is (for controllers that
interpolate themselves).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FIRST_PERIOD = 0.1  # s: the most time one command may stand for (a first one, or after a pause)


@dataclass
class Tracker:
    """Reference and command limiting for one arm; times in seconds (monotonic clock).

    velocity (dof,) joint velocity limits (rad/s, m/s); speed_scale in [0, 1]; period (s) of
    the approach timer, the shortest time a step is allowed for.
    """

    velocity: np.ndarray
    speed_scale: float = 1.0
    joint_states_timeout: float = 0.5
    reference_tol: float = 0.2
    period: float = 0.02
    last: np.ndarray | None = None          # (dof,) last command
    last_time: float = -np.inf
    measured: np.ndarray | None = None      # (dof,) last joint_states
    measured_time: float = -np.inf
    goal: np.ndarray | None = None          # (dof,) solution being approached

    def observe(self, q: np.ndarray, now: float):
        """Record joint_states q (dof,) received at ``now``."""
        self.measured, self.measured_time = q, now

    def fresh(self, now: float) -> np.ndarray | None:
        """The last joint_states if younger than joint_states_timeout, else None."""
        if self.measured is not None and now - self.measured_time <= self.joint_states_timeout:
            return self.measured
        return None

    def reference(self, now: float):
        """``(q (dof,) or None, source)``; source is last_command, joint_states or network."""
        fresh = self.fresh(now)
        if self.last is not None:
            if fresh is not None and np.max(np.abs(fresh - self.last)) > self.reference_tol:
                return fresh, "joint_states"
            return self.last, "last_command"
        if fresh is not None:
            return fresh, "joint_states"
        return None, "network"

    def allowed(self, now: float, restart: bool = False, horizon: float = FIRST_PERIOD):
        """(dof,) the largest move of each joint one command may ask for at ``now``.

        The time since the previous command, capped at ``horizon`` (after a pause the arm
        stood still meanwhile). ``restart``: the command starts from measured joints, not from
        the previous command (the arm is elsewhere): it gets ``horizon`` itself.
        """
        dt = now - self.last_time if self.last is not None and not restart else horizon
        return self.velocity * self.speed_scale * min(max(dt, 0.0), horizon)

    def far(self, goal: np.ndarray, start: np.ndarray) -> bool:
        """Whether goal is beyond what FIRST_PERIOD of motion at the limits reaches.

        Such a move is a jump of the IK, not a stream step that arrived early or met the
        approach timer's last step.
        """
        return bool(np.any(np.abs(goal - start)
                           > self.velocity * self.speed_scale * FIRST_PERIOD))

    def step_towards(self, goal: np.ndarray, start: np.ndarray | None, now: float,
                     restart: bool = False):
        """The command for ``goal`` (dof,) from ``start`` (the reference; None: go at once).

        Returns ``(command (dof,), exact)``: the goal itself when the velocity limits reach it
        since the previous command (or limiting is off), else the point on the line
        start → goal they reach in at most one timer period, and the goal is kept for
        :meth:`next_step`.
        """
        if start is None or self.speed_scale <= 0:
            return self._sent(goal, now, None), True
        delta = goal - start
        big = np.abs(delta)
        if np.all(big <= self.allowed(now, restart)):
            return self._sent(goal, now, None), True
        # an approach step stands for one timer period at most, so the command never runs
        # more than a period ahead of an arm that follows at its limits
        allowed = self.allowed(now, restart, self.period)
        scale = float(np.min(np.where(big > 0, allowed / np.maximum(big, 1e-300), np.inf)))
        return self._sent(start + min(scale, 1.0) * delta, now, goal), False

    def next_step(self, now: float) -> np.ndarray | None:
        """The next command towards the goal being approached, or None when there is none."""
        if self.goal is None or self.last is None:
            return None
        return self.step_towards(self.goal, self.last, now)[0]

    def _sent(self, cmd: np.ndarray, now: float, goal: np.ndarray | None) -> np.ndarray:
        self.last, self.last_time, self.goal = cmd, now, goal
        return cmd

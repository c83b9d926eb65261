"""The node's reference and command limiting (ik_nn.ros.tracking), without ROS."""
import numpy as np

from ik_nn.ros.tracking import FIRST_PERIOD, Tracker

V = np.array([2.0, 3.0])


def test_commands_never_outrun_the_velocity_limits_however_close_they_come():
    t = Tracker(V, period=0.02)
    goal = np.array([1.0, -1.0])
    cmd, exact = t.step_towards(goal, np.zeros(2), 10.0)
    assert not exact and np.all(np.abs(cmd) <= V * FIRST_PERIOD + 1e-12)
    times, cmds = [10.0], [cmd]
    for now in (10.001, 10.0015, 10.02, 10.021, 10.06):   # target callbacks and timer ticks
        cmds.append(t.next_step(now))
        times.append(now)
    steps = np.abs(np.diff(cmds, axis=0))
    assert np.all(steps <= V * np.diff(times)[:, None] + 1e-12)


def test_joint_states_far_from_the_last_command_become_the_reference():
    t = Tracker(V, joint_states_timeout=0.5, reference_tol=0.2)
    t.step_towards(np.zeros(2), None, 0.0)
    t.observe(np.full(2, 0.1), 0.01)   # lagging a little: the last command stays the reference
    assert t.reference(0.02)[1] == "last_command"
    t.observe(np.array([-1.0, 2.0]), 0.03)   # moved by someone else
    q, source = t.reference(0.04)
    assert source == "joint_states" and q[0] == -1.0
    # from measured joints a command gets a first command's budget, not the time since the last
    cmd, exact = t.step_towards(np.array([-0.9, 2.0]), q, 0.041, restart=True)
    assert exact


def test_stale_joint_states_are_never_the_reference():
    t = Tracker(V, joint_states_timeout=0.5)
    t.observe(np.ones(2), 0.0)
    assert t.reference(0.4)[1] == "joint_states"
    assert t.reference(0.6) == (None, "network")

"""ik_nn: learned seeds + Levenberg-Marquardt inverse kinematics, with a ROS 2 node.

Public API::

    arm = ik_nn.load_arm("ur5")            # or a path to a DH YAML file
    T = arm.fk(q)                          # (N, 4, 4) base->tool, metres
    J = arm.jacobian(q)                    # (N, 6, dof), rows [v; w] in the base frame
    solver = ik_nn.IKSolver(arm)
    res = solver.solve(T, seed=None)       # res.q, res.success, res.pos_err, res.rot_err, res.iterations
"""
from .arm import BUNDLED_ARMS, Arm, ArmError, load_arm

__all__ = ["Arm", "ArmError", "BUNDLED_ARMS", "IKResult", "IKSolver", "load_arm"]


def __getattr__(name):  # the solver pulls in numba kernels: load it on first use
    if name in ("IKSolver", "IKResult"):
        from . import solver

        return getattr(solver, name)
    raise AttributeError(name)

"""ik_nn: learned seeds + Levenberg-Marquardt inverse kinematics, with a ROS 2 node.

Public API::

    arm = ik_nn.load_arm("ur5")            # or a path to a DH YAML file
    T = arm.fk(q)                          # (N, 4, 4) base->tool, metres
    J = arm.jacobian(q)                    # (N, 6, dof), rows [v; w] in the base frame
    solver = ik_nn.IKSolver(arm)
    res = solver.solve(T, seed=None)       # res.q, .success, .pos_err, .rot_err, .iterations

The runtime, in data-path order: arm → kinematics → encoding / seeder → lm → candidates →
solver → ros/. Its compiled kernels (``ik_nn/kernels/*.c``) are built at install time.
"""
from .arm import BUNDLED_ARMS, Arm, ArmError, load_arm
from .solver import IKResult, IKSolver

__all__ = ["Arm", "ArmError", "BUNDLED_ARMS", "IKResult", "IKSolver", "load_arm"]

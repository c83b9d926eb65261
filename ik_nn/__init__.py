"""ik_nn: learned seeds + Levenberg-Marquardt inverse kinematics, with a ROS 2 node.

Public API::

    arm = ik_nn.load_arm("ur5")            # or a DH YAML or URDF path, or URDF text
    T = arm.fk(q)                          # (N, 4, 4) base->tool, metres
    J = arm.jacobian(q)                    # (N, 6, dof), rows [v; w] in the base frame
    solver = ik_nn.IKSolver(arm)
    res = solver.solve(T, seed=None)       # res.q, .success, .pos_err, .rot_err, .iterations

The runtime, in data-path order: arm → kinematics → encoding / seeder → lm → candidates →
solver → ros/. Its compiled kernels (``ik_nn/kernels/*.c``) are built at install time.
"""
from importlib.util import find_spec

if find_spec(f"{__name__}._kernels") is None:
    raise ImportError(
        "ik_nn's compiled kernels (ik_nn._kernels) are not built here: install the package "
        "(pip install . or pip install -e .), or in a source checkout run "
        "'python setup.py build_ext --inplace' (needs a C compiler and the Python headers)")

__all__ = ["Arm", "ArmError", "BUNDLED_ARMS", "IKResult", "IKSolver", "load_arm"]
_HOME = {"Arm": "arm", "ArmError": "arm", "BUNDLED_ARMS": "arm", "load_arm": "arm",
         "IKResult": "solver", "IKSolver": "solver"}


def __getattr__(name):
    """Import a public name on first use.

    ``import ik_nn`` itself then costs nothing, so a node's entry point can install its
    signal handlers before numpy and the kernels load.
    """
    if name in _HOME:
        from importlib import import_module

        return getattr(import_module(f".{_HOME[name]}", __name__), name)
    raise AttributeError(f"module 'ik_nn' has no attribute {name!r}")

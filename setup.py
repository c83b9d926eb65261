"""ament_python package setup: installable with pip and built by colcon.

The ROS layout (package.xml, resource marker, launch/, config/, models/ under share/ik_nn) is
installed as data files; ik_nn.resources finds them however the package was installed.
"""
import os
from glob import glob

from setuptools import Extension, find_packages, setup

PACKAGE = "ik_nn"


def tree(folder):
    """data_files entries for every file below ``folder``, keeping its sub-folders."""
    entries = {}
    for path in glob(os.path.join(folder, "**", "*"), recursive=True):
        if os.path.isfile(path):
            dest = os.path.join("share", PACKAGE, os.path.dirname(path))
            entries.setdefault(dest, []).append(path)
    return sorted(entries.items())


# The compiled kernels (C99, no dependency but the Python headers): FK, Jacobian, LM, the solve
# policy and the network encoding. Built at install time, so the first start loads them in
# milliseconds; a C compiler is needed to install from source.
KERNELS = Extension(
    f"{PACKAGE}._kernels",
    sources=sorted(glob(os.path.join(PACKAGE, "kernels", "*.c"))),
    depends=sorted(glob(os.path.join(PACKAGE, "kernels", "*.h"))),
    include_dirs=[os.path.join(PACKAGE, "kernels")],
    extra_compile_args=["-O3", "-std=c99", "-fno-math-errno", "-Wall", "-Wno-unused-function"],
    define_macros=[("_POSIX_C_SOURCE", "200809L")],
)

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(exclude=["test", "test.*"]),
    ext_modules=[KERNELS],
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/" + PACKAGE]),
        ("share/" + PACKAGE, ["package.xml"]),
        *tree("launch"),
        *tree("config"),
        *tree("models"),
    ],
    python_requires=">=3.10",
    install_requires=["numpy>=1.26", "PyYAML>=6", "onnxruntime>=1.18"],
    extras_require={
        # pip-only ROS 2 core (a ROS install provides these itself).
        "ros": [
            "ros-rclpy", "ros-rmw-fastrtps-cpp", "ros-geometry-msgs", "ros-sensor-msgs",
            "ros-std-msgs", "ros-diagnostic-msgs", "ros-trajectory-msgs", "ros-ament-index-python",
        ],
        # Training only. Pinned: an unpinned torch pulls a multi-GB CUDA build.
        "train": ["torch==2.13.0", "onnx>=1.16", "matplotlib>=3.8"],
        # colcon (from PyPI) for the test that builds the package as a ROS workspace would;
        # ruff for the lint test (pycodestyle, pyflakes, pep257 docstrings, import order)
        "test": ["pytest>=8", "ruff>=0.6", "colcon-core", "colcon-ros"],
        # peers for `ik-nn bench` (never runtime dependencies)
        "bench": ["roboticstoolbox-python", "ikpy", "matplotlib>=3.8"],
    },
    zip_safe=False,
    maintainer="ik_nn developers",
    maintainer_email="dev@ik-nn.local",
    description="Learned-seed + Levenberg-Marquardt inverse kinematics with a ROS 2 node.",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "ik-nn = ik_nn.cli:main",
            "ik_node = ik_nn.ros.entry:ik_node",
            "sim_arm = ik_nn.ros.entry:sim_arm",
            "target_publisher = ik_nn.ros.entry:target_publisher",
        ],
    },
)

"""``ik-nn`` command line: one subcommand per module.

Each module named in :data:`COMMANDS` provides ``add_arguments(parser)`` and ``run(args) -> int``
and must import cheaply (torch, rclpy and the like are imported inside ``run``), so that
``ik-nn info`` never loads torch and ``ik-nn train`` never loads rclpy.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys

COMMANDS = {
    "info": ("ik_nn.analysis", "print an arm's DH table and what its chain can and cannot do"),
    "bench": ("ik_nn.bench.run", "measure success, accuracy and latency on FK-made targets"),
    "train": ("ik_nn.training.cli", "train an arm's seeding network and export it to ONNX"),
    "up": ("ik_nn.ros.bringup", "pip-only bring-up: IK node + simulated arm + target stream"),
    "urdf": ("ik_nn.urdf_export", "print an arm (bundled, DH YAML or URDF) as URDF, for "
             "robot_state_publisher and RViz"),
}


def available(module: str) -> bool:
    """True if ``module`` is part of this installation (its parents included)."""
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def build_parser(command=None) -> argparse.ArgumentParser:
    """The ``ik-nn`` parser; only ``command``'s module is imported and given its arguments.

    So one command's module can never break another command.
    """
    parser = argparse.ArgumentParser(prog="ik-nn", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        if not available(module):  # not part of this installation: not offered
            continue
        p = sub.add_parser(name, help=help_text, description=help_text)
        if name == command:
            mod = importlib.import_module(module)
            mod.add_arguments(p)
            p.set_defaults(_run=mod.run)
    return parser


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    args = build_parser(command).parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

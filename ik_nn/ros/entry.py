"""Console entry points of the nodes (``ik_node``, ``sim_arm``, ``target_publisher``).

They install their signal handling before anything heavy is imported: SIGINT or SIGTERM while
numpy, the kernels, rclpy and the messages load ends the process at once with exit code 130
and no traceback. From then on :func:`ik_nn.ros.common.run` takes over (interrupted start-up:
130; running: an orderly shutdown, 0). Also runnable as ``python -m ik_nn.ros.entry NODE``.
"""
import os
import signal
import sys

NODES = ("ik_node", "sim_arm", "target_publisher")


def _quit(signum, frame):
    # not an exception: raised inside a C extension's initialisation (rclpy's), it comes back
    # as that library's ImportError with a traceback; nothing is running yet to shut down
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(130)


def _main(name: str) -> int:
    previous = {s: signal.signal(s, _quit) for s in (signal.SIGINT, signal.SIGTERM)}
    from importlib import import_module

    module = import_module(f"ik_nn.ros.{name}")
    del previous   # run() installs its own handlers first thing
    return module.main()


def ik_node() -> int:
    return _main("ik_node")


def sim_arm() -> int:
    return _main("sim_arm")


def target_publisher() -> int:
    return _main("target_publisher")


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in NODES:
        sys.exit(f"usage: python -m ik_nn.ros.entry {{{','.join(NODES)}}} [--ros-args ...]")
    node = sys.argv.pop(1)
    sys.exit(_main(node))

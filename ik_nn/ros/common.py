"""ROS 2 nodes of ik_nn: ``ik_node``, ``sim_arm``, ``target_publisher`` (see docs/ros.md).

Each node module has a small ``Node`` subclass and a ``main()`` that only builds it and spins.
Shared here: parameter declaration with descriptions, and the main-loop boilerplate that turns a
bad arm/model/parameter into one clear error line and a non-zero exit.
"""
from __future__ import annotations

# Startup problems that mean "the configuration is wrong": reported in one line, exit code 1.
EXIT_CONFIG_ERROR = 1


class ConfigError(ValueError):
    """A parameter value the node cannot work with; the message names the parameter."""


def declare(node, name: str, default, description: str, read_only: bool = True):
    """Declare ``name`` with a typed default and a described descriptor; return its value.

    A value of the wrong type (e.g. ``pos_tol: 1`` for a double) becomes a :class:`ConfigError`
    naming the parameter instead of rclpy's traceback.
    """
    from rcl_interfaces.msg import ParameterDescriptor
    from rclpy.exceptions import InvalidParameterTypeException

    desc = ParameterDescriptor(description=description, read_only=read_only)
    try:
        param = node.declare_parameter(name, default, desc)
    except InvalidParameterTypeException as exc:
        raise ConfigError(f"parameter '{name}': {exc}") from exc
    value = param.value
    if isinstance(default, float) and isinstance(value, int):  # pragma: no cover (typed above)
        value = float(value)
    return value


def startup_errors():
    """Exception types that mean a bad configuration (arm file, model file, parameter)."""
    from ..arm import ArmError

    errors = [ArmError, ConfigError, FileNotFoundError]
    try:
        from ..seeder import ModelError

        errors.append(ModelError)
    except ImportError:  # the seeder is not part of this build
        pass
    errors.append(ValueError)  # ModelError is a ValueError; others the solver may raise
    return tuple(errors)


def make_executor():
    """The executor every ik_nn process spins: one thread, so callbacks never overlap.

    rclpy's EventsExecutor where this rclpy has it (rclpy.experimental; several times less
    overhead per callback than the SingleThreadedExecutor, which matters for latency), else the
    SingleThreadedExecutor. ``IK_NN_EXECUTOR=single`` forces the latter.
    """
    import os

    if os.environ.get("IK_NN_EXECUTOR", "").lower() != "single":
        try:
            from rclpy.experimental import EventsExecutor

            return EventsExecutor()
        except ImportError:
            pass
    from rclpy.executors import SingleThreadedExecutor

    return SingleThreadedExecutor()


class StopFlag:
    """SIGINT/SIGTERM set a flag that the spin loop polls (every 0.2 s at most), instead of
    raising KeyboardInterrupt wherever the process happens to be: shutdown is always orderly."""

    def __init__(self):
        import signal
        import threading

        self.event = threading.Event()
        self._previous = {}
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._handler)

    def _handler(self, signum, frame):
        self.event.set()

    def is_set(self) -> bool:
        return self.event.is_set()

    def restore(self):
        import signal

        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def init_ros(args=None) -> StopFlag:
    """``rclpy.init`` without rclpy's own signal handlers, and a :class:`StopFlag`."""
    import rclpy
    from rclpy.signals import SignalHandlerOptions

    rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
    return StopFlag()


def spin(*nodes, stop: StopFlag | None = None):
    """Spin ``nodes`` on :func:`make_executor` until ``stop`` is set or rclpy shuts down."""
    import rclpy

    executor = make_executor()
    for node in nodes:
        executor.add_node(node)
    try:
        while rclpy.ok() and not (stop and stop.is_set()):
            executor.spin_once(timeout_sec=0.2)
    finally:
        executor.shutdown()


def run(node_factory, name: str, args=None) -> int:
    """Init, build the node, spin until Ctrl-C (SIGINT) or SIGTERM; return the exit code."""
    import rclpy
    from rclpy.executors import ExternalShutdownException

    stop = init_ros(args)
    node = None
    try:
        try:
            node = node_factory()
        except startup_errors() as exc:
            rclpy.logging.get_logger(name).fatal(f"cannot start: {exc}")  # console: stderr
            return EXIT_CONFIG_ERROR
        spin(node, stop=stop)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
        stop.restore()
    return 0

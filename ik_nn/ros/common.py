"""ROS 2 nodes of ik_nn: ``ik_node``, ``sim_arm``, ``target_publisher`` (see docs/ros.md).

Each node module has a small ``Node`` subclass and a ``main()`` that only builds it and spins.
Shared here: parameter declaration with descriptions, and the main-loop boilerplate that turns a
bad arm/model/parameter into one clear error line and a non-zero exit.
"""
from __future__ import annotations

# Startup problems that mean "the configuration is wrong": reported in one line, exit code 1.
EXIT_CONFIG_ERROR = 1
EXIT_INTERRUPTED = 130  # stopped (SIGINT/SIGTERM) before the node was up


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


def reject_unknown_parameters(node):
    """A :class:`ConfigError` naming any parameter given to ``node`` that it does not declare.

    rclpy silently drops overrides (``-p foo:=1``, a params file entry) for undeclared
    parameters; a misspelt name would then start with the default instead. Call this after
    declaring every parameter.
    """
    given = getattr(node, "_parameter_overrides", {})  # rclpy keeps no public list of these
    unknown = sorted(n for n in given
                     if not node.has_parameter(n) and not n.startswith("qos_overrides."))
    if unknown:
        names = ", ".join(f"'{n}'" for n in unknown)
        declared = sorted(node.get_parameters_by_prefix(""))
        raise ConfigError(f"unknown parameter(s) {names} for {node.get_name()}; declared: "
                          f"{', '.join(declared)}")


def declare_arm(node) -> dict:
    """Declare the parameters that say which arm a node drives; return their values.

    ``arm`` (a bundled name, a DH YAML or URDF path), ``robot_description`` (URDF text: when
    set it defines the arm, as robot_state_publisher's parameter of that name does),
    ``base_link`` and ``tip_link`` (the URDF chain; default the root link and the only leaf).
    """
    from ..arm import ARM_HELP

    return {
        "arm": declare(node, "arm", "ur5", ARM_HELP),
        "robot_description": declare(
            node, "robot_description", "",
            "URDF text (e.g. robot_state_publisher's robot_description); when set, it "
            "defines the arm and 'arm' only names it"),
        "base_link": declare(node, "base_link", "",
                             "First link of the chain in a URDF ('' = the root link)"),
        "tip_link": declare(node, "tip_link", "",
                            "Last link of the chain in a URDF ('' = the only leaf)"),
    }


def load_declared_arm(values: dict):
    """The :class:`~ik_nn.arm.Arm` the values of :func:`declare_arm` describe."""
    from ..arm import load_arm

    source = values["robot_description"].strip() or values["arm"]
    return load_arm(source, values["base_link"] or None, values["tip_link"] or None)


def startup_errors():
    """Exception types that mean a bad configuration (arm file, model file, parameter)."""
    from ..arm import ArmError
    from ..encoding import ModelError

    # ModelError is a ValueError; ValueError also covers what the solver may raise
    return (ArmError, ConfigError, FileNotFoundError, ModelError, ValueError)


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
    """SIGINT/SIGTERM set a flag that the spin loop polls (every 0.2 s at most).

    They do not raise KeyboardInterrupt wherever the process happens to be: shutdown is always
    orderly.
    """

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


class _Interrupted:
    """Whether a signal interrupted the node's build.

    The KeyboardInterrupt raised for it may come back as another exception (a C extension
    interrupted while it initialises raises ImportError "initialization failed"), so the
    flag, not the exception's type, says what happened.
    """

    flag = False


def _interrupt(signum, frame):
    _Interrupted.flag = True
    raise KeyboardInterrupt


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
    """Init, build the node, spin until Ctrl-C (SIGINT) or SIGTERM; return the exit code.

    While the node is being built, SIGINT and SIGTERM interrupt the build at once (exit code
    130, one log line); once it spins, they set a flag the spin loop polls (orderly shutdown).
    """
    import signal

    import rclpy
    from rclpy.executors import ExternalShutdownException
    from rclpy.signals import SignalHandlerOptions

    _Interrupted.flag = False
    previous = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    node, stop, code = None, None, 0
    try:
        rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
        try:
            node = node_factory()
        except startup_errors() as exc:
            if _Interrupted.flag:
                raise KeyboardInterrupt from exc
            rclpy.logging.get_logger(name).fatal(f"cannot start: {exc}")  # console: stderr
            return EXIT_CONFIG_ERROR
        except Exception as exc:
            if _Interrupted.flag:   # the interrupt, come back as another exception
                raise KeyboardInterrupt from exc
            raise
        stop = StopFlag()
        spin(node, stop=stop)
    except KeyboardInterrupt:
        if stop is None:
            rclpy.logging.get_logger(name).info("interrupted while starting")
            code = EXIT_INTERRUPTED
    except ExternalShutdownException:
        pass
    finally:
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
        if stop is not None:
            stop.restore()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return code

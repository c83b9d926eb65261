"""Helpers for tests that start ROS 2 nodes: isolated DDS, subprocess nodes, a probe node.

Isolation: :func:`isolate_ros_env` sets ``ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST`` (no traffic
leaves loopback) and a ``ROS_DOMAIN_ID`` in 1..200 derived from this test run's pid, before
anything calls ``rclpy.init``; node subprocesses inherit both. Nodes are stopped with SIGINT,
then SIGKILL only if they ignore it. Waiting is always on a condition (discovery, a message)
with a generous timeout, never a fixed sleep.
"""
from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DISCOVERY_TIMEOUT = 60.0   # s: a loaded 2-core machine can be slow to start a node
MESSAGE_TIMEOUT = 30.0
_names = itertools.count()


def isolate_ros_env() -> int:
    """Loopback-only discovery and a per-run domain id; returns the domain id."""
    domain = 1 + os.getpid() % 200
    os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    os.environ["ROS_DOMAIN_ID"] = str(domain)
    os.environ.pop("ROS_STATIC_PEERS", None)
    os.environ["RCUTILS_LOGGING_BUFFERED_STREAM"] = "0"   # node logs reach their file at once
    os.environ.setdefault("RCUTILS_COLORIZED_OUTPUT", "0")
    return domain


def unique_namespace(prefix: str = "t") -> str:
    return f"/{prefix}{os.getpid()}_{next(_names)}"


def _param_arg(name, value) -> str:
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, float):
        text = repr(value)
    elif isinstance(value, (list, tuple)):
        text = "[" + ",".join(repr(float(v)) for v in value) + "]"
    else:
        text = str(value)
    return f"{name}:={text}"


class NodeProcess:
    """One node (``python -m ik_nn.ros.<name>``) in a subprocess; output goes to a file."""

    def __init__(self, name: str, namespace: str = "", params: dict | None = None,
                 params_file: str | None = None):
        self.name = name
        cmd = [sys.executable, "-m", "ik_nn.ros.entry", name, "--ros-args"]
        if namespace:
            cmd += ["-r", f"__ns:={namespace}"]
        if params_file:
            cmd += ["--params-file", str(params_file)]
        for k, v in (params or {}).items():
            cmd += ["-p", _param_arg(k, v)]
        self.cmd = cmd
        self.log = tempfile.NamedTemporaryFile("w+", prefix=f"{name}_", suffix=".log",
                                               delete=False)
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(cmd, cwd=str(REPO), stdout=self.log,
                                     stderr=subprocess.STDOUT, env=env)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def wait_exit(self, timeout: float = 60.0) -> int:
        return self.proc.wait(timeout=timeout)

    def stop(self, timeout: float = 15.0) -> int:
        """SIGINT, wait; SIGKILL only as a last resort. Returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=timeout)
        self.log.close()
        return self.proc.returncode

    def __repr__(self):
        return f"NodeProcess({' '.join(self.cmd)})"


class Probe:
    """A node in the test process: publishers, recorders and waiting on conditions."""

    def __init__(self, name: str = "probe"):
        import rclpy
        from rclpy.executors import SingleThreadedExecutor

        self.node = rclpy.create_node(f"{name}_{os.getpid()}_{next(_names)}")
        self.executor = SingleThreadedExecutor()
        self.executor.add_node(self.node)
        self.procs: list[NodeProcess] = []

    def publisher(self, msg_type, topic: str, depth: int = 10):
        return self.node.create_publisher(msg_type, topic, depth)

    def record(self, msg_type, topic: str, depth: int = 1000) -> list:
        """Every message on ``topic`` from now on, appended to the returned list."""
        got: list = []
        self.node.create_subscription(msg_type, topic, got.append, depth)
        return got

    def spin_until(self, predicate, timeout: float = MESSAGE_TIMEOUT, what: str = "condition"):
        deadline = time.monotonic() + timeout
        while not predicate():
            for p in self.procs:
                if p.proc.poll() is not None:
                    raise AssertionError(f"{p.name} exited with {p.proc.returncode} while "
                                         f"waiting for {what}:\n{p.output()[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
            self.executor.spin_once(timeout_sec=0.02)

    def spin_for_matched(self, pubs=(), subs=(), timeout: float = DISCOVERY_TIMEOUT):
        """Wait until every publisher has a subscriber and every recorder topic a publisher."""
        self.spin_until(
            lambda: all(p.get_subscription_count() > 0 for p in pubs)
            and all(self.node.count_publishers(t) > 0 for t in subs),
            timeout, f"discovery of {[p.topic_name for p in pubs] + list(subs)}")

    def spin_for_subscriber(self, topic: str, node_name: str,
                            timeout: float = DISCOVERY_TIMEOUT):
        """Wait until the graph shows node ``node_name`` subscribed to ``topic``.

        For a topic between two nodes under test (ik_node -> sim_arm): the probe's own
        publishers and recorders say nothing about whether the other process is there yet.
        """
        self.spin_until(
            lambda: any(i.node_name == node_name
                        for i in self.node.get_subscriptions_info_by_topic(topic)),
            timeout, f"{node_name} subscribed to {topic}")

    def start(self, *args, **kwargs) -> NodeProcess:
        proc = NodeProcess(*args, **kwargs)
        self.procs.append(proc)
        return proc

    def close(self):
        codes = {}
        for p in self.procs:
            codes[p.name] = p.stop()
            Path(p.log.name).unlink(missing_ok=True)
        self.executor.shutdown()
        self.node.destroy_node()
        return codes


# ------------------------------------------------------------------ messages
def status_values(array_msg, index: int = -1) -> dict:
    """Key-values (plus level and message) of one status of an ik_status message.

    By default the last: the target the message is about; earlier ones are targets it
    superseded.
    """
    return _status_dict(array_msg.status[index])


def all_statuses(arrays) -> list:
    """Every status in a list of ik_status messages, as dicts, in order."""
    return [_status_dict(st) for arr in arrays for st in arr.status]


def _status_dict(st) -> dict:
    out = {kv.key: kv.value for kv in st.values}
    out["level"] = st.level[0] if isinstance(st.level, (bytes, bytearray)) else int(st.level)
    out["message"] = st.message
    return out


def stamp_key(stamp) -> str:
    return f"{stamp.sec}.{stamp.nanosec:09d}"


def make_target(T, frame: str = "base_link", stamp_ns: int | None = None):
    from ik_nn.ros import conversions as rc

    ns = time.time_ns() if stamp_ns is None else stamp_ns
    return rc.pose_stamped(np.asarray(T), frame, rc.ns_to_stamp(ns))


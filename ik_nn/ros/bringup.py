"""``ik-nn up``: pip-only bring-up of ik_node + sim_arm + target_publisher, in one process.

No ROS install and no ``ros2 launch`` needed: the same three nodes with the same parameters
file as launch/ik.launch.py run on one executor thread (see nodes.make_executor), one set per
arm, each arm in its own namespace (``/ur5/target_pose``, ``/rrr/joint_command``, ...). A
monitor in the same process prints a live line per second and a summary at the end (Ctrl-C,
or ``--duration``).

DDS isolation: unless already set in the environment, ``ROS_AUTOMATIC_DISCOVERY_RANGE`` is set to
``LOCALHOST`` (nothing leaves this machine) and ``ROS_DOMAIN_ID`` to a value derived from the
process id (1..200, printed at start: export it to watch the topics from another terminal).
"""
from __future__ import annotations

import os
import time

import numpy as np

DEFAULT_RATE = 10.0
CAUGHT_UP = 1e-3  # m: tracking counts from the first command reached within this


def add_arguments(parser):
    parser.add_argument("--arm", action="append", metavar="ARM",
                        help="bundled arm name, or DH YAML or URDF path; repeat for several "
                             "arms, each in its own namespace (default: ur5)")
    parser.add_argument("--base-link", default="", metavar="LINK",
                        help="with URDF arms: first link of the chain (default: the root)")
    parser.add_argument("--tip-link", default="", metavar="LINK",
                        help="with URDF arms: last link of the chain (default: the only leaf)")
    parser.add_argument("--duration", type=float, default=0.0, metavar="S",
                        help="stop after S seconds (default: run until Ctrl-C)")
    parser.add_argument("--rate", type=float, default=DEFAULT_RATE, metavar="HZ",
                        help=f"targets per second per arm (default {DEFAULT_RATE:g})")
    parser.add_argument("--model", default="bundled",
                        help="ik_node model: bundled (default), none, or a path to an .onnx file")
    parser.add_argument("--params-file", default=None, metavar="YAML",
                        help="ROS 2 parameters file (default: the package's config/ik_nn.yaml)")
    parser.add_argument("--quiet", action="store_true", help="no live line, only the summary")


def ros_environment() -> dict:
    """Set loopback-only discovery and a domain id unless the user did; return what was set."""
    set_here = {}
    if "ROS_AUTOMATIC_DISCOVERY_RANGE" not in os.environ:
        os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = set_here["ROS_AUTOMATIC_DISCOVERY_RANGE"] = (
            "LOCALHOST")
    if "ROS_DOMAIN_ID" not in os.environ:
        os.environ["ROS_DOMAIN_ID"] = set_here["ROS_DOMAIN_ID"] = str(1 + os.getpid() % 200)
    return set_here


def _pct(values, q):
    return float(np.percentile(values, q)) if len(values) else float("nan")


class ArmStats:
    """What the monitor saw on one arm's topics."""

    def __init__(self, name, ns):
        self.name, self.ns = name, ns
        self.targets = 0
        self.levels = []          # status level per target the node took
        self.pos_err = []         # solved targets
        self.rot_err = []
        self.solve_ms = []
        self.latency_ms = []      # target stamp -> joint_command received
        self.commands = 0
        self.codes = {}            # status code -> count
        self.ee = None             # (3,) latest end-effector position (m)
        self.tracking = []         # ee vs the commanded target when the next command came (m)
        self.caught_up = None      # commands until the first tracking sample within 1 mm
        self.commanded = None      # (4, 4) target of the last joint_command
        self.commanded_key = None  # its stamp (ns)
        self.status_of = {}        # target stamp "sec.nanosec" -> status code
        self.last_q = None         # joints of the last joint_command
        self.jumps = []            # max |joint change| between consecutive commands (rad)
        self.last_target = {}     # stamp ns -> (4, 4)
        self.window = [0, 0, 0, 0]  # targets, statuses, solved, approach since the last line

    def line(self, dt):
        t, s, ok, ap = self.window
        self.window = [0, 0, 0, 0]
        recent = self.pos_err[-ok:] if ok else []
        lat = self.latency_ms[-ok:] if ok else []
        solved = f"{100.0 * ok / s:5.1f} %" if s else "    — "
        # approach steps: the target is reachable but further than the velocity limits allow
        # in one period, so the arm is commanded towards it (docs/ros.md, status codes)
        moving = f" (approaching {100.0 * ap / s:5.1f} %)" if ap else ""
        err = f"{_pct(recent, 50):.1e} m" if ok else "   —   "
        lat = f"{_pct(lat, 50):.2f} ms" if ok else "  —  "
        return (f"{self.ns}: {t / dt:5.1f} targets/s, solved {solved}{moving}, "
                f"median pos err {err}, latency {lat}")

    def summary(self):
        n = len(self.levels)
        ok = self.levels.count(0)
        c = self.codes
        track = self.tracking[self.caught_up:] if self.caught_up is not None else []
        lines = [
            f"{self.ns} ({self.name}): {self.targets} targets published, {n} taken by ik_node, "
            f"{ok} solved ({100.0 * ok / n if n else 0.0:.1f} %), "
            f"{c.get('approach', 0)} approached, {c.get('discontinuity', 0)} discontinuities, "
            f"{c.get('unreachable', 0)} unreachable, {c.get('superseded', 0)} superseded; "
            f"{self.commands} commands",
            f"  pos err  median {_pct(self.pos_err, 50):.2e} m    "
            f"max {max(self.pos_err, default=float('nan')):.2e} m",
            f"  rot err  median {_pct(self.rot_err, 50):.2e} rad  "
            f"max {max(self.rot_err, default=float('nan')):.2e} rad",
            f"  solve    p50 {_pct(self.solve_ms, 50):.3f} ms  "
            f"p99 {_pct(self.solve_ms, 99):.3f} ms",
            f"  latency  p50 {_pct(self.latency_ms, 50):.3f} ms  "
            f"p99 {_pct(self.latency_ms, 99):.3f} ms"
            "  (target stamp -> joint_command received)",
            f"  commands max joint change between consecutive commands: p50 "
            f"{_pct(self.jumps, 50):.3f} rad  "
            f"max {max(self.jumps, default=float('nan')):.3f} rad, "
            f"{sum(j > 0.5 for j in self.jumps)} over 0.5 rad",
            "  tracking end effector vs each exactly commanded target when the next command "
            "arrives, "
            + (f"once caught up (after {self.caught_up} commands): p50 {_pct(track, 50):.2e} m"
               f"  p95 {_pct(track, 95):.2e} m  max {max(track):.2e} m ({len(track)} commands)"
               if track else "never caught up (never within 1 mm)"),
        ]
        return "\n".join(lines)


def _monitor(rclpy_node_cls, stats_by_ns):
    """A node subscribing to every arm's topics and filling its ArmStats."""
    from diagnostic_msgs.msg import DiagnosticArray
    from geometry_msgs.msg import PoseStamped
    from sensor_msgs.msg import JointState

    from . import conversions as rc

    node = rclpy_node_cls("ik_nn_up_monitor")

    def now_ns():
        return node.get_clock().now().nanoseconds

    for ns, st in stats_by_ns.items():
        def on_target(msg, st=st):
            st.targets += 1
            st.window[0] += 1
            key = rc.stamp_to_ns(msg.header.stamp)
            st.last_target[key] = rc.pose_to_matrix(msg.pose)
            if len(st.last_target) > 100:
                st.last_target.pop(next(iter(st.last_target)))

        def on_status(msg, st=st):
            for s in msg.status:   # the target handled, after any it superseded
                level = s.level[0] if isinstance(s.level, (bytes, bytearray)) else int(s.level)
                kv = {v.key: v.value for v in s.values}
                st.levels.append(level)
                st.codes[kv.get("code", "")] = st.codes.get(kv.get("code", ""), 0) + 1
                st.status_of[kv.get("target_stamp", "")] = kv.get("code", "")
                if len(st.status_of) > 200:
                    st.status_of.pop(next(iter(st.status_of)))
                st.window[1] += 1
                if kv.get("code") != "superseded":
                    st.solve_ms.append(float(kv.get("solve_time_ms", "nan")))
                if kv.get("code") == "approach":
                    st.window[3] += 1
                if level == 0:
                    st.window[2] += 1
                    st.pos_err.append(float(kv["pos_err"]))
                    st.rot_err.append(float(kv["rot_err"]))

        def on_command(msg, st=st):
            st.commands += 1
            key = rc.stamp_to_ns(msg.header.stamp)
            prev = st.commanded_key   # its status came after its command: look it up now
            exact = prev is not None and st.status_of.get(
                f"{prev // 10**9}.{prev % 10**9:09d}") == "solved"
            if st.commanded is not None and st.ee is not None and exact:
                st.tracking.append(float(np.linalg.norm(st.ee - st.commanded[:3, 3])))
                if st.caught_up is None and st.tracking[-1] <= CAUGHT_UP:
                    st.caught_up = len(st.tracking) - 1
            if key != st.commanded_key:   # approach steps repeat their target's stamp
                st.latency_ms.append((now_ns() - key) * 1e-6)
            st.commanded, st.commanded_key = st.last_target.get(key), key
            q = np.array(msg.position)
            if st.last_q is not None and q.shape == st.last_q.shape:
                st.jumps.append(float(np.max(np.abs(q - st.last_q))))
            st.last_q = q

        def on_ee(msg, st=st):
            p = msg.pose.position
            st.ee = np.array([p.x, p.y, p.z])

        node.create_subscription(PoseStamped, f"{ns}/target_pose", on_target, 100)
        node.create_subscription(DiagnosticArray, f"{ns}/ik_status", on_status, 100)
        node.create_subscription(JointState, f"{ns}/joint_command", on_command, 100)
        node.create_subscription(PoseStamped, f"{ns}/ee_pose", on_ee, 10)
    return node


def run(args) -> int:
    set_here = ros_environment()
    import rclpy
    from rclpy.executors import ExternalShutdownException
    from rclpy.node import Node
    from rclpy.parameter import Parameter

    from ..arm import load_arm
    from ..resources import config_path
    from .common import init_ros, make_executor, startup_errors
    from .ik_node import IKNode
    from .sim_arm import SimArm
    from .target_publisher import TargetPublisher

    arms = args.arm or ["ur5"]
    params_file = args.params_file or str(config_path("ik_nn.yaml"))
    if not os.path.isfile(params_file):
        print(f"ik-nn up: error: {params_file}: no such parameters file")
        return 1
    if not args.rate > 0:
        print("ik-nn up: error: --rate must be > 0")
        return 1
    env = " ".join(f"{k}={os.environ[k]}"
                   for k in ("ROS_DOMAIN_ID", "ROS_AUTOMATIC_DISCOVERY_RANGE"))
    print(f"ik-nn up: {env}" + (" (set by ik-nn up)" if set_here else ""), flush=True)

    stop = init_ros()   # Ctrl-C sets a flag the loop below polls
    nodes, stats, code = [], {}, 0
    executor = make_executor()
    try:
        try:
            for spec in arms:
                arm = load_arm(spec, args.base_link or None, args.tip_link or None)
                ns = "/" + arm.name
                if ns in stats:
                    raise ValueError(f"arm {arm.name!r} given twice (one namespace per arm)")
                common = {"namespace": ns,
                          "cli_args": ["--ros-args", "--params-file", params_file]}
                chain = [Parameter("arm", value=spec),
                         Parameter("base_link", value=args.base_link),
                         Parameter("tip_link", value=args.tip_link)]
                nodes.append(IKNode(parameter_overrides=[
                    *chain, Parameter("model", value=args.model)], **common))
                nodes.append(SimArm(parameter_overrides=chain, **common))
                nodes.append(TargetPublisher(parameter_overrides=[
                    *chain, Parameter("rate", value=float(args.rate))], **common))
                stats[ns] = ArmStats(arm.name, ns)
        except startup_errors() as exc:
            print(f"ik-nn up: error: {exc}", flush=True)
            return 1
        nodes.append(_monitor(Node, stats))
        for n in nodes:
            executor.add_node(n)
        print(f"ik-nn up: {', '.join(stats)} running"
              + (f" for {args.duration:g} s" if args.duration > 0 else "; Ctrl-C to stop"),
              flush=True)
        start = last = time.monotonic()
        while rclpy.ok():
            if stop.is_set():
                print("\nik-nn up: stopping (Ctrl-C)", flush=True)
                break
            executor.spin_once(timeout_sec=0.05)
            now = time.monotonic()
            if now - last >= 1.0:
                if not args.quiet:
                    line = " | ".join(st.line(now - last) for st in stats.values())
                    print(f"[{now - start:6.1f} s] {line}", flush=True)
                last = now
            if args.duration > 0 and now - start >= args.duration:
                break
    except (KeyboardInterrupt, ExternalShutdownException):
        print("\nik-nn up: stopping (Ctrl-C)", flush=True)
    finally:
        executor.shutdown()
        for n in nodes:
            n.destroy_node()
        rclpy.try_shutdown()
        stop.restore()
    if stats:
        print("summary:")
        for st in stats.values():
            print(st.summary())
            if not st.levels.count(0):
                code = 1
    return code


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="ik-nn up", description=__doc__.splitlines()[0])
    add_arguments(parser)
    try:
        return run(parser.parse_args(argv))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    import sys

    sys.exit(main())

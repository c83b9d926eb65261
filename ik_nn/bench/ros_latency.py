"""End-to-end ROS 2 latency bench: PoseStamped published -> JointState received.

``ik_node`` runs as a subprocess (a real separate process, real DDS over loopback); this process
publishes FK-made targets at ``--rate`` for ``--duration`` seconds from a paced thread and
receives ``joint_command`` and ``ik_status`` on its executor thread. Reported: latency p50/p99/max
(publish to command receipt, one clock), targets lost (neither a command nor a status came back),
solved fraction, and the node's resident memory (RSS) after warm-up and at the end.

Targets (``--stream``): ``path`` (default) is a smooth joint-space curve through FK, like a
streaming teleop or trajectory; ``random`` are FK poses of uniform random joints (worst case for
seeding). ``--feedback`` echoes every command back as ``joint_states`` (a perfect arm), so the
node seeds from the current joints as it does with sim_arm.

Library use: ``add_arguments(parser)`` and ``run(args) -> int`` (``ik-nn bench --ros``);
``measure(...)`` returns the numbers as a dict.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from .results import percentile
from .targets import publish_paced, stream_targets

TARGET_P50_MS, TARGET_P99_MS = 1.0, 5.0


def add_arguments(parser):
    """Add the bench's options to ``parser`` or an argument group of ``ik-nn bench``'s parser.

    An option string the parser already has (``--json``) is shared, not added twice.
    """
    import argparse

    def add(*names, **kw):
        try:
            parser.add_argument(*names, **kw)
        except argparse.ArgumentError:   # already there (the host command's own --json)
            pass

    add("--arm", default="ur5", help="ROS bench: bundled arm name or DH YAML path (ur5)")
    add("--model", default="bundled",
        help="ROS bench: ik_node model: bundled (default), none, or an .onnx path")
    add("--rate", type=float, default=1000.0, metavar="HZ",
        help="ROS bench: targets per second (default 1000)")
    add("--duration", type=float, default=60.0, metavar="S",
        help="ROS bench: measured seconds (default 60), after --warmup")
    add("--warmup", type=float, default=2.0, metavar="S",
        help="ROS bench: seconds published but not measured first (default 2)")
    add("--stream", choices=("path", "random"), default="path",
        help="ROS bench: targets along a smooth joint-space path (default) or random poses")
    add("--feedback", action="store_true",
        help="ROS bench: echo commands back as joint_states (the node seeds from them)")
    add("--timeout", type=float, default=0.02,
        help="ROS bench: ik_node's per-target time budget, s (default 0.02)")
    add("--profile", metavar="PATH", help="ROS bench: cProfile ik_node into PATH")
    add("--json", metavar="PATH", help="also write the results as JSON")
    add("--check", action="store_true",
        help=f"ROS bench: exit 1 unless p50 <= {TARGET_P50_MS:g} ms, p99 <= {TARGET_P99_MS:g} ms "
             "and no target was lost")


def rss_mib(pid: int) -> float:
    """Return the resident set size of a process, MiB (Linux /proc); NaN if unknown."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def _stop(proc, timeout=15.0):
    """Stop a child process: SIGINT, then kill after ``timeout`` seconds."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)


def measure(arm="ur5", model="bundled", rate=1000.0, duration=60.0, warmup=2.0,
            targets="path", feedback=False, timeout=0.02, profile=None, log=print) -> dict:
    """Run the bench; return a dict of the results (see the module docstring)."""
    from ..ros.bringup import ros_environment

    ros_environment()
    import rclpy
    from diagnostic_msgs.msg import DiagnosticArray
    from geometry_msgs.msg import PoseStamped
    from rclpy.qos import QoSProfile
    from sensor_msgs.msg import JointState

    from ..arm import load_arm
    from ..resources import config_path
    from ..ros import conversions as rc
    from ..ros.common import make_executor

    arm_obj = load_arm(arm)
    ns = f"/ik_bench_{os.getpid()}"
    n_warm, n_meas = int(round(warmup * rate)), int(round(duration * rate))
    n = n_warm + n_meas
    poses = stream_targets(arm_obj, n, targets, rate, np.random.default_rng(0))
    prof = ["-m", "cProfile", "-o", str(profile)] if profile else []
    cmd = [sys.executable, *prof, "-m", "ik_nn.ros.entry", "ik_node", "--ros-args", "-r",
           f"__ns:={ns}",
           "--params-file", str(config_path("ik_nn.yaml")), "-p", f"arm:={arm}",
           "-p", f"model:={model}", "-p", f"timeout:={float(timeout)!r}"]
    node_proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                 text=True)
    rclpy.init()
    node = rclpy.create_node(f"ik_bench_{os.getpid()}")
    executor = make_executor()
    executor.add_node(node)
    sent = np.zeros(n, dtype=np.int64)       # perf_counter_ns at publish
    got_cmd = np.zeros(n, dtype=np.int64)    # perf_counter_ns at joint_command receipt
    got_status = np.zeros(n, dtype=bool)
    solved = np.zeros(n, dtype=bool)
    superseded = np.zeros(n, dtype=bool)
    node_ms = np.full(n, np.nan)            # the node's own time per target (status)
    base_ns = time.time_ns()                 # stamps are base_ns + index: unique, increasing

    def index_of(stamp):
        i = rc.stamp_to_ns(stamp) - base_ns
        return i if 0 <= i < n else None

    js_pub = node.create_publisher(JointState, f"{ns}/joint_states", 10) if feedback else None

    def on_command(msg):
        t = time.perf_counter_ns()
        i = index_of(msg.header.stamp)
        if i is not None:
            got_cmd[i] = t
        if js_pub is not None:
            js_pub.publish(msg)

    def on_status(msg):
        for st in msg.status:   # the target handled last; before it, any it superseded
            kv = {v.key: v.value for v in st.values}
            sec, _, nsec = kv.get("target_stamp", "").partition(".")
            try:
                i = int(sec) * 1_000_000_000 + int(nsec) - base_ns
            except ValueError:
                continue
            if not 0 <= i < n:
                continue
            got_status[i] = True
            solved[i] = kv.get("code") == "solved"
            superseded[i] = kv.get("code") == "superseded"
            if solved[i]:
                node_ms[i] = float(kv.get("solve_time_ms", "nan"))

    deep = QoSProfile(depth=max(1000, int(rate)))
    node.create_subscription(JointState, f"{ns}/joint_command", on_command, deep)
    node.create_subscription(DiagnosticArray, f"{ns}/ik_status", on_status, deep)
    pub = node.create_publisher(PoseStamped, f"{ns}/target_pose", deep)
    results = {}
    try:
        deadline = time.monotonic() + 120.0
        while pub.get_subscription_count() == 0 or node.count_publishers(f"{ns}/ik_status") == 0:
            if node_proc.poll() is not None:
                raise RuntimeError(f"ik_node exited with {node_proc.returncode}: "
                                   f"{node_proc.stderr.read()[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError("ik_node was not discovered within 120 s")
            executor.spin_once(timeout_sec=0.05)
        if feedback:
            while js_pub.get_subscription_count() == 0:
                executor.spin_once(timeout_sec=0.05)
        log(f"bench: ik_node pid {node_proc.pid} ({arm}, model {model}) ready; publishing "
            f"{n} targets at {rate:g} Hz ({warmup:g} s warm-up + {duration:g} s measured)")
        msgs = [rc.pose_stamped(T, "base_link", rc.ns_to_stamp(base_ns + i))
                for i, T in enumerate(poses)]
        mem = {}

        def before(i):   # the node's memory once the warm-up is over
            if i == n_warm:
                mem["start"] = rss_mib(node_proc.pid)

        publish_paced(executor, pub, msgs, rate, sent, before)
        end = time.monotonic() + 2.0   # stragglers
        while time.monotonic() < end and not got_status[n - 1]:
            executor.spin_once(timeout_sec=0.01)
        mem["end"] = rss_mib(node_proc.pid)
        m = slice(n_warm, n)
        answered = got_status[m] | (got_cmd[m] > 0)
        lat = (got_cmd[m][got_cmd[m] > 0] - sent[m][got_cmd[m] > 0]) * 1e-6
        send_gap = np.diff(sent[m]) * 1e-6
        node_solved_ms = node_ms[m][np.isfinite(node_ms[m])]
        results = {
            "arm": arm_obj.name, "model": model, "targets": targets, "feedback": feedback,
            "rate_hz": rate, "duration_s": duration, "measured": n_meas,
            "answered": int(answered.sum()), "lost": int(n_meas - answered.sum()),
            "solved": int(solved[m].sum()), "commands": int((got_cmd[m] > 0).sum()),
            "superseded": int(superseded[m].sum()),
            "node_time_ms": {"p50": percentile(node_solved_ms, 50),
                             "p99": percentile(node_solved_ms, 99)},
            "latency_ms": {"p50": percentile(lat, 50), "p90": percentile(lat, 90),
                           "p99": percentile(lat, 99),
                           "max": float(lat.max()) if lat.size else float("nan")},
            "publish_gap_ms": {"p50": percentile(send_gap, 50), "p99": percentile(send_gap, 99)},
            "achieved_rate_hz": float(n_meas / max((sent[n - 1] - sent[n_warm]) * 1e-9, 1e-9)),
            "node_rss_mib": {"start": mem.get("start"), "end": mem.get("end")},
        }
    finally:
        _stop(node_proc)
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown()
    return results


def targets_met(r: dict) -> bool:
    """Tell whether a run met p50 ≤ TARGET_P50_MS, p99 ≤ TARGET_P99_MS and lost nothing."""
    lat = r["latency_ms"]
    return lat["p50"] <= TARGET_P50_MS and lat["p99"] <= TARGET_P99_MS and r["lost"] == 0


def report(r: dict) -> str:
    """Return the results of :func:`measure` as a few lines of text."""
    lat, mem = r["latency_ms"], r["node_rss_mib"]
    return "\n".join([
        f"ROS end-to-end bench: {r['arm']} model={r['model']} targets={r['targets']} "
        f"feedback={r['feedback']} at {r['rate_hz']:g} Hz (achieved {r['achieved_rate_hz']:.0f}) "
        f"for {r['duration_s']:g} s",
        f"  targets {r['measured']}, answered {r['answered']}, lost {r['lost']}, "
        f"solved {r['solved']} ({100.0 * r['solved'] / max(r['measured'], 1):.2f} %), "
        f"superseded {r['superseded']} (a newer target was already waiting)",
        f"  ik_node time per solved target (receipt -> status): p50 "
        f"{r['node_time_ms']['p50']:.3f} ms  p99 {r['node_time_ms']['p99']:.3f} ms",
        f"  latency publish->joint_command: p50 {lat['p50']:.3f} ms  p90 {lat['p90']:.3f} ms  "
        f"p99 {lat['p99']:.3f} ms  max {lat['max']:.3f} ms",
        f"  ik_node RSS: {mem['start']:.1f} MiB after warm-up, {mem['end']:.1f} MiB at the end "
        f"({mem['end'] - mem['start']:+.1f} MiB)",
        f"  target p50 <= {TARGET_P50_MS:g} ms, p99 <= {TARGET_P99_MS:g} ms, 0 lost: "
        + ("met" if targets_met(r) else "NOT met"),
    ])


def run(args) -> int:
    """Run ``ik-nn bench --ros`` from parsed arguments; return the exit code."""
    try:
        r = measure(arm=args.arm, model=args.model, rate=args.rate, duration=args.duration,
                    warmup=args.warmup, targets=args.stream, feedback=args.feedback,
                    timeout=args.timeout, profile=args.profile)
    except (RuntimeError, ValueError) as exc:
        print(f"ik-nn bench --ros: error: {exc}")
        return 1
    print(report(r))
    if getattr(args, "json", None):
        Path(args.json).write_text(json.dumps(r, indent=2))
    return 1 if args.check and not targets_met(r) else 0


def main(argv=None) -> int:
    """Run the bench as ``python -m ik_nn.bench.ros_latency``."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m ik_nn.bench.ros_latency",
                                     description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())

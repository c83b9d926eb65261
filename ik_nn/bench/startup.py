"""How fast ``ik_node`` answers after a fresh install, and how it starts and stops.

Run it as ``python -m ik_nn.bench.startup`` (``--help`` for the options); it prints Markdown
tables and, with ``--json PATH``, writes every figure as JSON. What it measures:

* fresh installs: the package is copied from ``--source`` (without build artefacts or compiled
  files, so the C extension is compiled anew) and installed into a brand-new folder per layout:
  ``pip install --target DIR``, ``pip install --prefix DIR`` (a new prefix) and ``colcon
  build``; the dependencies come from the running environment. The install (build) time is
  reported on its own: it is install time, not start time;
* process start → first answer: ``python -m ik_nn.ros.ik_node`` with the install first on
  ``PYTHONPATH`` and a temporary working folder (never the repository, whose own ``ik_nn``
  would shadow the install). A probe node in this process, created before the node is started
  so that its own start-up is never counted, publishes a reachable target every 20 ms until the
  first ``ik_status`` arrives. Times are seconds from just before ``Popen``; the node's own log
  lines (``starting``, ``loading the solver``, ``warming up``, ``ready in X s``) are placed on
  the same time line from their time stamps; "probe matched" is when the probe first saw the
  node's subscription (DDS discovery). Each start gets a probe of its own; one more series of
  restarts is measured with a single long-lived probe, as a peer that outlives the node sees
  it (there, discovery of the restarted node can lag). The first start after each install,
  then ``--restarts`` restarts per arm and model, and one restart with ``position_only``;
* no compilation in callbacks: after the first answer each node also gets a new reachable
  target, one out of reach (10 m), one in reach without a solution (the base origin), a burst of
  ten, and a target seeded by ``joint_states``; each one's ``solve_time_ms`` is reported. A
  fresh process also times the first and second call of each ``IKSolver`` path (single, seeded,
  position-only, no solution, batches);
* SIGINT (and SIGTERM) during start-up: at fixed delays after the start and right after each
  logged start-up step; time from the signal to the exit, exit code and any traceback;
* read-only package folder: a fresh install started by an unprivileged user (as root: uid 65534
  via ``setpriv``/``runuser``; otherwise the install is made read-only with chmod). Every run
  also compares the install folder's file list (path, size, mtime) before and after it.

The exit code is 0 when every requirement of the start-up issue is met, 1 when one is not (the
report says which), 2 when the source is not a source tree.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .machine import cpu_model

REPO = Path(__file__).resolve().parents[2]
NODE_MODULE = "ik_nn.ros.entry"  # the console scripts' module: signals handled before imports
LAYOUTS = ("target", "prefix", "colcon")
ANSWER_TIMEOUT = 60.0    # s: a node that has not answered by then is reported as not answering
GRACE = 10.0             # s after SIGINT/SIGTERM before SIGKILL
ASK_TIMEOUT = 10.0       # s to wait for the status of one target once the node answers
PUBLISH_PERIOD = 0.02    # s between targets while waiting for the first answer
DELAYS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.8)  # s after the start: SIGINT
SIGTERM_DELAY = 0.3      # s after the start: SIGTERM
BASE_FRAME = "base_link"
LOG_FORMAT = "[{severity}] [{time}] [{name}]: {message}"
LOG_LINE = re.compile(r"^\[(\w+)\] \[(\d+\.\d+)\] \[([^\]]*)\]: (.*)$")
# The node's start-up log, in order: (step, text the line contains).
STEPS = (("starting", "starting: loading arm"), ("solver", "loading the solver"),
         ("warm-up", "warming up"), ("ready", "ready in"))
# What the issue asks for.
FRESH_LIMIT_S = 3.0      # first answer after a fresh install
WARM_LIMIT_S = 1.0       # first answer when started again
SIGNAL_LIMIT_S = 1.0     # signal during start-up to exit
CALLBACK_LIMIT_MS = 100.0  # a compilation costs seconds; the node's solve budget is 20 ms
IGNORE = shutil.ignore_patterns(".git", ".venv", ".ci", "build", "install", "log", "runs",
                                "bench_out", "__pycache__", "*.egg-info", ".pytest_cache",
                                "*.pyc", "*.so")
UNPRIVILEGED_ID = 65534  # nobody / nogroup
PROBE_NAMES = itertools.count()

# Run in a fresh process of an install: the first and second call of each IKSolver path.
# argv: arm, model ("bundled" or "none"); prints one JSON line (times in ms).
FRESH_CALLS = r"""
import json, sys, time
t = time.perf_counter()
import numpy as np
import ik_nn
out = {"origin": ik_nn.__file__, "import_ms": (time.perf_counter() - t) * 1e3}
arm = ik_nn.load_arm(sys.argv[1])
t = time.perf_counter()
solver = ik_nn.IKSolver(arm, model=None if sys.argv[2] == "none" else "bundled")
out["solver_ms"] = (time.perf_counter() - t) * 1e3
q = arm.random_q(512, np.random.default_rng(7))
T = arm.fk(q)
seed = np.clip(q + 0.05, arm.lower, arm.upper)
nowhere = np.eye(4)
nowhere[:3, 3] = arm.base[:3, 3]
cases = [
    ("single, network seed", lambda: solver.solve(T[0])),
    ("single, seeded", lambda: solver.solve(T[1], seed=seed[1])),
    ("single, position-only", lambda: solver.solve(T[2], position_only=True)),
    ("single, no solution", lambda: solver.solve(nowhere)),
    ("batch of 64", lambda: solver.solve(T[:64])),
    ("batch of 512 (chunks on every core)", lambda: solver.solve(T)),
    ("batch of 512, seeded", lambda: solver.solve(T, seed=seed)),
    ("batch of 512, position-only", lambda: solver.solve(T, position_only=True)),
]
out["calls"] = []
for name, call in cases:
    t = time.perf_counter(); call(); first = time.perf_counter() - t
    t = time.perf_counter(); call(); second = time.perf_counter() - t
    out["calls"].append({"path": name, "first_ms": first * 1e3, "second_ms": second * 1e3})
print(json.dumps(out))
"""


def progress(text: str):
    """Print one progress line on stderr (the report itself goes to stdout)."""
    print(f"[startup] {text}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- machine
def load_average() -> list:
    """Return the 1, 5 and 15 minute load averages (runnable processes)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def machine_context() -> dict:
    """Describe the machine: CPU model, usable cores, Python, user, load average now."""
    return {"cpu": cpu_model(), "cores": len(os.sched_getaffinity(0)),
            "python": sys.version.split()[0], "euid": os.geteuid(),
            "load_start": load_average(),
            "date": time.strftime("%Y-%m-%d %H:%M:%S %Z")}


# --------------------------------------------------------------------------- files
def snapshot(folder) -> dict:
    """Map each file and folder (``name/``) below ``folder`` to [size bytes, mtime ns]."""
    folder = Path(folder)
    out = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            path = Path(dirpath, name)
            try:
                st = path.lstat()
            except OSError:
                continue
            key = str(path.relative_to(folder)) + ("/" if name in dirnames else "")
            out[key] = [st.st_size, st.st_mtime_ns]
    return out


def changes(before: dict, after: dict) -> list:
    """List what differs between two :func:`snapshot` results: '+ new', '- gone', '~ changed'."""
    out = [f"+ {p}" for p in sorted(after.keys() - before.keys())]
    out += [f"- {p}" for p in sorted(before.keys() - after.keys())]
    out += [f"~ {p}" for p in sorted(before.keys() & after.keys()) if before[p] != after[p]]
    return out


def copy_source(source: Path, dest: Path):
    """Copy the package's source tree without build artefacts, caches or compiled files."""
    shutil.copytree(source, dest, ignore=IGNORE)


def revision(path: Path) -> str:
    """Return the git revision of ``path`` (``+dirty`` with local changes), '' if none."""
    try:
        done = subprocess.run(["git", "-C", str(path), "describe", "--always", "--dirty=+dirty"],
                              capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def is_source_tree(path: Path) -> bool:
    """Tell whether ``path`` holds the package's sources (setup.py, package.xml, ik_nn/)."""
    return all((path / p).exists() for p in ("setup.py", "package.xml", "ik_nn/__init__.py"))


# --------------------------------------------------------------------------- node log
def parse_log(text: str, wall0: float) -> dict:
    """Read a node's console output: start-up steps (s after ``wall0``, a time.time()).

    Returns ``steps`` {step: s}, ``ready_in_s`` (the node's own figure), ``arm_file`` and
    ``model_file`` it used, ``traceback`` (bool), ``exception`` (the traceback's last line),
    ``where`` (its innermost frame) and ``errors`` (ERROR/FATAL lines).
    """
    out = {"steps": {}, "ready_in_s": None, "arm_file": "", "model_file": "",
           "traceback": "Traceback (most recent call last)" in text, "exception": "",
           "where": "", "errors": []}
    for line in text.splitlines():
        m = LOG_LINE.match(line.strip())
        if not m:
            continue
        severity, stamp, _, message = m.groups()
        at = float(stamp) - wall0
        for step, marker in STEPS + (("interrupted", "interrupted while starting"),):
            if marker in message and step not in out["steps"]:
                out["steps"][step] = at
        if severity in ("ERROR", "FATAL"):
            out["errors"].append(message)
        if (r := re.search(r"ready in ([0-9.]+) s", message)) is not None:
            out["ready_in_s"] = float(r.group(1))
        if (r := re.search(r"joints from (.+?); loading the solver", message)) is not None:
            out["arm_file"] = r.group(1)
        if (r := re.search(r"ready in .*?, model (.+?), base_frame", message)) is not None:
            out["model_file"] = r.group(1)
    if out["traceback"]:
        tail = text[text.rindex("Traceback (most recent call last)"):].splitlines()
        lines = [ln for ln in tail if ln.strip()]
        out["exception"] = lines[-1].strip()[:200] if lines else ""
        frames = [ln.strip() for ln in tail if ln.strip().startswith("File ")]
        out["where"] = frames[-1][:200] if frames else ""
    return out


def phase_at(steps: dict, at: float) -> str:
    """Name the start-up phase a process was in at ``at`` s, from its logged steps."""
    phase = "before 'starting' (interpreter, imports, rclpy init)"
    for step, _ in STEPS:
        if step in steps and steps[step] <= at:
            phase = "running" if step == "ready" else f"after '{step}'"
    return phase


# --------------------------------------------------------------------------- processes
def wait_exit(proc: subprocess.Popen, since: float, timeout: float):
    """Wait up to ``timeout`` s for ``proc`` to exit; s from ``since`` (monotonic) or None."""
    deadline = since + timeout
    try:
        fd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):   # no pidfd (old kernel) or already reaped
        fd = None
    if fd is not None:
        try:
            ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        finally:
            os.close(fd)
        if not ready:
            return None
        at = time.monotonic() - since
        proc.wait()
        return at
    try:
        proc.wait(timeout=max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        return None
    return time.monotonic() - since


def stop(proc: subprocess.Popen, sig=signal.SIGINT, grace: float = GRACE) -> dict:
    """Send ``sig``; SIGKILL only after ``grace`` s. Returns exit_s (from the signal), code."""
    if proc.poll() is not None:
        return {"exit_s": None, "exit_code": proc.returncode, "killed": False,
                "note": "had exited by itself"}
    sent = time.monotonic()
    proc.send_signal(sig)
    exit_s = wait_exit(proc, sent, grace)
    killed = exit_s is None
    if killed:
        proc.kill()
        proc.wait()
    return {"exit_s": exit_s, "exit_code": proc.returncode, "killed": killed, "note": ""}


def node_command(namespace: str, arm: str, model: str, params=None) -> list:
    """Build the ik_node command: this interpreter, ``-m ik_nn.ros.ik_node``, ROS arguments."""
    cmd = [sys.executable, "-m", NODE_MODULE, "ik_node", "--ros-args", "-r", f"__ns:={namespace}",
           "-p", f"arm:={arm}", "-p", f"model:={model}"]
    for key, value in (params or {}).items():
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        cmd += ["-p", f"{key}:={text}"]
    return cmd


def reachable(arm, fraction: float = 0.0):
    """Return a joint vector (dof,) inside the limits and its pose (4, 4), base frame, m."""
    k = np.arange(arm.dof)
    u = (0.3 + 0.4 * ((k * 0.618 + fraction) % 1.0))
    q = arm.lower + (arm.upper - arm.lower) * u
    return q, arm.fk(q)[0]


def status_dict(st) -> dict:
    """Return the key-values of one DiagnosticStatus, with its level (int) and message."""
    out = {kv.key: kv.value for kv in st.values}
    level = st.level
    out["level"] = level[0] if isinstance(level, (bytes, bytearray)) else int(level)
    out["message"] = st.message
    return out


def as_float(text) -> float | None:
    """Return the float of a status value ('' or non-numbers give None)."""
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


# --------------------------------------------------------------------------- probe
class Endpoints:
    """The probe's publishers and recorders on one node's namespace (times: monotonic s)."""

    def __init__(self, node, namespace: str):
        from diagnostic_msgs.msg import DiagnosticArray
        from geometry_msgs.msg import PoseStamped
        from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
        from sensor_msgs.msg import JointState

        qos = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=10,
                         reliability=ReliabilityPolicy.RELIABLE)
        keep = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1000,
                          reliability=ReliabilityPolicy.RELIABLE)
        self.node = node
        self.statuses: list = []   # (t, DiagnosticArray)
        self.commands: list = []   # (t, JointState)
        self.target = node.create_publisher(PoseStamped, f"{namespace}/target_pose", qos)
        self.joints = node.create_publisher(JointState, f"{namespace}/joint_states", qos)
        self.subs = [
            node.create_subscription(DiagnosticArray, f"{namespace}/ik_status",
                                     lambda m: self.statuses.append((time.monotonic(), m)),
                                     keep),
            node.create_subscription(JointState, f"{namespace}/joint_command",
                                     lambda m: self.commands.append((time.monotonic(), m)),
                                     keep),
        ]

    def destroy(self):
        """Remove the publishers and subscriptions from the probe node."""
        for pub in (self.target, self.joints):
            self.node.destroy_publisher(pub)
        for sub in self.subs:
            self.node.destroy_subscription(sub)


class Probe:
    """The measuring side: one rclpy node in this process, in its own rclpy context.

    It is created before any node is started, so its own start-up is never counted. Sets
    ``ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST`` in this process's environment (rcl reads it).
    """

    def __init__(self, domain_id: int):
        import rclpy
        from rclpy.context import Context
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.signals import SignalHandlerOptions

        os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
        os.environ.pop("ROS_STATIC_PEERS", None)
        self.context = Context()
        rclpy.init(context=self.context, domain_id=domain_id,
                   signal_handler_options=SignalHandlerOptions.NO)
        self.node = rclpy.create_node(f"startup_probe_{os.getpid()}_{next(PROBE_NAMES)}",
                                      context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self._last_ns = 0

    def close(self):
        """Destroy the probe node and shut its context down."""
        self.executor.shutdown()
        self.node.destroy_node()
        self.context.try_shutdown()

    def spin(self, timeout: float):
        """Run the probe's callbacks for at most ``timeout`` s (returns after one)."""
        self.executor.spin_once(timeout_sec=max(0.0, timeout))

    def target(self, T):
        """Return a PoseStamped of the (4, 4) pose ``T`` with a unique stamp, and the stamp."""
        from ..ros import conversions as rc

        self._last_ns = max(time.time_ns(), self._last_ns + 1)
        stamp = rc.ns_to_stamp(self._last_ns)
        return (rc.pose_stamped(T, BASE_FRAME, stamp),
                f"{stamp.sec}.{stamp.nanosec:09d}")

    def first_answer(self, ep: Endpoints, proc, T, t0: float, timeout: float) -> dict:
        """Publish ``T`` every 20 ms until the first ik_status; times in s from ``t0``."""
        sent = 0
        matched = None     # when this probe's target publisher first saw the node's subscriber
        next_pub = time.monotonic()
        while not ep.statuses:
            now = time.monotonic()
            if matched is None and ep.target.get_subscription_count() > 0:
                matched = now - t0
            if proc.poll() is not None:
                return {"answered": False, "targets_sent": sent,
                        "error": f"exited with code {proc.returncode} before answering"}
            if now - t0 > timeout:
                return {"answered": False, "targets_sent": sent,
                        "error": f"no answer within {timeout:g} s"}
            if now >= next_pub:
                ep.target.publish(self.target(T)[0])
                sent += 1
                next_pub = max(next_pub + PUBLISH_PERIOD, now)
            self.spin(next_pub - time.monotonic())
        t_status, first = ep.statuses[0]
        last = status_dict(first.status[-1])
        deadline = time.monotonic() + 5.0   # its command is published just before the status
        while not ep.commands and last.get("code") == "solved" and time.monotonic() < deadline:
            self.spin(0.01)
        return {"answered": True, "targets_sent": sent, "matched_s": matched,
                "first_status_s": t_status - t0,
                "first_command_s": ep.commands[0][0] - t0 if ep.commands else None,
                "first_code": last.get("code", ""),
                "first_solve_ms": as_float(last.get("solve_time_ms"))}

    def ask(self, ep: Endpoints, proc, T, path: str, burst: int = 1) -> dict:
        """Publish ``burst`` targets at once; the status of the last one (ms timings)."""
        seen = len(ep.statuses)
        keys = []
        sent = time.monotonic()
        for _ in range(burst):
            msg, key = self.target(T)
            ep.target.publish(msg)
            keys.append(key)
        while True:
            found = {}
            for _, arr in ep.statuses[seen:]:
                for st in arr.status:
                    d = status_dict(st)
                    if d.get("target_stamp") in keys:
                        found[d["target_stamp"]] = d
            if keys[-1] in found:
                d = found[keys[-1]]
                return {"path": path, "code": d.get("code", ""), "level": d["level"],
                        "seed": d.get("seed", ""),
                        "solve_time_ms": as_float(d.get("solve_time_ms")),
                        "answer_ms": (time.monotonic() - sent) * 1e3,
                        "superseded": sum(v.get("code") == "superseded"
                                          for v in found.values())}
            if proc.poll() is not None or time.monotonic() - sent > ASK_TIMEOUT:
                return {"path": path, "error": "no status" + (
                    f" (node exited with {proc.returncode})" if proc.poll() is not None
                    else f" within {ASK_TIMEOUT:.0f} s")}
            self.spin(0.01)

    def callback_checks(self, ep: Endpoints, proc, arm) -> list:
        """Send each kind of target the node's callback handles; one record per kind."""
        from ..ros import conversions as rc

        _, T_new = reachable(arm, 0.25)
        far = np.eye(4)
        far[:3, 3] = arm.base[:3, 3] + np.array([10.0, 0.0, 0.0])
        nowhere = np.eye(4)
        nowhere[:3, 3] = arm.base[:3, 3]
        out = [self.ask(ep, proc, T_new, "new reachable target, no joint_states yet"),
               self.ask(ep, proc, far, "out of reach (10 m away)"),
               self.ask(ep, proc, nowhere, "in reach, no solution (base origin)"),
               self.ask(ep, proc, T_new, "burst of 10 (latest wins)", burst=10)]
        q_cur, _ = reachable(arm, 0.5)
        q_goal = np.clip(q_cur + 0.05, arm.lower, arm.upper)
        T_goal = arm.fk(q_goal)[0]
        deadline = time.monotonic() + ASK_TIMEOUT
        while ep.joints.get_subscription_count() == 0 and time.monotonic() < deadline:
            self.spin(0.01)
        record = {"path": "seeded by joint_states", "error": "joint_states never matched"}
        for _ in range(5):   # joint_states and targets are different topics: no order
            ep.joints.publish(rc.joint_state(arm.joint_names, q_cur))
            record = self.ask(ep, proc, T_goal, "seeded by joint_states")
            if record.get("seed") == "joint_states" or "error" in record:
                break
        out.append(record)
        return out


# --------------------------------------------------------------------------- installs
@dataclass
class Install:
    """One fresh install: ``root`` (the folder checked for writes), what goes on the paths."""

    layout: str
    root: str
    pythonpath: str = ""
    ament_prefix: str = ""
    build_s: float | None = None
    origin: str = ""
    error: str = ""


class StartupBench:
    """Installs, node starts and signals, all in one temporary ``workdir``.

    Args:
        workdir: an empty folder (it must not be inside the source tree).
        domain_id: ROS_DOMAIN_ID of the probe and the nodes.
        source: the package's source tree.
        timeout: s to wait for a node's first answer.
        grace: s between SIGINT and SIGKILL.
    """

    def __init__(self, workdir, domain_id: int, source=REPO, timeout: float = ANSWER_TIMEOUT,
                 grace: float = GRACE):
        self.workdir = Path(workdir)
        self.domain_id = int(domain_id)
        self.source = Path(source).resolve()
        self.timeout = float(timeout)
        self.grace = float(grace)
        self.cwd = self.workdir / "cwd"       # the nodes' working folder
        self.home = self.workdir / "home"     # their HOME and ROS_LOG_DIR
        self.logs = self.workdir / "logs"     # their console output
        for folder in (self.cwd, self.home, self.logs):
            folder.mkdir(parents=True, exist_ok=True)
        self._probe = None
        self._names = itertools.count()

    @property
    def probe(self) -> Probe:
        """The probe node, created on first use (before the first node is started)."""
        if self._probe is None:
            self._probe = Probe(self.domain_id)
        return self._probe

    def close(self):
        """Shut the probe down."""
        if self._probe is not None:
            self._probe.close()
            self._probe = None

    def namespace(self) -> str:
        """Return a namespace no other run uses."""
        return f"/startup{os.getpid()}_{next(self._names)}"

    # ------------------------------------------------------------------ installs
    def install(self, layout: str, tag: str = "") -> Install:
        """Install the package fresh with ``layout`` (target, prefix, colcon) and check it."""
        base = self.workdir / f"{layout}{tag}"
        base.mkdir(parents=True)
        os.chmod(self.workdir, 0o755)   # others may read (read-only runs), never write
        os.chmod(base, 0o755)
        src = base / "src" / "ik_nn"
        copy_source(self.source, src)
        env = dict(os.environ)
        pip = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation",
               "--no-index", "--no-cache-dir", "--disable-pip-version-check",
               "--no-warn-script-location"]
        if layout == "target":
            dest = base / "install"
            cmd = pip + ["--target", str(dest), str(src)]
        elif layout == "prefix":
            dest = base / "install"
            # --ignore-installed: without it pip uninstalls this environment's own ik_nn
            cmd = pip + ["--prefix", str(dest), "--ignore-installed", str(src)]
        elif layout == "colcon":
            dest = base / "install" / "ik_nn"
            exe = shutil.which("colcon") or str(Path(sys.executable).with_name("colcon"))
            if not Path(exe).is_file():
                return Install(layout, str(dest), error="colcon is not installed")
            cmd = [exe, "--log-base", str(base / "log"), "build", "--base-paths",
                   str(base / "src"), "--build-base", str(base / "build"), "--install-base",
                   str(base / "install"), "--event-handlers", "console_direct-"]
            for key in ("AMENT_PREFIX_PATH", "COLCON_PREFIX_PATH"):
                env.pop(key, None)
        else:
            raise ValueError(f"unknown layout {layout!r}; one of {LAYOUTS}")
        inst = Install(layout, str(dest))
        t = time.monotonic()
        done = subprocess.run(cmd, cwd=base, env=env, capture_output=True, text=True,
                              timeout=900)
        inst.build_s = time.monotonic() - t
        if done.returncode != 0:
            inst.error = (f"install failed (exit {done.returncode}): "
                          + (done.stderr or done.stdout).strip()[-600:])
            return inst
        if layout == "target":
            inst.pythonpath = str(dest)
        else:
            site = sorted(dest.glob("lib*/python*/site-packages/ik_nn"))
            if not site:
                inst.error = f"no ik_nn package below {dest}/lib*/python*/site-packages"
                return inst
            inst.pythonpath = str(site[0].parent)
        if layout == "colcon":
            inst.ament_prefix = str(dest)
        self.check_origin(inst)
        return inst

    def check_origin(self, inst: Install):
        """Find which ik_nn a node would import (without importing it); error if not inst's."""
        code = ("import importlib.util as u; s = u.find_spec('ik_nn'); "
                "print(s.origin if s else '')")
        done = subprocess.run([sys.executable, "-c", code], cwd=self.cwd,
                              env=self.node_env(inst), capture_output=True, text=True,
                              timeout=120)
        inst.origin = done.stdout.strip()
        if not inst.origin or not Path(inst.origin).is_relative_to(inst.root):
            inst.error = (f"a node would import ik_nn from {inst.origin or 'nowhere'}, not "
                          f"from the install {inst.root}: {done.stderr.strip()[-300:]}")

    def node_env(self, inst: Install) -> dict:
        """Return the environment of a node started from ``inst`` (its folder first on paths)."""
        env = dict(os.environ)
        for key in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX", "PYTHONSTARTUP",
                    "ROS_STATIC_PEERS"):
            env.pop(key, None)
        env["PYTHONPATH"] = os.pathsep.join(
            [inst.pythonpath] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
        if inst.ament_prefix:
            env["AMENT_PREFIX_PATH"] = os.pathsep.join(
                [inst.ament_prefix]
                + ([env["AMENT_PREFIX_PATH"]] if env.get("AMENT_PREFIX_PATH") else []))
        env.update(ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST", ROS_DOMAIN_ID=str(self.domain_id),
                   RCUTILS_LOGGING_BUFFERED_STREAM="0", RCUTILS_COLORIZED_OUTPUT="0",
                   RCUTILS_CONSOLE_OUTPUT_FORMAT=LOG_FORMAT, PYTHONUNBUFFERED="1",
                   HOME=str(self.home), ROS_LOG_DIR=str(self.home / "ros_log"))
        return env

    # ------------------------------------------------------------------ starts
    def start(self, inst: Install, label: str, arm: str = "ur5", model: str = "bundled",
              params=None, checks: bool = True, runner=None, peer: str = "new") -> dict:
        """Start a node from ``inst``, wait for its first answer, check callbacks, SIGINT it.

        ``peer``: "new" measures with a probe node created for this start (just before the
        node), "shared" with the one probe that saw the earlier nodes (what a long-running
        peer sees of a restarted node: discovery of a restarted participant can lag). The
        probe's own start-up is never counted. ``runner``: a command prefix that runs the
        measurement as another user (then this process only snapshots the install before and
        after). Times in s from process start; ``written``: changes in the install folder;
        ``home_written``: files the node created in its HOME / ROS_LOG_DIR.
        """
        run = {"label": label, "layout": inst.layout, "arm": arm, "model": model,
               "params": dict(params or {}), "answered": False}
        if inst.error:
            run["error"] = f"not started: {inst.error}"
            return run
        before = snapshot(inst.root)
        home_before = snapshot(self.home)
        if runner:
            run.update(self._start_as(runner, inst, label, arm, model, params, checks))
        else:
            run.update(self._start(inst, arm, model, params, checks, peer))
            run["home_written"] = [c for c in changes(home_before, snapshot(self.home))
                                   if c.startswith("+") and "ros_log" not in c]
        run["written"] = changes(before, snapshot(inst.root))
        return run

    def _start(self, inst, arm, model, params, checks, peer) -> dict:
        from .. import load_arm

        arm_obj = load_arm(arm)
        _, T = reachable(arm_obj)
        if peer not in ("new", "shared"):
            raise ValueError(f"peer must be 'new' or 'shared', got {peer!r}")
        probe = self.probe if peer == "shared" else Probe(self.domain_id)
        ns = self.namespace()
        ep = Endpoints(probe.node, ns)
        log_path = self.logs / f"{ns.strip('/')}.log"
        res = {"namespace": ns, "log": str(log_path), "peer": peer}
        with open(log_path, "wb") as out:
            wall0, t0 = time.time(), time.monotonic()
            proc = subprocess.Popen(node_command(ns, arm, model, params), cwd=self.cwd,
                                    env=self.node_env(inst), stdout=out,
                                    stderr=subprocess.STDOUT)
        try:
            res.update(probe.first_answer(ep, proc, T, t0, self.timeout))
            if res["answered"] and checks:
                res["callbacks"] = probe.callback_checks(ep, proc, arm_obj)
        finally:
            res.update(stop(proc, signal.SIGINT, self.grace))
            ep.destroy()
            if probe is not self._probe:
                probe.close()
        text = log_path.read_text(errors="replace")
        res.update(parse_log(text, wall0))
        if not res["answered"] or res["traceback"] or res["errors"]:
            res["tail"] = text.strip().splitlines()[-12:]
        return res

    def _start_as(self, runner, inst, label, arm, model, params, checks) -> dict:
        """Run :meth:`start` in a helper process under ``runner`` (probe and node as that user).

        Fast DDS's shared-memory transport does not connect processes of different users on
        one host, so the probe must run as the node's user too.
        """
        folder = Path(tempfile.mkdtemp(prefix="user_", dir=self.workdir))
        os.chmod(folder, 0o755)
        if os.geteuid() == 0:
            os.chown(folder, UNPRIVILEGED_ID, UNPRIVILEGED_ID)
        spec = folder / "spec.json"
        spec.write_text(json.dumps({
            "install": asdict(inst), "label": label, "arm": arm, "model": model,
            "params": params or {}, "checks": checks, "domain_id": self.domain_id,
            "timeout": self.timeout, "grace": self.grace, "workdir": str(folder / "w")}))
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(   # this bench, however it was found
            [str(Path(__file__).resolve().parents[2])]
            + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
        env["HOME"] = str(folder)
        cmd = list(runner) + [sys.executable, "-m", "ik_nn.bench.startup", "--single-start",
                              str(spec)]
        done = subprocess.run(cmd, cwd=folder, env=env, capture_output=True, text=True,
                              timeout=self.timeout + 4 * self.grace + 120)
        lines = done.stdout.strip().splitlines()
        try:
            res = json.loads(lines[-1])
        except (IndexError, json.JSONDecodeError):
            return {"answered": False, "error": f"helper failed (exit {done.returncode}): "
                    + done.stderr.strip()[-800:]}
        res["runner"] = " ".join(runner)
        return res

    def signal_run(self, inst: Install, sig=signal.SIGINT, at=0.1, arm: str = "ur5") -> dict:
        """Start a node and send it ``sig`` while it starts; how it ends.

        ``at``: s after the start (float) or the log step right after which (str, a STEPS
        name). Returns the time from the signal to the exit (s), the exit code, the phase the
        node was in and whether it printed a traceback.
        """
        name = signal.Signals(sig).name
        run = {"signal": name, "at": at, "layout": inst.layout}
        if inst.error:
            run["error"] = f"not started: {inst.error}"
            return run
        ns = self.namespace()
        log_path = self.logs / f"{ns.strip('/')}.log"
        before = snapshot(inst.root)
        with open(log_path, "wb") as out:
            wall0, t0 = time.time(), time.monotonic()
            proc = subprocess.Popen(node_command(ns, arm, "bundled"), cwd=self.cwd,
                                    env=self.node_env(inst), stdout=out,
                                    stderr=subprocess.STDOUT)
        try:
            if isinstance(at, str):
                marker = dict(STEPS)[at]
                while (marker not in log_path.read_text(errors="replace")
                       and proc.poll() is None and time.monotonic() - t0 < self.timeout):
                    time.sleep(0.002)
            else:
                time.sleep(max(0.0, t0 + float(at) - time.monotonic()))
            run["signal_s"] = time.monotonic() - t0
            signalled = time.time() - wall0
            run.update(stop(proc, sig, self.grace))
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        text = log_path.read_text(errors="replace")
        log = parse_log(text, wall0)
        run.update(phase=phase_at(log["steps"], signalled), traceback=log["traceback"],
                   exception=log["exception"], where=log["where"], steps=log["steps"],
                   written=changes(before, snapshot(inst.root)))
        return run

    def fresh_calls(self, inst: Install, arm: str = "ur5", model: str = "bundled") -> dict:
        """First and second call (ms) of each IKSolver path in a fresh process of ``inst``."""
        if inst.error:
            return {"error": f"not run: {inst.error}"}
        before = snapshot(inst.root)
        done = subprocess.run([sys.executable, "-c", FRESH_CALLS, arm, model], cwd=self.cwd,
                              env=self.node_env(inst), capture_output=True, text=True,
                              timeout=300)
        try:
            out = json.loads(done.stdout.strip().splitlines()[-1])
        except (IndexError, json.JSONDecodeError):
            return {"error": f"exit {done.returncode}: {done.stderr.strip()[-600:]}"}
        out["arm"], out["model"] = arm, model
        out["written"] = changes(before, snapshot(inst.root))
        return out

    # ------------------------------------------------------------------ read-only
    def read_only_runner(self, inst: Install):
        """How to run a node that cannot write its install: (command prefix or None, note).

        As root: uid/gid 65534 via setpriv (with CAP_DAC_READ_SEARCH only, reading any file
        and writing none, when the interpreter sits in a folder only root may enter), else
        runuser. Otherwise the install is made read-only with chmod (prefix ``[]``).
        """
        code = "import os, sys, numpy, rclpy; print(sys.version, os.__file__)"
        check = [sys.executable, "-c", code]
        same = f"{sys.version} {os.__file__}"   # the very same interpreter, not a look-alike
        if os.geteuid() != 0:
            for dirpath, dirnames, filenames in os.walk(inst.root):
                for name in dirnames + filenames + ["."]:
                    path = Path(dirpath, name)
                    if not path.is_symlink():
                        path.chmod(path.stat().st_mode & ~0o222)
            return [], "this user, with the install made read-only (chmod a-w)"
        candidates = []
        if shutil.which("setpriv"):
            base = [shutil.which("setpriv"), f"--reuid={UNPRIVILEGED_ID}",
                    f"--regid={UNPRIVILEGED_ID}", "--clear-groups"]
            candidates += [
                (base + ["--"], f"uid/gid {UNPRIVILEGED_ID} (setpriv)"),
                (base + ["--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search",
                         "--"],
                 f"uid/gid {UNPRIVILEGED_ID} (setpriv) with CAP_DAC_READ_SEARCH only: it reads "
                 "any file and writes none (this interpreter is in a folder only root may "
                 "enter)")]
        if shutil.which("runuser"):
            candidates.append(([shutil.which("runuser"), "-u", "nobody", "--"],
                               "nobody (runuser)"))
        for prefix, note in candidates:
            done = subprocess.run(prefix + check, cwd="/", capture_output=True, text=True,
                                  timeout=120)
            if done.returncode == 0 and done.stdout.strip() == same:
                return prefix, note
        return None, ("no way to run this interpreter as an unprivileged user (setpriv or "
                      "runuser missing, or the interpreter unreadable)")

    def can_write(self, prefix, folder) -> bool:
        """Tell whether a process started with ``prefix`` can create a file in ``folder``."""
        probe = Path(folder) / ".startup_write_probe"
        code = "import pathlib, sys; pathlib.Path(sys.argv[1]).touch()"
        done = subprocess.run(list(prefix) + [sys.executable, "-c", code, str(probe)],
                              cwd="/", capture_output=True, timeout=120)
        if probe.exists():
            probe.unlink()
        return done.returncode == 0


def restore_write(root):
    """Give the owner write permission back below ``root`` (after a chmod a-w read-only run)."""
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames + ["."]:
            path = Path(dirpath, name)
            if not path.is_symlink():
                path.chmod(path.stat().st_mode | 0o200)


# --------------------------------------------------------------------------- the whole run
def measure(bench: StartupBench, args) -> dict:
    """Take every measurement of the report, in order (see the module docstring)."""
    res = {"installs": [], "fresh": [], "warm": [], "calls": None, "signals": [],
           "read_only": []}
    main_inst, answered = None, []
    for layout in args.layout:
        progress(f"fresh install: {layout}")
        inst = bench.install(layout)
        res["installs"].append(asdict(inst))
        progress(f"  first start after the {layout} install")
        run = bench.start(inst, f"{layout}: first start", args.arm[0], args.model[0])
        res["fresh"].append(run)
        if run["answered"]:
            answered.append(layout)
            main_inst = main_inst or inst
    if main_inst is None:
        progress("no install answered: nothing else can be measured")
        return res
    res["main_layout"] = main_inst.layout
    for arm, model in itertools.product(args.arm, args.model):
        for i in range(args.restarts):
            progress(f"restart {i + 1}/{args.restarts}: {arm}, model {model}")
            res["warm"].append(bench.start(main_inst, f"{arm} / {model}", arm, model))
    for i in range(args.restarts):
        progress(f"restart {i + 1}/{args.restarts} seen by a long-lived peer")
        res["warm"].append(bench.start(main_inst, f"{args.arm[0]} / {args.model[0]} / "
                                       "long-lived peer", args.arm[0], args.model[0],
                                       peer="shared"))
    progress("restart with position_only")
    res["warm"].append(bench.start(main_inst, f"{args.arm[0]} / {args.model[0]} / "
                                   "position_only", args.arm[0], args.model[0],
                                   {"position_only": True}))
    progress("IKSolver first calls in a fresh process")
    res["calls"] = bench.fresh_calls(main_inst, args.arm[0], args.model[0])
    for d in args.sigint_delays:
        progress(f"SIGINT {d} s after the start")
        res["signals"].append(bench.signal_run(main_inst, signal.SIGINT, d, args.arm[0]))
    for step, _ in STEPS:
        progress(f"SIGINT right after '{step}'")
        res["signals"].append(bench.signal_run(main_inst, signal.SIGINT, step, args.arm[0]))
    progress(f"SIGTERM {args.sigterm_delay} s after the start")
    res["signals"].append(bench.signal_run(main_inst, signal.SIGTERM, args.sigterm_delay,
                                           args.arm[0]))
    if not args.no_read_only:
        res["read_only"] = [read_only_run(bench, layout, args) for layout in answered]
    return res


def read_only_run(bench: StartupBench, layout: str, args) -> dict:
    """Install fresh and start it first as a user who cannot write the install."""
    progress(f"read-only: fresh {layout} install, started by an unprivileged user")
    inst = bench.install(layout, "-read-only")
    out = {"layout": layout, "install": asdict(inst)}
    if inst.error:
        out["error"] = inst.error
        return out
    prefix, note = bench.read_only_runner(inst)
    out["user"] = note
    if prefix is None:
        out["error"] = f"skipped: {note}"
        return out
    try:
        out["package_writable"] = bench.can_write(prefix, Path(inst.origin).parent)
        if out["package_writable"]:
            out["error"] = "the package folder is writable for that user: not a read-only run"
            return out
        out["run"] = bench.start(inst, f"{layout}: read-only first start", args.arm[0],
                                 args.model[0], runner=prefix or None)
    finally:
        if not prefix:
            restore_write(inst.root)
    return out


# --------------------------------------------------------------------------- verdicts
def verdicts(res: dict) -> list:
    """Check the issue's requirements against the measurements: [requirement, measured, ok]."""
    out = []
    for run in res["fresh"]:
        t = run.get("first_status_s")
        out.append([f"first answer ≤ {FRESH_LIMIT_S:g} s after a fresh install "
                    f"({run['layout']})",
                    f"{t:.2f} s" if t is not None else run.get("error", "no answer"),
                    t is not None and t <= FRESH_LIMIT_S])
    groups = {}
    for run in res["warm"]:
        groups.setdefault(run["label"], []).append(run)
    for label, runs in groups.items():
        times = [r.get("first_status_s") for r in runs]
        ok = all(t is not None for t in times)
        med = statistics.median(times) if ok else None
        out.append([f"first answer ≤ {WARM_LIMIT_S:g} s when started again ({label}, median)",
                    f"{med:.2f} s" if ok else "some did not answer",
                    ok and med <= WARM_LIMIT_S])
    runs = all_runs(res)
    solve = [ms for run in runs for ms in callback_times(run)]
    if solve:
        out.append([f"no compilation in callbacks: every solve_time_ms ≤ {CALLBACK_LIMIT_MS:g}",
                    f"max {max(solve):.1f} ms over {len(solve)} targets",
                    max(solve) <= CALLBACK_LIMIT_MS])
    calls = res.get("calls") or {}
    if calls.get("calls"):
        worst = max(c["first_ms"] - c["second_ms"] for c in calls["calls"])
        out.append([f"no compilation on first IKSolver calls: first − second ≤ "
                    f"{CALLBACK_LIMIT_MS:g} ms", f"max {worst:.1f} ms",
                    worst <= CALLBACK_LIMIT_MS])
    if res["signals"]:
        exits = [s.get("exit_s") for s in res["signals"]]
        slow = [s for s in res["signals"] if s.get("exit_s") is None
                or s["exit_s"] > SIGNAL_LIMIT_S]
        out.append([f"a signal during start-up ends the process ≤ {SIGNAL_LIMIT_S:g} s",
                    f"max {max(e for e in exits if e is not None):.2f} s"
                    if any(e is not None for e in exits) else "none measured", not slow])
        dirty = [s for s in res["signals"] if s.get("traceback")]
        out.append(["a signal during start-up never prints a traceback",
                    f"{len(dirty)} of {len(res['signals'])} runs did", not dirty])
    for ro in res.get("read_only") or []:
        run = ro.get("run") or {}
        t = run.get("first_status_s")
        out.append([f"answers where the package folder is read-only ({ro['layout']})",
                    f"{t:.2f} s to the first answer" if t is not None
                    else ro.get("error") or run.get("error", "no answer"),
                    t is not None])
    everything = runs + res["signals"] + ([res["calls"]] if res.get("calls") else [])
    written = [r for r in everything if r.get("written")]
    if runs:
        what = "; ".join(f"{r.get('label') or r.get('signal', 'IKSolver calls')}: "
                         f"{describe_writes(r['written'])}" for r in written[:3])
        out.append(["nothing written into the install folder",
                    f"{len(written)} of {len(everything)} runs wrote" + (
                        f" ({what})" if what else ""), not written])
    answered = [r for r in runs if r.get("answered")]
    if answered:
        missing = sorted({step for r in answered for step, _ in STEPS
                          if step not in r.get("steps", {})})
        out.append(["the node logs its start-up steps",
                    "all of " + ", ".join(s for s, _ in STEPS) if not missing
                    else "missing: " + ", ".join(missing), not missing])
    return out


def all_runs(res: dict) -> list:
    """Return every node start of a result (fresh, warm, read-only)."""
    ro = [r["run"] for r in res.get("read_only") or [] if r.get("run")]
    return res["fresh"] + res["warm"] + ro


def describe_writes(written: list) -> str:
    """Summarise a :func:`changes` list: how many entries, how many are bytecode caches."""
    pyc = [w for w in written if "__pycache__" in w]
    text = f"{len(written)} entries"
    if pyc:
        text += f", {len(pyc)} of them Python bytecode caches (__pycache__)"
    return text + ", e.g. " + ", ".join(written[:2])


def callback_rows(runs: list) -> list:
    """Rows of the callbacks table: per kind of target, codes, seeds and solve_time_ms."""
    kinds = {}
    for run in runs:
        if run.get("answered"):
            kinds.setdefault("first target (no joint_states)", []).append(
                {"code": run.get("first_code", ""), "solve_time_ms": run.get("first_solve_ms"),
                 "label": run["label"]})
        for c in run.get("callbacks", []):
            kinds.setdefault(c["path"], []).append(dict(c, label=run["label"]))
    first = next((r["label"] for r in runs if r.get("answered")), "")
    rows = []
    for kind, recs in kinds.items():
        times = [r["solve_time_ms"] for r in recs if r.get("solve_time_ms") is not None]
        at_first = [r["solve_time_ms"] for r in recs if r["label"] == first]
        problems = sorted({r["error"] for r in recs if r.get("error")})
        rows.append([kind, ", ".join(sorted({r.get("code", "") for r in recs} - {""})),
                     ", ".join(sorted({r.get("seed", "") for r in recs} - {""})) or "—",
                     fs(at_first[0] if at_first else None),
                     fs(statistics.median(times) if times else None),
                     fs(max(times) if times else None), len(recs), "; ".join(problems)])
    return rows


def callback_times(run: dict) -> list:
    """solve_time_ms of a run's first answer and of its callback checks."""
    out = [run["first_solve_ms"]] if run.get("first_solve_ms") is not None else []
    return out + [c["solve_time_ms"] for c in run.get("callbacks", [])
                  if c.get("solve_time_ms") is not None]


# --------------------------------------------------------------------------- report
def fs(x, digits: int = 2) -> str:
    """Format seconds (or any number) as text; '—' for None."""
    return "—" if x is None else f"{x:.{digits}f}"


def table(header: list, rows: list) -> str:
    """Format a Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def median(runs: list, key: str) -> str:
    """Format the median of ``key`` over the runs that have it ('—' if none)."""
    vals = [r[key] for r in runs if r.get(key) is not None]
    return fs(statistics.median(vals)) if vals else "—"


def start_row(run: dict) -> list:
    """Format one node start as a table row (s from process start)."""
    steps = run.get("steps", {})
    written = run.get("written", [])
    return [run["label"], fs(run.get("matched_s")), fs(run.get("first_status_s")),
            fs(run.get("first_command_s")),
            fs(run.get("ready_in_s")),
            " / ".join(fs(steps.get(s)) for s, _ in STEPS),
            fs(max(callback_times(run), default=None), 1),
            f"{fs(run.get('exit_s'))} ({run.get('exit_code', '—')}"
            + (", killed" if run.get("killed") else "") + ")",
            f"{len(written)}: {', '.join(written[:3])}" if written else "nothing",
            run.get("error", "") + (" Traceback" if run.get("traceback") else "")]


START_HEADER = ["run", "probe matched s", "first status s", "first command s",
                "node's 'ready in' s",
                "logged: starting / solver / warm-up / ready s", "max solve_time_ms",
                "SIGINT → exit s (code)", "written into install", "problem"]


def report(ctx: dict, res: dict, checks: list, settings: dict) -> str:
    """Format the whole Markdown report."""
    out = ["# ik_node start-up", "",
           f"Machine: {ctx['cpu'] or 'unknown CPU'}, {ctx['cores']} cores usable, Python "
           f"{ctx['python']}, euid {ctx['euid']}; load average (1/5/15 min) at start "
           f"{ctx['load_start']}, at end {ctx.get('load_end')}; {ctx['date']}.",
           f"Source: {settings['source']} ({settings['revision'] or 'no git revision'}); "
           f"ROS_DOMAIN_ID {settings['domain_id']}, discovery "
           "LOCALHOST. Times in s from process start (just before Popen) unless marked. Each "
           "start has a probe node of its own, created before the node is started (one series "
           "shares a long-lived probe instead). The OS page cache is not dropped.", ""]
    out += ["## Fresh installs (first start after each)", "",
            table(["layout", "install (build) s", "ik_nn imported from", "problem"],
                  [[i["layout"], fs(i["build_s"]), i["origin"] or "—", i["error"][:300]]
                   for i in res["installs"]]), ""]
    rows = [start_row(r) for r in res["fresh"]]
    out += [table(START_HEADER, rows), ""]
    for run in res["fresh"]:
        if run.get("arm_file"):
            out.append(f"- {run['label']}: arm file {run['arm_file']}, model "
                       f"{run.get('model_file') or '—'}")
        if run.get("tail"):
            out.append(f"- {run['label']}: last output lines:")
            out += ["      " + ln for ln in run["tail"]]
    out.append("")
    if res["warm"]:
        out += ["## Started again (warm)", "", table(START_HEADER,
                                                     [start_row(r) for r in res["warm"]]), ""]
        groups = {}
        for run in res["warm"]:
            groups.setdefault(run["label"], []).append(run)
        med_rows = [[label, len(runs)] + [median(runs, key) for key in (
            "first_status_s", "first_command_s", "ready_in_s", "exit_s")]
            for label, runs in groups.items()]
        out += [table(["config", "runs", "median first status s", "median first command s",
                       "median 'ready in' s", "median SIGINT → exit s"], med_rows), ""]
        lags = {label: [r["matched_s"] - r["steps"]["ready"] for r in runs
                        if r.get("matched_s") is not None and "ready" in r.get("steps", {})]
                for label, runs in groups.items()}
        out += ["Discovery lag (probe matched − node logged 'ready', s; DDS, not the node): "
                + "; ".join(f"{label}: median {fs(statistics.median(v))}, max {fs(max(v))}"
                            for label, v in lags.items() if v), ""]
    cb_rows = callback_rows(all_runs(res))
    if cb_rows:
        out += ["## No compilation in callbacks (solve_time_ms the node reports per target)",
                "", "Per kind of target, over every node start (each start's first target of "
                "that kind, in a fresh process); 'first fresh start' = the first start that "
                "answered after a fresh install.", "",
                table(["target", "codes", "seeds", "first fresh start ms", "median ms", "max ms",
                       "starts", "problems"], cb_rows), ""]
    calls = res.get("calls")
    if calls:
        out += ["## IKSolver in a fresh process of the install (no node)", ""]
        if calls.get("error"):
            out += [calls["error"], ""]
        else:
            out += [f"import ik_nn {calls['import_ms']:.0f} ms, IKSolver({calls['arm']!r}, "
                    f"model {calls['model']}) {calls['solver_ms']:.0f} ms; {calls['origin']}", "",
                    table(["path", "first call ms", "second call ms"],
                          [[c["path"], fs(c["first_ms"], 2), fs(c["second_ms"], 2)]
                           for c in calls["calls"]]), ""]
    if res["signals"]:
        out += ["## Signals during start-up", "",
                table(["signal", "sent at", "phase then", "→ exit s", "exit code", "killed",
                       "Traceback", "written"],
                      [[s["signal"], (f"{s['signal_s']:.2f} s" if isinstance(s["at"], str)
                                      else f"{s['at']} s") + (
                          f" (after '{s['at']}')" if isinstance(s["at"], str) else ""),
                        s.get("phase", ""), fs(s.get("exit_s")), s.get("exit_code", "—"),
                        "yes" if s.get("killed") else "no",
                        (f"yes: {s['exception']} at {s['where']}" if s.get("traceback")
                         else "no"), len(s.get("written", []))]
                       for s in res["signals"]]), ""]
    if res.get("read_only"):
        out += ["## Read-only package folder (a fresh install per layout, first start)", ""]
        for ro in res["read_only"]:
            if ro.get("user"):
                out.append(f"- {ro['layout']}: user {ro['user']}; it can write into the "
                           f"package folder: {ro.get('package_writable')}.")
            if ro.get("error"):
                out.append(f"- {ro['layout']}: problem: {ro['error']}")
        runs = [ro["run"] for ro in res["read_only"] if ro.get("run")]
        if runs:
            out += ["", table(START_HEADER, [start_row(r) for r in runs])]
            for r in runs:
                out += ["      " + ln for ln in r.get("tail", [])]
        out.append("")
    homes = sorted({c for r in all_runs(res) for c in r.get("home_written", [])
                    if not c.endswith("/")})
    if homes:
        out += ["Files the nodes created in their HOME (not the install): "
                + ", ".join(homes[:8]), ""]
    out += ["## The issue's requirements", "",
            table(["requirement", "measured", "met"],
                  [[a, b, "yes" if c else "**NO**"] for a, b, c in checks]), ""]
    return "\n".join(out)


# --------------------------------------------------------------------------- command line
def floats(text: str) -> list:
    """Parse comma-separated floats (s)."""
    return [float(x) for x in text.split(",") if x.strip()]


def add_arguments(parser: argparse.ArgumentParser):
    """Add the start-up bench's options to ``parser`` (also for ``ik-nn bench --startup``)."""
    parser.add_argument("--source", default=str(REPO),
                        help="the package's source tree to install (default: %(default)s)")
    parser.add_argument("--layout", action="append", choices=LAYOUTS,
                        help="fresh install layout(s), repeatable (default: all of "
                        f"{', '.join(LAYOUTS)}); the first that answers is used for the rest")
    parser.add_argument("--arm", action="append",
                        help="arm(s) for the restarts, repeatable (default: ur5)")
    parser.add_argument("--model", action="append",
                        help="model parameter(s) for the restarts: bundled, none or a path; "
                        "repeatable (default: bundled)")
    parser.add_argument("--restarts", type=int, default=5,
                        help="restarts per arm and model (default: %(default)s)")
    parser.add_argument("--sigint-delays", type=floats, default=list(DELAYS),
                        help="s after the start to send SIGINT, comma-separated "
                        "(default: %(default)s)")
    parser.add_argument("--sigterm-delay", type=float, default=SIGTERM_DELAY,
                        help="s after the start to send SIGTERM (default: %(default)s)")
    parser.add_argument("--no-read-only", action="store_true",
                        help="skip the read-only run")
    parser.add_argument("--timeout", type=float, default=ANSWER_TIMEOUT,
                        help="s to wait for a node's first answer (default: %(default)s)")
    parser.add_argument("--domain-id", type=int, default=None,
                        help="ROS_DOMAIN_ID (default: 150 + pid %% 50)")
    parser.add_argument("--json", metavar="PATH", help="also write every figure as JSON")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary folder (installs, node logs)")
    parser.add_argument("--single-start", metavar="SPEC", help=argparse.SUPPRESS)


def run(args) -> int:
    """Measure, print the report; 0 when every requirement is met, 1 if not, 2 on bad input."""
    if args.single_start:
        return single_start(args.single_start)
    args.layout = args.layout or list(LAYOUTS)
    args.arm = args.arm or ["ur5"]
    args.model = args.model or ["bundled"]
    source = Path(args.source).resolve()
    if not is_source_tree(source):
        print(f"{source} is not the package's source tree (setup.py, package.xml, ik_nn/)",
              file=sys.stderr)
        return 2
    domain = args.domain_id if args.domain_id is not None else 150 + os.getpid() % 50
    workdir = Path(tempfile.mkdtemp(prefix="ik_nn_startup_"))
    ctx = machine_context()
    settings = {"source": str(source), "revision": revision(source), "domain_id": domain,
                "workdir": str(workdir),
                "args": {k: v for k, v in vars(args).items() if k != "single_start"}}
    progress(f"machine: {ctx['cpu']}, {ctx['cores']} cores, load {ctx['load_start']}; "
             f"work folder {workdir}")
    bench = StartupBench(workdir, domain, source, args.timeout)
    try:
        res = measure(bench, args)
    finally:
        bench.close()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    ctx["load_end"] = load_average()
    checks = verdicts(res)
    print(report(ctx, res, checks, settings), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"machine": ctx, "settings": settings, "results": res,
             "requirements": [{"requirement": a, "measured": b, "met": c}
                              for a, b, c in checks]}, indent=1, default=str))
    return 0 if checks and all(c for _, _, c in checks) else 1


def single_start(spec_path: str) -> int:
    """Run one measured start from a JSON spec (helper mode); print its result as JSON."""
    spec = json.loads(Path(spec_path).read_text())
    inst = Install(**spec["install"])
    bench = StartupBench(spec["workdir"], spec["domain_id"], timeout=spec["timeout"],
                         grace=spec["grace"])
    try:
        bench.check_origin(inst)
        res = bench.start(inst, spec["label"], spec["arm"], spec["model"], spec["params"],
                          spec["checks"])
    finally:
        bench.close()
    res.pop("written", None)   # the caller compares the install folder itself
    print(json.dumps(res, default=str))
    return 0


def main(argv=None) -> int:
    """Entry point of ``python -m ik_nn.bench.startup``."""
    parser = argparse.ArgumentParser(
        prog="python -m ik_nn.bench.startup",
        description="Measure ik_node's start-up from a fresh install (see the module docstring).")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())

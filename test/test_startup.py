"""ik_node started from a fresh install, as users and signals meet it.

It answers, writes nothing into its install, answers where the package folder is read-only,
logs its start-up steps and ends cleanly on a signal while starting.

Behaviour only: every time bound here is a generous safety limit for loaded CI machines; the
start-up figures themselves come from ``python -m ik_nn.bench.startup`` (whose functions these
tests reuse). One fresh install per layout serves every test of the module.
"""
from __future__ import annotations

import os
import signal

import pytest

from ik_nn.bench import startup
from ik_nn.ros.common import EXIT_INTERRUPTED

DOMAIN_ID = 150 + os.getpid() % 50   # this module's own ROS domain (discovery is LOCALHOST)
SAFETY_S = 20.0    # s: a signalled node still running by then is SIGKILLed (and fails)
STEP_NAMES = [step for step, _ in startup.STEPS]
ERROR_LEVEL = 2    # diagnostic_msgs/DiagnosticStatus.ERROR: a malformed target, a solver error


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    """Give a start-up bench in a temporary folder: installs, node logs, probe node."""
    b = startup.StartupBench(tmp_path_factory.mktemp("startup"), DOMAIN_ID, grace=SAFETY_S)
    yield b
    b.close()


@pytest.fixture(scope="module")
def installs(bench):
    """Fresh installs by layout, each made on first use, with its first start."""
    made = {}

    def get(layout: str):
        if layout not in made:
            inst = bench.install(layout)
            assert not inst.error, inst.error
            made[layout] = (inst, bench.start(inst, f"{layout}: first start"))
        return made[layout]

    return get


def explain(run: dict) -> str:
    """Say why a start failed: its error and its last output lines."""
    return f"{run.get('error', '')}\n" + "\n".join(run.get("tail", []))


@pytest.mark.parametrize("layout", ["target", "prefix"])
def test_fresh_install_answers_its_first_target(installs, layout):
    """The first start after ``pip install --target`` / ``--prefix`` solves a target."""
    _, run = installs(layout)
    assert run["answered"], explain(run)
    assert run["first_code"] == "solved"
    assert run["first_command_s"] is not None, "no joint_command for a solved target"
    assert not run["traceback"], explain(run)
    assert run["exit_code"] == 0 and not run["killed"]


def test_node_answers_every_kind_of_target_from_a_fresh_process(installs):
    """Out of reach, no solution, a burst and a seeded target all get a status, none an error."""
    _, run = installs("prefix")
    assert run["answered"], explain(run)
    got = {c["path"]: c for c in run["callbacks"]}
    assert not [c for c in got.values() if "error" in c], got
    assert not [c for c in got.values() if c["level"] == ERROR_LEVEL], got
    assert got["out of reach (10 m away)"]["code"] == "unreachable"
    assert got["seeded by joint_states"]["seed"] == "joint_states"
    # a compilation would take seconds: this bound only catches that, not slowness
    assert max(startup.callback_times(run)) < 1000.0


@pytest.mark.parametrize("layout", ["target", "prefix"])
def test_first_start_writes_nothing_into_the_install(installs, layout):
    """Starting, answering and stopping leave the install folder as pip made it."""
    _, run = installs(layout)
    assert run["answered"], explain(run)
    assert run["written"] == []


@pytest.mark.parametrize("layout", ["target", "prefix"])
def test_answers_where_the_package_folder_is_read_only(bench, layout):
    """A fresh install started first by a user who cannot write it still answers."""
    inst = bench.install(layout, "-read-only")
    assert not inst.error, inst.error
    runner, note = bench.read_only_runner(inst)
    if runner is None:
        pytest.skip(note)
    try:
        assert not bench.can_write(runner, os.path.dirname(inst.origin)), note
        run = bench.start(inst, f"{layout}: read-only first start", runner=runner or None)
    finally:
        if not runner:
            startup.restore_write(inst.root)
    assert run["answered"], explain(run)
    assert run["first_code"] == "solved"
    assert run["written"] == []


def test_node_logs_its_start_up_steps(installs):
    """The log says 'starting', 'loading the solver', 'warming up', 'ready in X s', in order."""
    _, run = installs("prefix")
    assert run["answered"], explain(run)
    steps = run["steps"]
    assert [s for s in STEP_NAMES if s in steps] == STEP_NAMES, steps
    assert [steps[s] for s in STEP_NAMES] == sorted(steps[s] for s in STEP_NAMES)
    assert run["ready_in_s"] is not None


def ends_cleanly(run: dict, codes=(0, EXIT_INTERRUPTED)):
    """Assert a signalled node ended by itself, with an accepted code and no traceback."""
    assert "error" not in run, run["error"]
    assert not run["killed"], f"still running {SAFETY_S:g} s after {run['signal']}"
    assert not run["traceback"], f"{run['exception']} at {run['where']} ({run['phase']})"
    assert run["exit_code"] in codes, run
    assert run["written"] == []


@pytest.mark.parametrize("step", STEP_NAMES)
def test_sigint_right_after_each_start_up_step_ends_cleanly(bench, installs, step):
    """SIGINT right after a logged step: exit code 130 (starting) or 0 (running)."""
    inst, _ = installs("prefix")
    ends_cleanly(bench.signal_run(inst, signal.SIGINT, step))


@pytest.mark.parametrize("delay", [0.1, 0.15])
def test_sigint_early_in_start_up_ends_cleanly(bench, installs, delay):
    """SIGINT while the interpreter imports the node: no traceback, a clean exit code.

    A signal that lands before Python has installed its own SIGINT handler ends the process
    by the signal's default action (-SIGINT, no output): accepted as clean too.
    """
    inst, _ = installs("prefix")
    ends_cleanly(bench.signal_run(inst, signal.SIGINT, delay),
                 codes=(0, EXIT_INTERRUPTED, -signal.SIGINT))


def test_sigterm_during_start_up_ends_cleanly(bench, installs):
    """SIGTERM while the solver loads ends the node like SIGINT does."""
    inst, _ = installs("prefix")
    ends_cleanly(bench.signal_run(inst, signal.SIGTERM, "solver"))


def test_an_interrupt_that_comes_back_as_another_exception_is_still_an_interrupt(tmp_path):
    """SIGINT inside a C extension's initialisation surfaces as its ImportError.

    (onnxruntime: "initialization failed"; seen once in CI as a traceback.) The node's build
    sees an ImportError here after its SIGINT: it must still end as interrupted (130, one log
    line), not with a traceback.
    """
    import subprocess
    import sys

    script = (
        "import os, signal, sys\n"
        "from ik_nn.ros.common import run\n"
        "def factory():\n"
        "    try:\n"
        "        os.kill(os.getpid(), signal.SIGINT)\n"
        "        signal.pause()\n"
        "    except KeyboardInterrupt as exc:\n"
        "        raise ImportError('initialization failed') from exc\n"
        "sys.exit(run(factory, 'probe'))\n")
    env = dict(os.environ, ROS_DOMAIN_ID=str(DOMAIN_ID),
               ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, env=env, cwd=tmp_path)
    assert proc.returncode == EXIT_INTERRUPTED, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "interrupted while starting" in proc.stdout + proc.stderr

"""ik-nn bench end to end, and the layout its package keeps.

Real numbers from the command line (speed goals are measured by the bench, not asserted here);
one job per module, no import cycles, only the runtime's public names.
"""
import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from ik_nn import load_arm
from ik_nn.bench import machine
from ik_nn.bench import report as bench_report
from ik_nn.bench.plots import PLOTS

BENCH = Path(__file__).resolve().parent.parent / "ik_nn" / "bench"


def test_solver_only_bench_writes_json(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, "-m", "ik_nn.cli", "bench", "--solver-only", "--arms", "rrr", "ur5",
         "--targets", "200", "--json", str(out)],
        capture_output=True, text=True, check=True)
    assert "| ur5 | 200 |" in proc.stdout
    rows = json.loads(out.read_text())["results"]["solver_only"]
    for name in ("rrr", "ur5"):
        assert rows[name]["targets"] == 200
        assert rows[name]["success"] >= 0.99
        assert rows[name]["within_limits"]
        assert rows[name]["latency_p50_us"] > 0
        assert rows[name]["single_success"] >= 0.99


def test_quick_compare_end_to_end(tmp_path):
    """--quick on tiny sizes: table, JSON, plots, README section; peers only if installed."""
    pytest.importorskip("matplotlib")
    # arms.png draws each arm through arm.joint_origins(q); without it the rest is still checked
    draws_arms = hasattr(load_arm("rrr"), "joint_origins")
    out = tmp_path / "bench"
    md = tmp_path / "README.md"
    md.write_text(f"intro\n{bench_report.START}\n{bench_report.END}\n")
    proc = subprocess.run(
        [sys.executable, "-m", "ik_nn.cli", "bench", "--quick", "--arms", "rrr", "ur5",
         "--targets", "40", "--single", "10", "--ikpy-targets", "3",
         "--out", str(out), "--report", str(md), *([] if draws_arms else ["--no-plots"])],
        capture_output=True, text=True, check=True)
    assert "| rrr | ik_nn NN + refine | 40 |" in proc.stdout
    for name in ("results.json", "table.md", *(PLOTS if draws_arms else ())):
        assert (out / name).stat().st_size > 0
    report = json.loads((out / "results.json").read_text())
    assert report["command"].startswith("ik-nn bench --quick")
    for arm in ("rrr", "ur5"):
        res = report["results"][arm]
        ours = res["rows"]["nn_refine"]
        assert ours["targets"] == 40 and ours["single_queries"] == 10
        assert ours["success_1e-6"] >= 0.95 and ours["within_limits"] == 1.0
        assert ours["pos_err_median"] <= 1e-6 and ours["rot_err_median"] <= 1e-6
        # the network alone is not exact: refinement is what reaches 1e-6; and the loose
        # criterion accepts everything the strict one does
        net = res["rows"]["nn_alone"]
        assert net["success_1e-6"] < ours["success_1e-6"] and net["pos_err_median"] > 1e-6
        assert net["success_1mm_1deg"] >= net["success_1e-6"]
        assert res["rows"]["nn_basin"]["success_1e-6"] <= ours["success_1e-6"]
        for peer in ("rtb_ik_LM", "ikpy"):
            assert peer in res["rows"] or peer in res["notes"]
        if "ikpy" in res["rows"]:
            assert res["rows"]["ikpy"]["targets"] == 3 and res["rows"]["ikpy"]["of"] == 40
    text = md.read_text()
    assert text.startswith("intro\n") and "| ur5 | ik_nn NN + refine |" in text
    assert "Learned-IK goals" in text and "- ur5: success" in text
    # the section regenerates from the saved JSON alone (no measuring)
    md.write_text(f"{bench_report.START}\n{bench_report.END}\n")
    subprocess.run([sys.executable, "-m", "ik_nn.cli", "bench", "--from-json",
                    str(out / "results.json"), "--report", str(md)], check=True,
                   capture_output=True)
    assert "| rrr | ik_nn NN + refine | 40 |" in md.read_text()
    if not draws_arms:
        pytest.skip("plots not drawn: this runtime's Arm has no joint_origins(q) yet (arms.png "
                    "needs it); every other check of this test ran")


def test_model_flag_gives_an_arm_its_network(tmp_path):
    """``--arms A --model N``: the network methods run with N, checked against A first."""
    import shutil

    import yaml

    from ik_nn.resources import config_path, model_path

    data = yaml.safe_load(config_path("arms", "rrr.yaml").read_text())
    data["name"] = "my_rrr"  # same chain as rrr, another name: no bundled network
    mine = tmp_path / "my_rrr.yaml"
    mine.write_text(yaml.safe_dump(data))
    onnx = tmp_path / "trained.onnx"
    shutil.copy(model_path("rrr.onnx"), onnx)

    def bench(arm, *extra):
        out = tmp_path / "r.json"
        proc = subprocess.run(
            [sys.executable, "-m", "ik_nn.cli", "bench", "--quick", "--arms", arm, "--targets",
             "30", "--single", "5", "--methods", "nn_refine", "refine_restarts", *extra,
             "--json", str(out)], capture_output=True, text=True)
        res = json.loads(out.read_text())["results"][arm] if proc.returncode == 0 else None
        return proc, res

    proc, res = bench(str(mine))
    assert "nn_refine" not in res["rows"] and "no bundled network" in res["notes"]["nn_refine"]
    assert res["model"] is None
    proc, res = bench("rrr", "--model", str(onnx))
    assert res["model"] == str(onnx) and res["rows"]["nn_refine"]["success_1e-6"] >= 0.95
    assert "refine_restarts" in res["rows"] and str(onnx) in proc.stdout
    # a network that is not the arm's, or a count that does not match: one line, nothing run
    proc, _ = bench(str(mine), "--model", str(onnx))
    assert proc.returncode != 0 and "metadata field 'arm'" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc, _ = bench("rrr", "--model", str(onnx), str(onnx))
    assert proc.returncode != 0 and "one ONNX file per --arms entry" in proc.stderr


def test_tip_link_chooses_a_branching_urdfs_chain(tmp_path):
    """``--tip-link T`` measures a branching URDF (a gripper's fingers) on the chain to T.

    Without it: one line naming the leaves, nothing run.
    """
    urdf = str(Path(__file__).parent / "arms" / "panda.urdf")

    def bench(*extra):
        out = tmp_path / "r.json"
        proc = subprocess.run(
            [sys.executable, "-m", "ik_nn.cli", "bench", "--quick", "--arms", urdf, "rrr",
             "--targets", "20", "--single", "4", "--methods", "refine_restarts", *extra,
             "--json", str(out)], capture_output=True, text=True)
        return proc, json.loads(out.read_text())["results"] if proc.returncode == 0 else None

    proc, res = bench()
    assert proc.returncode != 0 and "panda_hand_tcp" in proc.stderr and "tip_link" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc, res = bench("--tip-link", "panda_hand_tcp", "-")
    assert proc.returncode == 0, proc.stderr
    row = res[f"{urdf}@panda_hand_tcp"]["rows"]["refine_restarts"]
    assert row["targets"] == 20 and row["success_1e-6"] >= 0.95
    assert res["rrr"]["rows"]["refine_restarts"]["targets"] == 20
    proc, _ = bench("--tip-link", "panda_hand_tcp")
    assert proc.returncode != 0 and "one value per --arms entry" in proc.stderr


def test_report_without_markers_fails_loudly(tmp_path):
    md = tmp_path / "x.md"
    md.write_text("nothing\n")
    saved = tmp_path / "r.json"
    saved.write_text(json.dumps({
        "machine": machine.machine() | {"loadavg_start": 1.0, "loadavg_end": 1.0},
        "command": "ik-nn bench", "targets": 1, "seed": 1, "results": {}}))
    proc = subprocess.run([sys.executable, "-m", "ik_nn.cli", "bench", "--from-json", str(saved),
                           "--report", str(md)], capture_output=True, text=True)
    assert proc.returncode == 2 and "markers" in proc.stdout
    assert md.read_text() == "nothing\n"


# ---------------------------------------------------------------- layout of ik_nn/bench
RUNTIME_API = {  # the runtime's public names the bench may use (its internals are not stable)
    "ik_nn": {"load_arm", "IKSolver", "IKResult", "BUNDLED_ARMS", "ArmError"},
    "ik_nn.arm": {"BUNDLED_ARMS", "ArmError", "load_arm"},
    "ik_nn.solver": {"IKSolver", "IKResult", "PARALLEL_MIN", "bundled_model"},
    "ik_nn.kinematics": {"pose_error", "transform"},
    "ik_nn.resources": {"model_path", "config_path"},
    "ik_nn.encoding": {"ModelError", "check_metadata"},
    "ik_nn.seeder": {"read_metadata"},
    "ik_nn.urdf_export": {"rpy_from_matrix"},
}


def _imports(path):
    """Yield (module, names) of every ``from X import ...`` in the file, X resolved."""
    package = "ik_nn.bench"
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module != "__future__":
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(p for p in (base, node.module) if p)
            yield module, [a.name for a in node.names]


def test_bench_modules_have_one_job_no_cycles_and_use_only_public_names():
    graph = {}
    for path in sorted(BENCH.glob("*.py")):
        name = path.stem
        assert ast.get_docstring(ast.parse(path.read_text())), f"{name}: no module docstring"
        deps = graph.setdefault(name, set())
        for module, names in _imports(path):
            private = [n for n in names if n.startswith("_")]
            assert not private, f"{name} imports private {private} from {module}"
            if module == "ik_nn.bench":
                deps.update(names)
            elif module.startswith("ik_nn.bench."):
                deps.add(module.split(".")[2])
            elif module in RUNTIME_API:
                extra = set(names) - RUNTIME_API[module]
                assert not extra, f"{name} uses {sorted(extra)} of {module}: not public API"
            else:
                assert module.startswith("ik_nn.ros") or not module.startswith("ik_nn"), \
                    f"{name} imports {module}"
    state = {}

    def visit(m, stack):
        assert state.get(m) != "open", "import cycle: " + " -> ".join(stack + [m])
        if state.get(m) is None:
            state[m] = "open"
            for d in graph.get(m, ()):
                visit(d, stack + [m])
            state[m] = "done"

    for m in graph:
        visit(m, [])

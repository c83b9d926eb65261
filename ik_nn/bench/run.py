"""``ik-nn bench``: the command line (its arguments, and which measurement and report they run).

Modes:

* default: every method of :data:`ik_nn.bench.methods.COMPARE` on the same FK-made targets per
  arm; prints the table, writes JSON, plots and README sections (``--out``, ``--report``).
* ``--solver-only``: the LM refiner from seeds perturbed by ``--perturb`` rad (no network).
* ``--ros``: end-to-end PoseStamped → JointState latency between processes
  (:mod:`ik_nn.bench.ros_latency`).
* ``--deck-study``: the slide deck's experiments redone (:mod:`ik_nn.bench.deck_study`).

The measuring, judging and writing live in the modules named in :mod:`ik_nn.bench`; this one
imports cheaply (the solver, matplotlib and rclpy load only when a mode runs).
"""
from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path

from ..arm import BUNDLED_ARMS, load_arm
from . import deck_study, ros_latency, tracking
from . import report as bench_report
from .machine import loadavg, machine
from .methods import COMPARE, PEER_METHODS, compare, solver_only
from .targets import BENCH_SEED

QUICK = dict(targets=300, single=150, peer_targets={"rtb_ik_LM": 150, "ikpy": 20})
FULL_PEER_TARGETS = {"ikpy": 500}  # ikpy takes 20-100 ms per target: a documented subset


def add_arguments(parser):
    """Add ``ik-nn bench``'s options (and the ``--ros`` group's) to ``parser``."""
    parser.add_argument("--arms", nargs="+", default=list(BUNDLED_ARMS),
                        help="arms to measure (bundled names, DH YAML or URDF paths); default: "
                             "all bundled")
    parser.add_argument("--model", nargs="+", metavar="ONNX",
                        help="networks the ik_nn network methods use instead of the bundled "
                             "ones: one per --arms entry, in order ('-' keeps an arm's bundled "
                             "network), e.g. --arms my_arm.urdf --model my_arm.onnx")
    parser.add_argument("--tip-link", nargs="+", metavar="LINK",
                        help="URDF arms: the chain's last link, one per --arms entry ('-': the "
                             "only leaf), e.g. --arms panda.urdf ur5 --tip-link panda_hand_tcp -")
    parser.add_argument("--base-link", nargs="+", metavar="LINK",
                        help="URDF arms: the chain's first link, one per --arms entry ('-': "
                             "the root link)")
    parser.add_argument("--solver-only", action="store_true",
                        help="LM refinement alone from perturbed seeds (no network)")
    parser.add_argument("--targets", type=int, default=None,
                        help="FK-made targets per arm (default 2000 with --solver-only, "
                             f"{QUICK['targets']} with --quick, else 10000)")
    parser.add_argument("--single", type=int, default=None,
                        help="targets timed one query at a time (default: all)")
    parser.add_argument("--perturb", type=float, default=0.3,
                        help="seed perturbation radius in radians for --solver-only (default 0.3)")
    parser.add_argument("--json", metavar="PATH", help="also write the numbers as JSON")
    parser.add_argument("--quick", action="store_true",
                        help=f"small sizes ({QUICK['targets']} targets per arm, peers on fewer): "
                             "under a minute")
    parser.add_argument("--methods", nargs="+", choices=list(COMPARE), default=list(COMPARE),
                        metavar="METHOD", help="methods to compare (default all: "
                                               + ", ".join(COMPARE) + ")")
    parser.add_argument("--ikpy-targets", type=int, default=None,
                        help=f"targets ikpy solves (default {FULL_PEER_TARGETS['ikpy']}, "
                             f"{QUICK['peer_targets']['ikpy']} with --quick; ~20-130 ms each)")
    parser.add_argument("--out", metavar="DIR",
                        help="write results.json, table.md and the PNG plots into DIR "
                             "(e.g. docs/bench)")
    parser.add_argument("--no-plots", action="store_true", help="with --out: skip the PNGs")
    parser.add_argument("--report", nargs="+", metavar="MD",
                        help="rewrite the text between <!-- bench:start --> and "
                             "<!-- bench:end --> (see --section) in these Markdown files "
                             "(e.g. README.md docs/benchmark.md)")
    parser.add_argument("--section", default="bench", metavar="NAME",
                        help="with --report: the section to rewrite is between <!-- NAME:start "
                             "--> and <!-- NAME:end --> (default: bench; e.g. heldout)")
    parser.add_argument("--from-json", metavar="PATH",
                        help="no measuring: render --report from a saved results.json")
    parser.add_argument("--ros", action="store_true",
                        help="end-to-end ROS 2 latency between processes "
                             "(see ik_nn.bench.ros_latency)")
    parser.add_argument("--deck-study", "--seed-study", action="store_true", dest="deck_study",
                        help="the slide deck's experiments redone: its joint-space metric beside "
                             "task-space errors, its plain MLP beside ours "
                             "(see ik_nn.bench.deck_study)")
    parser.add_argument("--track", action="store_true",
                        help="tracking bench: paths streamed through ik_node (with and without "
                             "sim_arm) in separate processes; --out, --report (between "
                             "<!-- track:start --> and <!-- track:end -->), --json, --from-json "
                             "and --quick apply (see ik_nn.bench.tracking)")
    ros_latency.add_arguments(parser.add_argument_group("--ros options"))
    tracking.add_arguments(parser.add_argument_group("--track options"))


def command_line(argv=None):
    """Return the command as typed: ``ik-nn`` and the arguments (default: this process's)."""
    argv = sys.argv[1:] if argv is None else argv
    return "ik-nn " + " ".join(shlex.quote(a) for a in argv)


def _per_arm(args, flag, values):
    """``values`` (one per ``--arms`` entry, '-' = default) as a list of str or None."""
    if not values:
        return [None] * len(args.arms)
    if len(values) != len(args.arms):
        raise SystemExit(f"ik-nn bench: {flag} takes one value per --arms entry "
                         f"({len(args.arms)} arms, {len(values)} values; '-' keeps the default)")
    return [None if v == "-" else v for v in values]


def arms(args):
    """Return {label: Arm} for ``--arms`` with their ``--base-link``/``--tip-link``.

    The label is the ``--arms`` entry (``entry@tip`` when a tip link is given). Raises
    SystemExit with the loader's one-line reason for an arm that cannot be read, before
    anything is measured.
    """
    from ..arm import ArmError

    out = {}
    bases = _per_arm(args, "--base-link", getattr(args, "base_link", None))
    tips = _per_arm(args, "--tip-link", getattr(args, "tip_link", None))
    for entry, base, tip in zip(args.arms, bases, tips):
        try:
            arm = load_arm(entry, base_link=base, tip_link=tip)
        except (ArmError, OSError) as exc:
            raise SystemExit(f"ik-nn bench: --arms {entry}: {exc}") from None
        label = entry if tip is None else f"{entry}@{tip}"
        if label in out:
            raise SystemExit(f"ik-nn bench: --arms {label} is given twice")
        out[label] = arm
    return out


def models(args, loaded):
    """Return {label: ONNX path} from ``--model`` (one per ``--arms`` entry; '-': bundled).

    ``loaded``: :func:`arms`' result. Raises SystemExit with one line when the counts differ,
    a file is missing or a network was trained for another arm, before anything is measured.
    """
    if not args.model:
        return {}
    if len(args.model) != len(args.arms):
        raise SystemExit(f"ik-nn bench: --model takes one ONNX file per --arms entry "
                         f"({len(args.arms)} arms, {len(args.model)} models; '-' keeps the "
                         "bundled network)")
    from ..encoding import ModelError, check_metadata
    from ..seeder import read_metadata

    out = {}
    for (label, arm), path in zip(loaded.items(), args.model):
        if path == "-":
            continue
        if not Path(path).is_file():
            raise SystemExit(f"ik-nn bench: --model {path}: no such file")
        try:
            check_metadata(read_metadata(path), arm, path)
        except ModelError as exc:
            raise SystemExit(f"ik-nn bench: --model {exc}") from None
        out[label] = path
    return out


def measure_compare(args, loaded):
    """Measure the comparison the arguments ask for; return the report dictionary.

    ``loaded``: the arms to measure, {label: Arm} from :func:`arms`.
    """
    from . import peers

    quick = args.quick
    n = args.targets or (QUICK["targets"] if quick else 10000)
    single = args.single or (min(n, QUICK["single"]) if quick else n)
    peer_targets = dict(QUICK["peer_targets"] if quick else FULL_PEER_TARGETS)
    if args.ikpy_targets:
        peer_targets["ikpy"] = args.ikpy_targets
    info = machine()
    info["loadavg_start"] = loadavg()
    nets = models(args, loaded)
    print(f"ik-nn bench: {n} targets per arm, {', '.join(loaded)}")
    results = compare(loaded, n, single, args.methods, peer_targets, nets)
    info["loadavg_end"] = loadavg()
    return {"machine": info, "command": command_line(), "targets": n, "seed": BENCH_SEED,
            "single": single, "peer_targets": peer_targets, "results": results,
            "peer_versions": peers.versions(),
            "peer_settings": {k: v.settings for k, v in peers.ADAPTERS.items()}}


def run_compare(args):
    """Run the comparison (or load it, ``--from-json``) and write what the arguments ask for.

    Returns 2 if a ``--report`` file has no bench markers, 1 if one of our answers left the
    joint limits, else 0.
    """
    if args.from_json:
        report = json.loads(Path(args.from_json).read_text())
    else:
        loaded = arms(args)
        report = measure_compare(args, loaded)
        if args.out:
            from .plots import plots

            out = Path(args.out)
            if not args.no_plots:
                report["plots"] = plots(report["results"], loaded, out)
            bench_report.write_json(out / "results.json", report)
    text = bench_report.section(report)
    print()
    print(text)
    if args.out and not args.from_json:
        (Path(args.out) / "table.md").write_text(text + "\n")
    if args.json:
        bench_report.write_json(args.json, report)
    missing = []
    for md in args.report or []:
        assets = os.path.relpath(args.out or "docs/bench", Path(md).resolve().parent)
        if not bench_report.replace_section(md, bench_report.section(report, assets=assets),
                                            args.section):
            missing.append(md)
    if missing:
        start, end = bench_report.markers(args.section)
        print(f"no {start} ... {end} markers in: "
              + ", ".join(missing) + " (left unchanged)")
        return 2
    ours = [r for res in report["results"].values() for m, r in res["rows"].items()
            if m not in PEER_METHODS]
    return 0 if all(r["within_limits"] == 1.0 for r in ours) else 1


def run_solver_only(args):
    """Run ``--solver-only``: print its table, write ``--json``; 1 if an answer left the limits."""
    report = {"machine": machine(), "command": "ik-nn bench", "results": {}}
    m = report["machine"]
    stamp = f"{m['date']}, {m['cpus']} CPUs, Python {m['python']}"
    n = args.targets or 2000
    rows = solver_only(arms(args), n, args.perturb)
    report["results"]["solver_only"] = rows
    print(bench_report.solver_only_table(
        rows, f"LM refinement from seeds perturbed by ±{args.perturb} rad, "
              f"{n} FK-made targets per arm ({stamp})"))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=2)
    return 0 if all(r["within_limits"] for r in rows.values()) else 1


def run(args) -> int:
    """Run ``ik-nn bench`` from parsed arguments; return the exit code."""
    if args.ros:
        return ros_latency.run(args)
    if args.track:
        return tracking.run(args)
    if args.deck_study:
        return deck_study.run(args)
    if args.solver_only:
        return run_solver_only(args)
    return run_compare(args)

"""Report of ``ik-nn bench`` (issue #5): Markdown table, JSON, PNG plots, README section.

Everything here works from the dictionary :func:`ik_nn.bench.compare` returns (per-target arrays
under ``"_raw"`` are used for the plots and dropped from the JSON). matplotlib (Agg) is imported
only when plots are drawn.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

START, END = "<!-- bench:start -->", "<!-- bench:end -->"
PLOTS = ("errors.png", "latency.png", "arms.png")


def _labels():
    from .run import COMPARE

    return {m: v[0] for m, v in COMPARE.items()}


def json_ready(report):
    """The report without the per-target arrays (``_raw``), numbers as plain floats."""
    def clean(x):
        if isinstance(x, dict):
            return {k: clean(v) for k, v in x.items() if k != "_raw"}
        if isinstance(x, (list, tuple)):
            return [clean(v) for v in x]
        if isinstance(x, (np.floating, np.integer)):
            return x.item()
        return x

    return clean(report)


def write_json(path, report):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(json_ready(report), indent=2) + "\n")
    return path


# ---------------------------------------------------------------- Markdown
def _pct(x):
    if x == 1.0:
        return "100 %"
    if x >= 0.999:
        return f"{100 * x:.2f} %"
    return f"{100 * x:.1f} %"


def _si(x, unit):
    """Compact engineering notation: 1.2e-08 m → '12 nm'."""
    if not np.isfinite(x):
        return "∞"
    if x == 0:
        return f"0 {unit}"
    scales = [(1, ""), (1e-3, "m"), (1e-6, "µ"), (1e-9, "n"), (1e-12, "p"), (1e-15, "f")]
    for s, p in scales:
        if abs(x) >= s:
            v = x / s
            return f"{v:.3g} {p}{unit}"
    return f"{x:.1e} {unit}"


def _rate(x):
    return f"{x:,.0f}"


def _ratio(x):
    return f"{x:.2g}×" if x < 10 else f"{x:,.0f}×"


def table(results):
    """One Markdown table: every arm, every method, every figure of one run."""
    labels = _labels()
    head = ("| arm | method | targets | success 1e-6 m & rad | success 1 mm & 1° "
            "| pos err p50 / p99 | rot err p50 / p99 | latency p50 / p99 | throughput "
            "| speed vs fastest peer (p50 / throughput) |")
    lines = [head, "|" + "---|" * 10]
    for arm, res in results.items():
        for method, r in res["rows"].items():
            n = r["targets"] if r["targets"] == r["of"] else f"{r['targets']:,} of {r['of']:,}"
            if isinstance(n, int):
                n = f"{n:,}"
            ratio = "—"
            if "speedup_p50" in r:
                ratio = f"{_ratio(r['speedup_p50'])} / {_ratio(r['throughput_ratio'])}"
            lim = "" if r["within_limits"] == 1.0 else f" ({_pct(r['within_limits'])} in limits)"
            lines.append(
                f"| {arm} | {labels.get(method, method)} | {n} | "
                f"**{_pct(r['success_1e-6'])}**{lim} | {_pct(r['success_1mm_1deg'])} | "
                f"{_si(r['pos_err_median'], 'm')} / {_si(r['pos_err_p99'], 'm')} | "
                f"{_si(r['rot_err_median'], 'rad')} / {_si(r['rot_err_p99'], 'rad')} | "
                f"{r['latency_p50_us']:,.0f} / {r['latency_p99_us']:,.0f} µs | "
                f"{_rate(r['batch_solves_per_s'])} /s | {ratio} |")
        for method, note in res["notes"].items():
            lines.append(f"| {arm} | {labels.get(method, method)} | — | {note} "
                         "| | | | | | |")
    return "\n".join(lines)


def verdict(results):
    """Plain statements: is ik_nn NN + refine ahead of every peer on success and p50 latency?"""
    labels = _labels()
    out = []
    for arm, res in results.items():
        rows = res["rows"]
        ours = rows.get("nn_refine")
        peers = [m for m in rows if m in ("rtb_ik_LM", "ikpy")]
        if ours is None or not peers:
            out.append(f"- {arm}: no comparison (ik_nn NN + refine or peers not measured)")
            continue
        for m in peers:
            p = rows[m]
            s_us, s_p = ours["success_1e-6"], p["success_1e-6"]
            if s_us > s_p:
                succ = f"ahead on success ({_pct(s_us)} vs {_pct(s_p)})"
            elif s_us == s_p:
                succ = f"tied on success ({_pct(s_us)} each)"
            else:
                succ = f"**behind** on success ({_pct(s_us)} vs {_pct(s_p)})"
            l_us, l_p = ours["latency_p50_us"], p["latency_p50_us"]
            lat = (f"{'ahead' if l_us < l_p else '**behind**'} on p50 latency "
                   f"({l_us:,.0f} vs {l_p:,.0f} µs, {_ratio(l_p / l_us)})")
            out.append(f"- {arm} vs {labels[m]}: {succ}; {lat}.")
    return "\n".join(out)


# The learned-IK goals (issue #3), checked on every run: network-alone median task error per
# arm (metres, radians), and for every arm NN + refine success, basin rate (no restarts),
# single-query latency and N-target batch throughput.
NETWORK_GOALS = {"rrr": (0.5e-3, np.radians(0.5)), "rrrrrr": (2e-3, np.radians(2.0)),
                 "ur5": (10e-3, np.radians(3.0))}
SUCCESS_GOAL, BASIN_GOAL = 0.9999, 0.999
LATENCY_GOAL_US = (100.0, 300.0)  # p50, p99
THROUGHPUT_GOAL = 50_000.0  # solves/s


def goals(results):
    """One line per arm: the learned-IK goals met or **missed**, with the measured values."""
    out = []
    for arm, res in results.items():
        rows = res["rows"]
        ours, basin, net = rows.get("nn_refine"), rows.get("nn_basin"), rows.get("nn_alone")
        if ours is None:
            continue
        parts = []

        def check(ok, text):
            parts.append(text if ok else f"**missed: {text}**")
            return ok

        check(ours["success_1e-6"] >= SUCCESS_GOAL and ours["within_limits"] == 1.0,
              f"success {_pct(ours['success_1e-6'])} (≥ {_pct(SUCCESS_GOAL)}), "
              f"{_pct(ours['within_limits'])} within limits")
        if basin is not None:
            check(basin["success_1e-6"] >= BASIN_GOAL,
                  f"basin {_pct(basin['success_1e-6'])} (≥ {_pct(BASIN_GOAL)})")
        if net is not None and arm in NETWORK_GOALS:
            gp, gr = NETWORK_GOALS[arm]
            check(net["pos_err_median"] <= gp and net["rot_err_median"] <= gr,
                  f"network alone {net['pos_err_median'] * 1e3:.2f} mm / "
                  f"{np.degrees(net['rot_err_median']):.2f}° "
                  f"(≤ {gp * 1e3:g} mm / {np.degrees(gr):g}°)")
        p50, p99 = ours["latency_p50_us"], ours["latency_p99_us"]
        check(p50 <= LATENCY_GOAL_US[0] and p99 <= LATENCY_GOAL_US[1],
              f"latency {p50:,.0f} / {p99:,.0f} µs (≤ {LATENCY_GOAL_US[0]:g} / "
              f"{LATENCY_GOAL_US[1]:g})")
        check(ours["batch_solves_per_s"] >= THROUGHPUT_GOAL,
              f"throughput {_rate(ours['batch_solves_per_s'])}/s for N = {ours['targets']:,} "
              f"(≥ {_rate(THROUGHPUT_GOAL)})")
        out.append(f"- {arm}: " + "; ".join(parts) + ".")
    return "\n".join(out)


def section(report, assets="docs/bench"):
    """The generated Markdown (table, verdict, plots, machine, date, command)."""
    from .run import COMPARE, LOOSE, STRICT

    m = report["machine"]
    load = m.get("loadavg_start"), m.get("loadavg_end")
    peers = ", ".join(f"{k} {v}" for k, v in report.get("peer_versions", {}).items() if v)
    lines = [
        f"Measured {m['date']} on {m['processor']} ({m['cpus']} CPUs), Python {m['python']}, "
        f"load average {load[0]:.2f} at start / {load[1]:.2f} at end"
        + (f"; peers: {peers}" if peers else "") + ".",
        f"Command: `{report['command']}` — every figure below is from this one run "
        f"({report['targets']:,} FK-made targets per arm from seed {report['seed']}, unseen in "
        "training, inside the limits; no seed given to any method).",
        "",
        table(report["results"]),
        "",
        f"Success is judged by ik_nn's own FK for every method: position ≤ {STRICT[0]:g} m and "
        f"rotation ≤ {STRICT[1]:g} rad (and ≤ 1 mm and ≤ {np.degrees(LOOSE[1]):.0f}°), "
        "answer inside the joint limits. Latency: one target per call, wall clock. "
        "Throughput: the whole set in one call (ik_nn) or a loop (peers have no batch API). "
        "Speed vs fastest peer > 1× means faster than every peer measured on that arm.",
        "",
        "ik_nn NN + refine against each peer:",
        "",
        verdict(report["results"]),
        "",
        "Learned-IK goals (ik_nn NN + refine; basin = hypotheses refined without restarts; "
        "network alone = best hypothesis after FK):",
        "",
        goals(report["results"]),
        "",
        "Methods: " + "; ".join(f"**{v[0]}** — {v[2]}" for k, v in COMPARE.items()
                                if any(k in r["rows"] or k in r["notes"]
                                       for r in report["results"].values())) + ".",
    ]
    if report.get("plots"):
        lines += ["", " ".join(f"![{p[:-4]}]({assets}/{p})" for p in report["plots"])]
    return "\n".join(lines)


def replace_section(path, text):
    """Replace what lies between the bench markers in ``path``; False if they are absent."""
    path = Path(path)
    doc = path.read_text()
    if START not in doc or END not in doc or doc.index(START) > doc.index(END):
        return False
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.S)
    path.write_text(pattern.sub(lambda _: f"{START}\n{text}\n{END}", doc, count=1))
    return True


# ---------------------------------------------------------------- plots
def _colors():
    from .run import COMPARE

    cmap = ["#1f77b4", "#17becf", "#aec7e8", "#2ca02c", "#ff7f0e", "#ffbb78", "#d62728",
            "#9467bd"]
    return {m: cmap[i % len(cmap)] for i, m in enumerate(COMPARE)}


def joint_points(arm, q):
    """(dof + 2, 3) points of the stick figure: base, each joint's origin, the tool point."""
    from ..kinematics import chain_one

    R, p = np.empty((3, 3)), np.empty(3)
    axes, origins = np.empty((arm.dof, 3)), np.empty((arm.dof, 3))
    chain_one(np.ascontiguousarray(q, dtype=np.float64), arm.dh, arm.convention_id, arm.base,
              arm.tool, R, p, axes, origins)
    return np.vstack([arm.base[:3, 3], origins, p])


def plots(results, outdir, dpi=80):
    """errors.png, latency.png, arms.png in outdir; returns the file names written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .run import make_targets
    from ..arm import load_arm

    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    labels, colors = _labels(), _colors()
    arms = list(results)
    na = len(arms)

    # error histograms (log x), position and rotation
    fig, ax = plt.subplots(2, na, figsize=(3.6 * na, 5.4), squeeze=False)
    bins = np.linspace(-17, 0, 69)
    for j, arm in enumerate(arms):
        for i, (key, unit) in enumerate((("pos_err", "m"), ("rot_err", "rad"))):
            a = ax[i, j]
            for m, r in results[arm]["rows"].items():
                e = np.clip(r["_raw"][key], 1e-17, 1.0)
                a.hist(np.log10(e), bins=bins, histtype="step", color=colors[m],
                       label=labels[m], density=True)
            a.axvline(-6, color="k", lw=0.6, ls="--")
            a.set_xlabel(f"log10 {key.split('_')[0]} error ({unit})")
            a.set_yticks([])
            if i == 0:
                a.set_title(arm)
    ax[0, 0].legend(fontsize=6, loc="upper left")
    fig.suptitle("Task-space error per target (dashed: 1e-6 success threshold)", fontsize=9)
    fig.tight_layout()
    fig.savefig(outdir / "errors.png", dpi=dpi)
    plt.close(fig)

    # latency CDFs (single query)
    fig, ax = plt.subplots(1, na, figsize=(3.6 * na, 3.2), squeeze=False)
    for j, arm in enumerate(arms):
        a = ax[0, j]
        for m, r in results[arm]["rows"].items():
            lat = np.sort(r["_raw"]["latency_s"]) * 1e6
            a.plot(lat, np.arange(1, lat.size + 1) / lat.size, color=colors[m], label=labels[m])
        a.set_xscale("log")
        a.set_xlabel("single-query latency (µs)")
        a.set_title(arm)
        a.grid(alpha=0.3)
    ax[0, 0].set_ylabel("fraction of queries")
    ax[0, 0].legend(fontsize=6, loc="upper left")
    fig.tight_layout()
    fig.savefig(outdir / "latency.png", dpi=dpi)
    plt.close(fig)

    # the arm at a few solved targets (ik_nn NN + refine's answers)
    fig = plt.figure(figsize=(3.6 * na, 3.6))
    for j, name in enumerate(arms):
        a = fig.add_subplot(1, na, j + 1, projection="3d")
        rows = results[name]["rows"]
        method = "nn_refine" if "nn_refine" in rows else next(iter(rows), None)
        if method is None:
            continue
        arm = load_arm(name)
        raw = rows[method]["_raw"]
        solved = np.flatnonzero(raw["strict"])[:3]
        _, T = make_targets(arm, int(solved.max()) + 1 if solved.size else 1)
        pts_all = []
        for k, idx in enumerate(solved):
            pts = joint_points(arm, raw["q"][idx])
            pts_all.append(pts)
            c = f"C{k}"
            a.plot(*pts.T, "-o", color=c, ms=3, lw=2)
            a.scatter(*T[idx, :3, 3], marker="*", s=80, color=c, edgecolor="k")
        if pts_all:
            P = np.vstack(pts_all)
            mid, half = P.mean(axis=0), max(np.ptp(P, axis=0).max() / 2, 1e-3)
            a.set_xlim(mid[0] - half, mid[0] + half)
            a.set_ylim(mid[1] - half, mid[1] + half)
            a.set_zlim(mid[2] - half, mid[2] + half)
        a.set_title(f"{name}: {labels[method]}", fontsize=8)
        a.tick_params(labelsize=6)
    fig.suptitle("Solved targets (stars) and the arm reaching them", fontsize=9)
    fig.tight_layout()
    fig.savefig(outdir / "arms.png", dpi=dpi)
    plt.close(fig)
    return list(PLOTS)

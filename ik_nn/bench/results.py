"""The bench's one summary row (per method and arm) and its one percentile helper.

:func:`summary` turns a :class:`~ik_nn.bench.judge.Verdict` and the timings into the row that
``ik-nn bench`` writes to results.json. The solver-only report and the deck study publish the
same figures under their older key names: :func:`solver_only_view` and :func:`task_space_view`
rename them (and convert units), they never judge anything themselves.
"""
from __future__ import annotations

import numpy as np


def percentile(x, q) -> float:
    """Return the q-th percentile (0-100) of the values x (n,) as a float; NaN if x is empty."""
    x = np.asarray(x)
    return float(np.percentile(x, q)) if x.size else float("nan")


def summary(verdict, latency_s=None, batch_seconds=None, of=None) -> dict:
    """Summarise one method's verdict on m targets as a JSON-ready row.

    verdict: the judge's verdict on the m answers. latency_s: (k,) seconds per single query
    (k ≤ m), or None. batch_seconds: wall time of solving all m, or None. of: how many targets
    the run had (a peer may attempt only the first m); default m. Errors are in metres and
    radians, latencies in microseconds, throughput in solves per second.
    """
    v = verdict
    m = v.pos_err.size
    row = {
        "targets": int(m), "of": int(m if of is None else of),
        "success_1e-6": float(v.strict.mean()), "success_1mm_1deg": float(v.loose.mean()),
        "failures_1e-6": int((~v.strict).sum()),
        "within_limits": float(v.within_limits.mean()),
        "pos_err_median": float(np.median(v.pos_err)),
        "pos_err_p99": percentile(v.pos_err, 99),
        "rot_err_median": float(np.median(v.rot_err)),
        "rot_err_p99": percentile(v.rot_err, 99),
    }
    if latency_s is not None:
        row["single_queries"] = int(np.size(latency_s))
        row["latency_p50_us"] = percentile(latency_s, 50) * 1e6
        row["latency_p99_us"] = percentile(latency_s, 99) * 1e6
    if batch_seconds is not None:
        row["batch_solves_per_s"] = float(m / batch_seconds)
    return row


def raw_arrays(verdict, q, latency_s) -> dict:
    """Return the per-target arrays the plots need, kept in a row under ``"_raw"``.

    q (m, dof) radians, the answers; latency_s (k,) seconds. The JSON writer drops ``"_raw"``.
    """
    return dict(pos_err=verdict.pos_err, rot_err=verdict.rot_err, latency_s=latency_s,
                q=np.asarray(q), strict=verdict.strict)


def add_ratios(rows, peers):
    """Add speed relative to the fastest peer measured on the same arm in the same run.

    rows: {method: row} of one arm; peers: the method names that are peers. Adds
    speedup_p50 = fastest peer's p50 latency / this method's (> 1: faster than every peer) and
    throughput_ratio = this method's throughput / the best peer's to every timed row. Returns
    {"latency": fastest peer, "throughput": best peer}, or None without a timed peer.
    """
    timed = {m: r for m, r in rows.items() if m in peers and "latency_p50_us" in r}
    if not timed:
        return None
    fastest = min(timed, key=lambda m: timed[m]["latency_p50_us"])
    best_tp = max(timed, key=lambda m: timed[m]["batch_solves_per_s"])
    for r in rows.values():
        if "latency_p50_us" in r:
            r["speedup_p50"] = timed[fastest]["latency_p50_us"] / r["latency_p50_us"]
            r["throughput_ratio"] = r["batch_solves_per_s"] / timed[best_tp]["batch_solves_per_s"]
    return {"latency": fastest, "throughput": best_tp}


def solver_only_view(row, iterations, single) -> dict:
    """Rename a :func:`summary` row to the ``--solver-only`` report's keys.

    iterations: (m,) LM iterations the solver spent per target (a statistic, not a verdict);
    single: the judge's verdict on the single-query answers.
    """
    return {
        "targets": row["targets"],
        "success": row["success_1e-6"],
        "failures": row["failures_1e-6"],
        "within_limits": row["within_limits"] == 1.0,
        "pos_err_median": row["pos_err_median"],
        "pos_err_p99": row["pos_err_p99"],
        "rot_err_median": row["rot_err_median"],
        "rot_err_p99": row["rot_err_p99"],
        "iterations_median": float(np.median(iterations)),
        "latency_p50_us": row["latency_p50_us"],
        "latency_p99_us": row["latency_p99_us"],
        "batch_solves_per_s": row["batch_solves_per_s"],
        "single_success": float(single.strict.mean()),
    }


def task_space_view(row) -> dict:
    """Rename a :func:`summary` row to the deck study's task-space keys (mm, degrees)."""
    return {
        "pos_err_median_mm": row["pos_err_median"] * 1e3,
        "rot_err_median_deg": float(np.degrees(row["rot_err_median"])),
        "success_1mm_1deg": row["success_1mm_1deg"],
        "success_1e-6": row["success_1e-6"],
    }


def latency_ms_view(row) -> dict:
    """Return a :func:`summary` row's single-query p50 and p99 in milliseconds."""
    return {"latency_p50_ms": row["latency_p50_us"] * 1e-3,
            "latency_p99_ms": row["latency_p99_us"] * 1e-3}

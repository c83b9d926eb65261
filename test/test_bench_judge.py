"""The bench's one judge, its summary rows and how methods are timed.

The judge uses our FK and the joint limits, never a method's own success flag.
"""
import numpy as np

from ik_nn import load_arm
from ik_nn.bench import methods, results
from ik_nn.bench.judge import judge
from ik_nn.bench.targets import make_targets, perturbed


def test_judge_uses_our_fk_and_limits():
    arm = load_arm("rrr")
    q, T = make_targets(arm, 4)
    answers = q.copy()
    answers[1, 0] += 1e-3                     # off target
    answers[2] = [np.nan] * 3                 # a peer that returned garbage
    answers[3, 0] = arm.upper[0] + 2 * np.pi  # same pose on a periodic wrap, outside limits
    v = judge(arm, T, answers)
    assert v.strict.tolist() == [True, False, False, False]
    assert v.loose.tolist() == [True, True, False, False]
    assert v.within_limits.tolist() == [True, True, False, False]


class ClaimsSuccess:
    """A method that answers off target and says every answer is exact (success, zero error)."""

    def __init__(self, T, answers):
        self.T, self.answers = T, answers

    def solve(self, T, seed=None):
        from ik_nn.solver import IKResult

        T = np.asarray(T).reshape(-1, 4, 4)
        idx = [int(np.flatnonzero((self.T == t).all(axis=(1, 2)))[0]) for t in T]
        n = len(idx)
        return IKResult(self.answers[idx], np.ones(n, bool), np.zeros(n), np.zeros(n),
                        np.ones(n, dtype=np.int64), np.full(n, np.nan))


def test_judge_ignores_a_methods_own_success_flag():
    arm = load_arm("rrr")
    q, T = make_targets(arm, 8)
    off = perturbed(arm, q, 0.05)  # inside the limits, centimetres off target
    off[0] = q[0]                  # one answer really is exact
    run = methods.SolverRun(ClaimsSuccess(T, off), T, single=8)
    methods.time_interleaved([run])
    row = methods.judged_row(arm, run, of=8)
    assert row["success_1e-6"] == 1 / 8 and row["failures_1e-6"] == 7
    assert row["within_limits"] == 1.0
    assert row["pos_err_median"] > 1e-4  # the error our FK measures, not the claimed 0
    single = judge(arm, T, run.single_q)
    view = results.solver_only_view(row, run.result.iterations, single)
    assert view["success"] == 1 / 8 and view["failures"] == 7 and view["single_success"] == 1 / 8


def test_summary_row_counts_and_percentiles():
    arm = load_arm("rrr")
    q, T = make_targets(arm, 10)
    answers = q.copy()
    answers[:3, 1] += 0.01
    v = judge(arm, T, answers)
    lat = np.arange(1, 101) * 1e-6
    row = results.summary(v, lat, batch_seconds=0.5, of=20)
    assert row["targets"] == 10 and row["of"] == 20 and row["single_queries"] == 100
    assert row["success_1e-6"] == 0.7 and row["failures_1e-6"] == 3
    assert np.isclose(row["latency_p50_us"], 50.5) and np.isclose(row["latency_p99_us"], 99.01)
    assert row["batch_solves_per_s"] == 20.0
    assert np.isnan(results.percentile([], 50))


def test_ratios_to_fastest_peer():
    rows = {"nn_refine": {"latency_p50_us": 50.0, "batch_solves_per_s": 1000.0},
            "rtb_ik_LM": {"latency_p50_us": 100.0, "batch_solves_per_s": 100.0},
            "ikpy": {"latency_p50_us": 1e4, "batch_solves_per_s": 200.0}}
    peers = methods.PEER_METHODS
    assert results.add_ratios(rows, peers) == {"latency": "rtb_ik_LM", "throughput": "ikpy"}
    assert rows["nn_refine"]["speedup_p50"] == 2.0
    assert rows["nn_refine"]["throughput_ratio"] == 5.0
    assert results.add_ratios({"nn_refine": rows["nn_refine"]}, peers) is None


def test_single_queries_are_timed_in_interleaved_rounds():
    calls = []

    class Fake:
        def __init__(self, name, m):
            self.name, self.lat = name, np.zeros(m)

        def time_range(self, a, b):
            calls.append((self.name, a, b))
            self.lat[a:b] = 1.0

    a, b = Fake("a", 10), Fake("b", 4)
    methods.time_interleaved([a, b])
    # target by target, the first method rotating; b's 4 targets end, a's go on
    assert calls[:4] == [("a", 0, 1), ("b", 0, 1), ("b", 1, 2), ("a", 1, 2)]
    assert calls[8:] == [("a", i, i + 1) for i in range(4, 10)]
    assert a.lat.all() and b.lat.all()  # every target timed exactly once per method

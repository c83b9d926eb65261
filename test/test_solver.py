"""The solver against targets made by FK: honest success flags, limits, redundancy, restarts."""
from pathlib import Path

import numpy as np
import pytest

import ik_nn
from ik_nn import IKSolver
from ik_nn.kinematics import pose_error

ARMS = list(ik_nn.BUNDLED_ARMS)
REPO_ARMS = Path(__file__).resolve().parent / "arms"   # held-out arms, not bundled


def fk_targets(arm, n, seed):
    rng = np.random.default_rng(seed)
    q = arm.random_q(n, rng)
    return q, arm.fk(q), rng


@pytest.mark.parametrize("name", ARMS)
def test_fk_made_targets_from_perturbed_seeds(name):
    arm = ik_nn.load_arm(name)
    q, T, rng = fk_targets(arm, 2000, 10)
    seed = np.clip(q + rng.uniform(-0.3, 0.3, q.shape), arm.lower, arm.upper)
    res = IKSolver(arm, model=None).solve(T, seed)
    assert res.q.shape == (2000, arm.dof) and res.success.shape == (2000,)
    assert res.success.mean() >= 0.999
    assert arm.within_limits(res.q).all()
    # the flags are honest: recompute the errors independently of the solver
    pe, re = pose_error(T, arm.fk(res.q))
    np.testing.assert_allclose(pe, res.pos_err, atol=1e-15)
    np.testing.assert_allclose(re, res.rot_err, atol=1e-12)
    assert np.all(pe[res.success] <= 1e-6) and np.all(re[res.success] <= 1e-6)
    assert np.all((pe > 1e-6) | (re > 1e-6) | res.success)


@pytest.mark.parametrize("name", ARMS)
def test_without_seed_uses_restarts(name):
    arm = ik_nn.load_arm(name)
    _, T, _ = fk_targets(arm, 300, 11)
    res = IKSolver(arm, model=None).solve(T)
    assert res.success.mean() >= 0.99
    assert arm.within_limits(res.q).all()


@pytest.mark.parametrize("name", ARMS)
def test_unreachable_targets_fail_honestly(name):
    arm = ik_nn.load_arm(name)
    _, T, _ = fk_targets(arm, 20, 12)
    far = T.copy()
    far[:, :3, 3] *= 1.5 * arm.reach / np.linalg.norm(far[:, :3, 3], axis=1, keepdims=True)
    solver = IKSolver(arm, model=None, max_restarts=8)
    res = solver.solve(far)
    assert not res.success.any()
    assert np.all(res.pos_err >= 0.5 * arm.reach - 1e-9)
    assert arm.within_limits(res.q).all()
    pe, _ = pose_error(far, arm.fk(res.q))
    np.testing.assert_allclose(pe, res.pos_err, atol=1e-15)
    # beyond the reach (an upper bound on the tool's distance from the first joint), no start
    # can succeed: the default budget's 100 restarts are skipped, only the mid-limits attempt
    origin = arm.spec.fixed[0][:3, 3]
    assert (np.linalg.norm(far[:, :3, 3] - origin, axis=1) > arm.reach).all()
    quick = IKSolver(arm, model=None, timeout=0.0).solve(far)
    assert not quick.success.any() and (quick.iterations <= 100).all()


def test_position_only_keeps_rrr_joint_3_at_the_seed():
    arm = ik_nn.load_arm("rrr")
    q, T, rng = fk_targets(arm, 500, 13)
    seed = np.clip(q + rng.uniform(-0.3, 0.3, q.shape), arm.lower, arm.upper)
    T[:, :3, :3] = np.eye(3)  # orientation is ignored in position-only mode
    res = IKSolver(arm, model=None).solve(T, seed, position_only=True)
    assert res.success.mean() >= 0.999
    assert np.all(res.rot_err == 0)
    np.testing.assert_allclose(arm.fk(res.q)[:, :3, 3], T[:, :3, 3], atol=1e-6)
    ok = res.success
    np.testing.assert_allclose(res.q[ok, 2], seed[ok, 2], atol=1e-9)  # θ3 cannot move the point


def test_rrrrrr_keeps_the_split_of_the_coaxial_joints():
    """Only θ3 + θ4 is determined; minimum-norm steps leave θ3 − θ4 where the seed had it.

    Configurations are drawn in 2/3 of the limits so that steps are rarely clipped by a limit
    (a clipped step breaks the symmetry between the two joints).
    """
    arm = ik_nn.load_arm("rrrrrr")
    rng = np.random.default_rng(14)
    q = arm.random_q(500, rng) * (2 / 3)
    T = arm.fk(q)
    seed = q + rng.uniform(-0.3, 0.3, q.shape)
    res = IKSolver(arm, model=None, max_restarts=0).solve(T, seed)
    assert res.success.mean() >= 0.99
    kept = np.abs((res.q[:, 2] - res.q[:, 3]) - (seed[:, 2] - seed[:, 3])) < 1e-9
    assert (kept & res.success).mean() >= 0.99


def test_tighter_tolerance_is_honoured():
    arm = ik_nn.load_arm("ur5")
    q, T, rng = fk_targets(arm, 200, 15)
    seed = q + rng.uniform(-0.3, 0.3, q.shape)
    res = IKSolver(arm, model=None, pos_tol=1e-10, rot_tol=1e-10).solve(T, seed)
    assert res.success.mean() >= 0.99
    assert np.all(res.pos_err[res.success] <= 1e-10) and np.all(res.rot_err[res.success] <= 1e-10)


def test_single_pose_and_determinism():
    arm = ik_nn.load_arm("ur5")
    q, T, _ = fk_targets(arm, 30, 16)
    a = IKSolver(arm, model=None, random_seed=3).solve(T)
    b = IKSolver(arm, model=None, random_seed=3).solve(T)
    np.testing.assert_array_equal(a.q, b.q)
    one = IKSolver(arm, model=None).solve(T[0], seed=q[0] + 0.1)
    assert one.q.shape == (1, 6) and one.success[0]
    assert len(one) == 1 and one.iterations[0] >= 1


def test_seed_at_the_answer_takes_no_iterations():
    arm = ik_nn.load_arm("rrrrrr")
    q, T, _ = fk_targets(arm, 10, 17)
    res = IKSolver(arm, model=None).solve(T, q)
    assert res.success.all() and np.all(res.iterations == 0)
    np.testing.assert_array_equal(res.q, q)


def test_bad_inputs_raise_clear_errors():
    arm = ik_nn.load_arm("rrr")
    solver = IKSolver(arm, model=None)
    T = arm.fk(np.zeros(3))
    bad = T.copy()
    bad[0, 0, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        solver.solve(bad)
    with pytest.raises(ValueError, match="shape"):
        solver.solve(np.eye(3))
    with pytest.raises(ValueError, match="seed must have shape"):
        solver.solve(T, seed=np.zeros(4))
    with pytest.raises(ValueError, match="seed contains NaN"):
        solver.solve(T, seed=[0, np.inf, 0])
    with pytest.raises(ValueError, match="network"):
        IKSolver(arm, model=None, refine=False)


@pytest.mark.parametrize("model", [None, "bundled"])
def test_seed_keeps_the_answer_on_the_arms_branch(model):
    """Two configurations of one UR5 pose on different branches: each seed gets its own."""
    arm = ik_nn.load_arm("ur5")
    qa = np.array([0.3, -1.2, 1.4, -0.9, 1.1, 0.4])
    T = arm.fk(qa)[0]
    other = IKSolver(arm, model=None, random_seed=5).solve(
        np.repeat(T[None], 64, 0), seed=arm.random_q(64, np.random.default_rng(5)))
    far = other.success & (np.linalg.norm(other.q - qa, axis=1) > 1.0)
    qb = other.q[np.flatnonzero(far)[0]]
    d = np.array([0.05, -0.04, 0.03, -0.05, 0.04, -0.03])
    solver = IKSolver(arm, model=model)
    for q_branch in (qa, qb):
        res = solver.solve(T, seed=q_branch + d)
        assert res.success[0]
        assert np.abs(res.q[0] - q_branch).max() < 0.1


def test_periodic_joints_stay_on_the_seeds_turn():
    arm = ik_nn.load_arm("ur5")
    q, T, rng = fk_targets(arm, 200, 18)
    seed = q + 2 * np.pi * rng.integers(-1, 2, q.shape)  # same poses, other turns
    seed = np.where((seed > arm.upper) | (seed < arm.lower), q, seed) + 0.05
    res = IKSolver(arm, model=None).solve(T, seed)
    assert res.success.all()
    assert np.abs(res.q - seed).max() < 0.5


@pytest.mark.parametrize("name", ARMS)
def test_bundled_network_cold_start(name):
    arm = ik_nn.load_arm(name)
    solver = IKSolver(arm)
    if solver.seeder is None:
        pytest.fail(f"no bundled model for {name}")
    _, T, _ = fk_targets(arm, 1000, 19)
    basin = IKSolver(arm, max_restarts=0, network_first=True).solve(T)
    assert basin.success.mean() >= 0.99  # the network's hypotheses alone find the basin
    res = solver.solve(T)
    assert res.success.mean() >= 0.999 and arm.within_limits(res.q).all()


def test_refine_false_returns_the_best_ranked_hypothesis():
    arm = ik_nn.load_arm("ur5")
    _, T, _ = fk_targets(arm, 50, 20)
    net = IKSolver(arm, refine=False)
    res = net.solve(T)
    H, score = net.hypotheses(T)
    np.testing.assert_array_equal(res.q, H[:, 0])
    assert np.all(np.diff(score, axis=1) >= 0)  # best first when no seed is given
    pe, re = pose_error(T, arm.fk(res.q))
    np.testing.assert_allclose(res.pos_err, pe)
    assert not res.success.any() and np.all(res.iterations == 0)
    assert np.median(pe) < 0.05  # a seed, not an answer: centimetres, to be refined


@pytest.mark.parametrize("name", ["rrr_full", "ur5"])
def test_single_query_path_matches_the_batch_path(name):
    """One pose without a seed takes the compiled single-query path.

    Its answers, flags and errors are the batch path's, in both modes, and bad poses are still
    refused.
    """
    arm = ik_nn.load_arm(name)
    solver = IKSolver(arm)
    _, T, _ = fk_targets(arm, 40, 21)
    for position_only in (False, True):
        batch = solver.solve(T, position_only=position_only)
        for i in range(T.shape[0]):
            for pose in (T[i], T[i:i + 1]):  # (4, 4) and (1, 4, 4)
                one = solver.solve(pose, position_only=position_only)
                assert one.q.shape == (1, arm.dof)
                np.testing.assert_array_equal(one.q[0], batch.q[i])
                assert one.success[0] == batch.success[i]
                assert one.pos_err[0] == batch.pos_err[i]
                assert one.rot_err[0] == batch.rot_err[i]
        assert batch.success.all()
        pe, re = pose_error(T, arm.fk(batch.q))
        assert pe.max() <= 1e-6 and (position_only or re.max() <= 1e-6)
    far = T[0].copy()
    far[:3, 3] *= 3.0 * arm.reach / np.linalg.norm(far[:3, 3])  # out of reach: restarts
    # run, then an honest failure
    res = solver.solve(far)
    assert not res.success[0] and res.pos_err[0] > 0.1 * arm.reach
    assert arm.within_limits(res.q).all() and res.iterations[0] > 0
    pe, re = pose_error(far[None], arm.fk(res.q))
    assert pe[0] == pytest.approx(res.pos_err[0]) and re[0] == pytest.approx(res.rot_err[0])
    bad = T[0].copy()
    bad[1, 3] = np.inf
    with pytest.raises(ValueError, match="NaN or inf"):
        solver.solve(bad)
    assert solver.solve(T[0]).success[0]  # and the solver still serves


@pytest.mark.parametrize("name", ["rrr", "ur5"])
@pytest.mark.parametrize("seeded", [False, True])
def test_large_batches_on_threads_equal_small_batches(name, seeded):
    """A batch of PARALLEL_MIN or more runs in chunks on several threads.

    Each chunk has its own network call; every target's answer is the one a small serial batch
    gives.
    """
    from ik_nn.solver import PARALLEL_MIN

    arm = ik_nn.load_arm(name)
    solver = IKSolver(arm)
    q, T, rng = fk_targets(arm, 2 * PARALLEL_MIN + 37, 22)
    # seeds far enough off that many targets fall through to the network pass
    seed = np.clip(q + rng.normal(0, 0.8, q.shape), arm.lower, arm.upper) if seeded else None
    big = solver.solve(T, seed)
    parts = [solver.solve(T[i:i + 50], None if seed is None else seed[i:i + 50])
             for i in range(0, T.shape[0], 50)]
    for field in ("q", "success", "pos_err", "rot_err", "iterations", "jump"):
        np.testing.assert_array_equal(getattr(big, field),
                                      np.concatenate([getattr(p, field) for p in parts]))
    assert big.success.mean() >= 0.99 and arm.within_limits(big.q).all()


# ---------------------------------------------------------------- continuity (issue: motion)
PANDA = REPO_ARMS / "panda_dh.yaml"


def near_limits(arm, n, rng, band=0.2):
    """(n, dof) configurations with each joint, half the time, within ``band`` of a limit."""
    q = arm.random_q(n, rng)
    edge = np.where(rng.random(q.shape) < 0.5, arm.lower + band * rng.random(q.shape),
                    arm.upper - band * rng.random(q.shape))
    return np.where(rng.random(q.shape) < 0.5, edge, q)


@pytest.mark.parametrize("name", ["ur5", "rrrrrr", str(PANDA)])
@pytest.mark.parametrize("model", ["bundled", None])
def test_seeded_answers_stay_on_the_seeds_branch_near_limits(name, model):
    """A seed 0.13 rad from a solution near the limits is answered on that solution's branch.

    No answer moves a joint more than the distance to it plus the LM's slack.
    """
    arm = ik_nn.load_arm(name)
    solver = IKSolver(arm, model=model)
    rng = np.random.default_rng(31)           # not the seeds the policy was tried on
    q = near_limits(arm, 1000, rng)
    d = rng.normal(size=q.shape)
    seed = np.clip(q + 0.13 * d / np.abs(d).max(axis=1, keepdims=True), arm.lower, arm.upper)
    res = solver.solve(arm.fk(q), seed=seed)
    assert res.success.all()
    np.testing.assert_allclose(res.jump, np.abs(res.q - seed).max(axis=1))
    assert res.jump.max() < 0.5, np.sort(res.jump)[-5:]


def test_jump_is_reported_and_max_jump_bounds_success():
    arm = ik_nn.load_arm("ur5")
    q, T, rng = fk_targets(arm, 200, 32)
    free = IKSolver(arm).solve(T)
    assert np.isnan(free.jump).all()              # no seed, no jump
    far = arm.random_q(200, rng)                  # seeds nowhere near the answers
    loose = IKSolver(arm).solve(T, seed=far)
    bounded = IKSolver(arm, max_jump=0.5).solve(T, seed=far)
    assert loose.success.all() and (loose.jump > 0.5).any()
    # a far answer is reported with its size, never as a success
    assert not bounded.success[bounded.jump > 0.5].any()
    assert bounded.success[bounded.jump <= 0.5].all()
    np.testing.assert_allclose(bounded.jump, np.abs(bounded.q - far).max(axis=1))
    with pytest.raises(ValueError, match="max_jump"):
        IKSolver(arm, max_jump=0.0)


@pytest.mark.parametrize("case,match", [
    ("shear", "pose 3: rotation is not orthonormal"),
    ("scale", "pose 3: rotation is not orthonormal"),
    ("bottom", r"pose 3: bottom row is \[0.0, 0.0, 0.0, 2.0\]"),
    ("reflection", "pose 3: rotation has determinant -1"),
])
def test_poses_that_are_not_rigid_transforms_are_refused(case, match):
    arm = ik_nn.load_arm("ur5")
    solver = IKSolver(arm)
    _, T, _ = fk_targets(arm, 5, 33)
    T = T.copy()
    if case == "shear":
        T[3, 0, 1] += 0.145
    elif case == "scale":
        T[3, :3, :3] *= 1.001
    elif case == "bottom":
        T[3, 3, 3] = 2.0
    else:
        T[3, :3, 2] *= -1.0
    with pytest.raises(ValueError, match=match):
        solver.solve(T)
    with pytest.raises(ValueError, match=match.replace("pose 3", "pose 0")):
        solver.solve(T[3])
    ok = T[0].copy()
    ok[:3, :3] += 1e-9                             # float rounding stays accepted
    assert solver.solve(ok).success[0]


@pytest.mark.parametrize("model", ["bundled", None])
def test_answers_do_not_depend_on_the_batch(model):
    """A target gets the same answer alone, in a batch, or in a batch run on threads.

    Restarts draw from a stream of the pose and random_seed, not of the call.
    """
    from ik_nn.solver import PARALLEL_MIN

    arm = ik_nn.load_arm("rrrrrr")
    solver = IKSolver(arm, model=model)
    q, T, _ = fk_targets(arm, PARALLEL_MIN + 10, 34)
    big = solver.solve(T)
    single = [solver.solve(T[i]) for i in range(0, T.shape[0], 7)]
    again = solver.solve(T[::-1])
    for j, i in enumerate(range(0, T.shape[0], 7)):
        np.testing.assert_array_equal(single[j].q[0], big.q[i])
    np.testing.assert_array_equal(again.q[::-1], big.q)


def test_an_arm_without_a_bundled_network_says_so(caplog):
    with caplog.at_level("WARNING", logger="ik_nn"):
        solver = IKSolver(REPO_ARMS / "panda_dh.yaml")
    assert solver.seeder is None
    assert "no bundled network" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="ik_nn"):
        IKSolver(REPO_ARMS / "panda_dh.yaml", model=None)   # said explicitly: no warning
    assert caplog.text == ""


@pytest.mark.parametrize("name", ["ur5", "rrrrrr"])
def test_network_runs_only_where_the_mid_limits_attempt_fails(name):
    """Without a seed, the network runs only where the mid-limits attempt fails.

    Where one attempt from mid-limits solves a target, the answer is that attempt's (the
    network costs nothing there); elsewhere the network's hypotheses come in.
    """
    arm = ik_nn.load_arm(name)
    _, T, _ = fk_targets(arm, 400, 23)
    mid = IKSolver(arm, model=None, max_restarts=0).solve(T)
    net = IKSolver(arm).solve(T)
    easy = mid.success
    assert 0.3 < easy.mean() < 1.0   # both kinds of targets are in the set
    np.testing.assert_array_equal(net.q[easy], mid.q[easy])
    np.testing.assert_array_equal(net.iterations[easy], mid.iterations[easy])
    assert net.success.all()
    # network_first: the hypotheses first, so the easy targets' answers come from them
    first = IKSolver(arm, network_first=True).solve(T)
    assert first.success.all() and (first.q[easy] != mid.q[easy]).any()
    # one target at a time gives the same answers as the batch
    for k in range(0, 400, 37):
        np.testing.assert_array_equal(IKSolver(arm).solve(T[k]).q[0], net.q[k])


def test_a_start_held_at_a_limit_goes_on_across_a_near_full_turn_gap():
    """A start held at one limit of a nearly full-turn joint goes on from the other limit.

    A UR5 whose θ1 spans ±2.9 rad (0.48 rad short of a turn, like ±166° joints): a start just
    inside one limit, whose solution lies just inside the other, is pulled into the gap, held
    at the limit, and goes on from the other limit. With ±2.5 (a 1.28 rad gap) it does not:
    the rule is for ranges nearly a full turn.
    """
    from ik_nn import candidates
    from ik_nn.kinematics import pack_chain
    from ik_nn.solver import IKResult

    arm = ik_nn.load_arm("ur5")
    settings = candidates.settings(
        pos_tol=1e-9, rot_tol=1e-9, max_iterations=100, max_restarts=0, timeout=0.0,
        branch_tol=0.1, continuity_tol=0.5, max_jump=0.0, random_seed=0, position_only=False)
    q = np.array([0.0, -1.2, 1.3, -0.7, 1.1, 0.4])
    for limit, crosses in ((2.9, True), (2.5, False)):
        lo, up = arm.lower.copy(), arm.upper.copy()
        lo[0], up[0] = -limit, limit
        periodic = arm.periodic.copy()
        periodic[0] = False
        chain = pack_chain(arm.spec, lo, up, periodic, arm.reach)
        truth, start = q.copy(), q.copy()
        truth[0], start[0] = limit - 0.05, -limit + 0.05   # 0.1 rad + the gap apart
        res = IKResult.empty(1, arm.dof)
        candidates.solve(chain, settings, arm.fk(truth), start.reshape(1, 1, -1), None, res)
        assert -limit <= res.q[0, 0] <= limit
        if crosses:
            assert res.success[0] and abs(res.q[0, 0] - truth[0]) < 1e-6, res.q
        else:
            assert not res.success[0] and res.q[0, 0] < 0, res.q   # held on its side

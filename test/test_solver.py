"""The solver against targets made by FK: honest success flags, limits, redundancy, restarts."""
import numpy as np
import pytest

import ik_nn
from ik_nn import IKSolver
from ik_nn.kinematics import pose_error

ARMS = list(ik_nn.BUNDLED_ARMS)


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
    basin = IKSolver(arm, max_restarts=0).solve(T)
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
    for field in ("q", "success", "pos_err", "rot_err", "iterations"):
        np.testing.assert_array_equal(getattr(big, field),
                                      np.concatenate([getattr(p, field) for p in parts]))
    assert big.success.mean() >= 0.99 and arm.within_limits(big.q).all()

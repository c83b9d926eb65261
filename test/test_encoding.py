"""The network encoding (ik_nn.encoding) and the training labels' canonicalisation."""
import numpy as np
import pytest

from ik_nn import encoding, load_arm
from ik_nn.arm import arm_from_dict
from ik_nn.training import dataset

ARMS = ("rrr", "rrr_full", "rrrrrr", "ur5")


@pytest.fixture(scope="module", params=ARMS)
def arm(request):
    return load_arm(request.param)


def test_layout_widths(arm):
    lay = encoding.layout(arm)
    assert lay.width == encoding.output_width(arm) == arm.dof + arm.periodic.sum()
    cols = np.concatenate([lay.first, lay.second[lay.second >= 0]])
    assert sorted(cols) == list(range(lay.width))  # every column used exactly once


def _rot_z(a):
    T = np.eye(4)
    T[:2, :2] = [[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]
    return T


def test_encode_pose_features(arm):
    rng = np.random.default_rng(1)
    T = arm.fk(arm.random_q(50, rng))
    x = encoding.encode_pose(T, arm)
    assert x.shape == (50, encoding.N_FEATURES) and x.dtype == np.float32
    Tt = T
    if encoding.uses_azimuth(arm):  # turned about z so that y = 0, x ≥ 0
        phi = encoding.azimuth(T, arm)
        Tt = np.stack([_rot_z(-a) for a in phi]) @ T
        assert np.all(np.abs(x[:, 1]) < 1e-7) and np.all(x[:, 0] >= 0)
    else:
        assert not encoding.azimuth(T, arm).any()
    np.testing.assert_allclose(x[:, :3], Tt[:, :3, 3] / arm.reach, atol=1e-6)
    np.testing.assert_allclose(x[:, 3:6], Tt[:, :3, 0], atol=1e-6)
    np.testing.assert_allclose(x[:, 6:9], Tt[:, :3, 1], atol=1e-6)
    np.testing.assert_allclose(x[:, 9:12], Tt[:, :3, 2], atol=1e-6)
    assert np.all(x[:, encoding.FLAG] == 1)
    assert np.all(np.abs(x[:, :3]) <= 1 + 1e-6)  # reach bounds the position
    xp = encoding.encode_pose(T, arm, position_only=True)
    np.testing.assert_array_equal(xp[:, :3], x[:, :3])
    assert np.all(xp[:, 3:] == 0)
    mixed = encoding.encode_pose(T, arm, np.arange(50) % 2 == 0)
    np.testing.assert_array_equal(mixed[::2], xp[::2])
    np.testing.assert_array_equal(mixed[1::2], x[1::2])
    np.testing.assert_array_equal(encoding.encode_pose(T[0], arm), x[:1])


def test_azimuth_is_factored_out_exactly():
    """FK(θ1 + a, rest) = Rz(a) FK(θ1, rest): same features, and decode adds the azimuth."""
    assert [encoding.uses_azimuth(load_arm(n)) for n in ARMS] == [False, True, False, True]
    for name in ("rrr_full", "ur5"):
        arm = load_arm(name)
        rng = np.random.default_rng(11)
        q = arm.random_q(200, rng)
        a = rng.uniform(-np.pi, np.pi, 200)
        q2 = q.copy()
        q2[:, 0] = q[:, 0] + a  # may leave the limits: FK does not care
        T, T2 = arm.fk(q), arm.fk(q2)
        np.testing.assert_allclose(T2, np.stack([_rot_z(v) for v in a]) @ T, atol=1e-12)
        np.testing.assert_allclose(encoding.encode_pose(T2, arm), encoding.encode_pose(T, arm),
                                   atol=2e-6)
        y = encoding.encode_joints(q, arm, encoding.azimuth(T, arm))
        np.testing.assert_allclose(y, encoding.encode_joints(q2, arm, encoding.azimuth(T2, arm)),
                                   atol=2e-6)  # same label for the turned pose
        back = encoding.decode(y, arm, phi=encoding.azimuth(T2, arm))[:, 0]
        np.testing.assert_allclose(arm.fk(back), T2, atol=1e-6)
        with pytest.raises(ValueError, match="phi"):
            encoding.decode(y, arm)


def test_encode_pose_is_in_base_frame():
    """A mounted arm sees the same features as the unmounted one for the same joints."""
    spec = {"name": "rrr", "convention": "standard", "joints": [
        {"name": f"j{i}", "a": a, "d": d, "alpha": al, "theta_offset": 0.0,
         "lower": -1.5, "upper": 1.5} for i, (a, d, al) in
        enumerate([(0.1, 0.2, 0.5), (0.3, 0.0, -0.4), (0.2, 0.1, 0.0)])]}
    plain = arm_from_dict(spec)
    mounted = arm_from_dict({**spec, "base": {"xyz": [1.0, -2.0, 0.5], "rpy": [0.3, -0.2, 1.1]}})
    q = plain.random_q(20, np.random.default_rng(2))
    np.testing.assert_allclose(encoding.encode_pose(mounted.fk(q), mounted),
                               encoding.encode_pose(plain.fk(q), plain), atol=1e-6)


def test_joint_round_trip(arm):
    q = arm.random_q(500, np.random.default_rng(3))
    phi = encoding.azimuth(arm.fk(q), arm)
    raw = encoding.encode_joints(q, arm, phi)
    K = 3
    back = encoding.decode(np.tile(raw, (1, K)), arm, phi=phi)
    assert back.shape == (500, K, arm.dof)
    back = encoding.nearest_representative(back, arm, q[:, None, :])
    np.testing.assert_allclose(back, np.repeat(q[:, None], K, 1), atol=2e-6)


def test_decode_stays_in_limits(arm):
    rng = np.random.default_rng(4)
    raw = rng.normal(0, 3, size=(400, 2 * encoding.output_width(arm)))
    q = encoding.nearest_representative(
        encoding.decode(raw, arm, phi=rng.uniform(-4, 4, 400)), arm,
        rng.uniform(-20, 20, size=(400, 1, arm.dof)))
    assert np.all(arm.within_limits(q.reshape(-1, arm.dof)))


def test_nearest_representative_is_nearest():
    arm = load_arm("ur5")  # ±2π: every angle has two or three representatives in range
    rng = np.random.default_rng(5)
    q = rng.uniform(-np.pi, np.pi, size=(300, arm.dof))
    ref = rng.uniform(arm.lower, arm.upper, size=(300, arm.dof))
    got = encoding.nearest_representative(q, arm, ref)
    assert np.all(arm.within_limits(got))
    np.testing.assert_allclose(np.cos(got), np.cos(q), atol=1e-12)
    np.testing.assert_allclose(np.sin(got), np.sin(q), atol=1e-12)
    for m in (-2, -1, 1, 2):
        alt = got + 2 * np.pi * m
        inside = (alt >= arm.lower) & (alt <= arm.upper)
        assert np.all(np.abs(got - ref)[inside] <= np.abs(alt - ref)[inside] + 1e-12)
    # default reference: mid-limits, i.e. the principal value for symmetric limits
    np.testing.assert_allclose(encoding.nearest_representative(q, arm), q, atol=1e-12)


def test_torch_decode_matches_numpy(arm):
    torch = pytest.importorskip("torch")
    from ik_nn.training.network import LayoutTensors, decode_torch

    rng = np.random.default_rng(6)
    raw = rng.normal(0, 2, size=(64, 4 * encoding.output_width(arm))).astype(np.float32)
    phi = rng.uniform(-np.pi, np.pi, 64)
    want = encoding.decode(raw, arm, phi=phi)
    got = decode_torch(torch.from_numpy(raw), LayoutTensors(arm), torch.from_numpy(phi)).numpy()
    np.testing.assert_allclose(got, want, atol=1e-12)


def test_coaxial_and_position_free_joints():
    assert dataset.coaxial_pairs(load_arm("rrrrrr")) == [(2, 3)]
    for name in ("rrr", "rrr_full", "ur5"):
        assert dataset.coaxial_pairs(load_arm(name)) == []
    free = {n: list(np.flatnonzero(dataset.position_free_joints(load_arm(n)))) for n in ARMS}
    assert free == {"rrr": [2], "rrr_full": [2], "rrrrrr": [5], "ur5": [5]}


def test_canonical_labels_keep_fk_and_are_functions_of_the_pose(arm):
    from ik_nn.kinematics import pose_error

    rng = np.random.default_rng(7)
    q = arm.random_q(300, rng)
    po = rng.random(300) < 0.5
    c = dataset.canonicalize(q, arm, po)
    assert np.all(arm.within_limits(c, 1e-12))
    pos, rot = pose_error(arm.fk(q), arm.fk(c))
    assert pos.max() < 1e-12
    assert rot[~po].max() < 1e-9  # full-pose rows: same pose
    if arm.name == "rrrrrr":  # only θ3 + θ4 matters: any split gives the same label
        q2 = q.copy()
        shift = rng.uniform(-0.3, 0.3, 300)
        q2[:, 2] += shift
        q2[:, 3] -= shift
        ok = arm.within_limits(q2)
        np.testing.assert_allclose(dataset.canonicalize(q2, arm)[ok],
                                   dataset.canonicalize(q, arm)[ok], atol=1e-12)
    if arm.name in ("rrr", "rrr_full"):  # position only: θ3 never moves the tool point
        assert np.all(c[po, 2] == 0.0)


def test_dataset_save_load(tmp_path):
    arm = load_arm("rrr")
    ds = dataset.make_dataset(arm, 1000, seed=3)
    again = dataset.make_dataset(arm, 1000, seed=3)
    np.testing.assert_array_equal(ds.features, again.features)  # seeded
    assert 150 < ds.position_only.sum() < 350
    path = tmp_path / "rrr.npz"
    ds.save(path)
    back = dataset.load_dataset(path, arm)
    np.testing.assert_array_equal(back.targets, ds.targets)
    assert back.seed == 3 and back.dh_hash == arm.dh_hash
    with pytest.raises(ValueError, match="DH hash"):
        dataset.load_dataset(path, load_arm("rrr_full"))

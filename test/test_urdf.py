"""Any arm: URDF → chain, prismatic DH joints, and ``ik-nn urdf`` (export and round trip).

The test URDFs in test/arms/ are written from published kinematic data (each file cites its
source). Their forward kinematics is checked against ikpy's URDF reader (an independent
implementation), and the Panda, UR5e, UR5 and SCARA against DH tables of the same robots.
"""
import math
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

import ik_nn
from ik_nn import ArmError, IKSolver, encoding, load_arm
from ik_nn.arm import arm_from_dict
from ik_nn.cli import main
from ik_nn.kinematics import pose_error, transform
from ik_nn.urdf import align_z
from ik_nn.urdf_export import rpy_from_matrix, to_urdf

ARMS = Path(__file__).resolve().parent / "arms"
FK_TOL = 1e-12
# (file, base_link, tip_link, joints): every chain the tests read (None: the default)
CHAINS = [
    ("panda.urdf", None, "panda_link8", 7),
    ("panda.urdf", None, "panda_hand_tcp", 7),
    ("panda.urdf", "panda_link3", "panda_leftfinger", 5),   # ends in a prismatic finger
    ("ur5e.urdf", None, "tool0", 6),
    ("ur5_legacy.urdf", None, None, 6),
    ("scara.urdf", None, None, 4),
]
RZ_PI = transform(rpy=(0.0, 0.0, math.pi))


def chain_of(file, base, tip):
    return load_arm(ARMS / file, base_link=base, tip_link=tip)


def random_q(arm, n=200, seed=0):
    return arm.random_q(n, np.random.default_rng(seed))


def dh_arm(rows, convention="standard", **extra):
    """An arm from DH rows (a, d, alpha, theta_offset[, type]) with wide limits."""
    joints = []
    for i, row in enumerate(rows):
        a, d, alpha, off = row[:4]
        j = {"name": f"j{i + 1}", "a": a, "d": d, "alpha": alpha, "theta_offset": off,
             "lower": -3.0, "upper": 3.0}
        if len(row) > 4:
            j.update(type=row[4], lower=-0.2, upper=0.3)
        joints.append(j)
    return arm_from_dict({"name": "t", "convention": convention, "joints": joints, **extra})


# ---------------------------------------------------------------------- rotation → rpy
def random_rotations(n, seed):
    q = np.random.default_rng(seed).normal(size=(n, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    w, x, y, z = q.T
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], -1),
        np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], -1),
        np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], -1),
    ], axis=1)


def signed_permutations():
    """The 24 rotations that permute the axes (exact entries 0, ±1)."""
    out = []
    for perm in ([0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]):
        for signs in np.ndindex(2, 2, 2):
            R = np.zeros((3, 3))
            R[[0, 1, 2], perm] = [1.0 if s else -1.0 for s in signs]
            if np.linalg.det(R) > 0:
                out.append(R)
    return out


def gimbal_cases():
    out = []
    for pitch in (math.pi / 2, -math.pi / 2):
        for d in (0.0, 1e-15, -1e-15, 1e-12, -1e-9, 1e-6):
            for roll, yaw in ((0.0, 0.0), (0.3, -1.2), (-2.9, 2.9), (math.pi, -math.pi / 2)):
                out.append(transform(rpy=(roll, pitch + d, yaw))[:3, :3])
    return out


@pytest.mark.parametrize("cases", ["random", "permutations", "gimbal", "half_turns"])
def test_rpy_from_matrix_round_trips(cases):
    Rs = {"random": lambda: list(random_rotations(2000, 1)),
          "permutations": signed_permutations,
          "gimbal": gimbal_cases,
          "half_turns": lambda: [np.diag(d) for d in ([1, -1, -1], [-1, 1, -1], [-1, -1, 1])]
          + [transform(rpy=(0.0, 0.0, math.pi))[:3, :3], np.eye(3)]}[cases]()
    assert len(Rs) >= 5
    for R in Rs:
        rpy = rpy_from_matrix(R)
        back = transform(rpy=rpy)[:3, :3]
        assert np.abs(back - R).max() <= 2e-15, (R, rpy)
        assert -math.pi <= rpy[0] <= math.pi and -math.pi <= rpy[2] <= math.pi
        assert -math.pi / 2 <= rpy[1] <= math.pi / 2


def test_rpy_from_matrix_reads_back_what_transform_made():
    rng = np.random.default_rng(2)
    for _ in range(500):
        rpy = rng.uniform([-3.1, -1.5, -3.1], [3.1, 1.5, 3.1])
        np.testing.assert_allclose(rpy_from_matrix(transform(rpy=rpy)[:3, :3]), rpy,
                                   atol=1e-13)


def test_align_z_takes_z_to_the_axis():
    for axis in [(0, 0, 1), (0, 0, -1), (1, 0, 0), (0, -1, 0), (0.3, -0.4, 0.5),
                 (1e-9, 0, -1), *random_rotations(50, 3)[:, :, 0]]:
        R = align_z(axis)
        a = np.asarray(axis, dtype=float) / np.linalg.norm(axis)
        np.testing.assert_allclose(R @ [0, 0, 1], a, atol=1e-15)
        np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-15)
        assert np.linalg.det(R) > 0
    assert np.array_equal(align_z((1, 0, 0)), [[0, 0, 1], [0, 1, 0], [-1, 0, 0]])


# ---------------------------------------------------------------------- FK against ikpy
def urdf_path_elements(path, base, tip):
    """[link, joint, link, ...] from base down to tip, and the joints' URDF types."""
    root = ET.parse(path).getroot()
    above = {j.find("child").get("link"): j for j in root.findall("joint")}
    elements, link = [tip], tip
    while link != base:
        joint = above[link]
        link = joint.find("parent").get("link")
        elements += [joint.get("name"), link]
    elements.reverse()
    return elements, [above[e].get("type") for e in elements[2::2]]


@pytest.mark.parametrize("file, base, tip, dof", CHAINS)
def test_fk_matches_ikpy(file, base, tip, dof):
    pytest.importorskip("ikpy")
    import warnings

    from ikpy.chain import Chain
    from ikpy.link import OriginLink
    from ikpy.urdf.URDF import get_urdf_parameters

    arm = chain_of(file, base, tip)
    assert arm.dof == dof
    elements, types = urdf_path_elements(ARMS / file, arm.base_link, arm.tip_link)
    moving = [t != "fixed" for t in types]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # ikpy follows the listed path, then the first child: cut it at the tip
        links = get_urdf_parameters(str(ARMS / file), base_elements=elements,
                                    symbolic=False)[:len(types)]
        chain = Chain([OriginLink(), *links], active_links_mask=[False, *moving])
    q = random_q(arm)
    full = np.zeros((q.shape[0], len(types) + 1))
    full[:, 1:][:, moving] = q
    theirs = np.array([chain.forward_kinematics(row) for row in full])
    err = np.abs(theirs - arm.fk(q)).max()
    assert err <= FK_TOL, err
    assert [lk.name for lk, m in zip(links, moving) if m] == list(arm.joint_names)


@pytest.mark.parametrize("file, tip", [("ur5e.urdf", "tool0"), ("ur5_legacy.urdf", "ee_link"),
                                       ("scara.urdf", "tool0")])
def test_fk_matches_roboticstoolbox(file, tip):
    rtb = pytest.importorskip("roboticstoolbox")
    import warnings

    arm = chain_of(file, None, tip)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        robot = rtb.Robot.URDF(str(ARMS / file))
    assert robot.n == arm.dof
    q = random_q(arm, 50)
    theirs = np.array([robot.fkine(row, end=tip).A for row in q])
    assert np.abs(theirs - arm.fk(q)).max() <= FK_TOL


# ---------------------------------------------------------------------- same robots, DH
def test_panda_urdf_is_the_panda_dh_table():
    """panda_link8 is the DH flange; the hand's TCP is it turned -π/4 and moved 0.1034 m."""
    dh = load_arm(ARMS / "panda_dh.yaml")
    q = random_q(dh, 500)
    flange = chain_of("panda.urdf", None, "panda_link8")
    assert flange.joint_names == dh.joint_names
    np.testing.assert_array_equal(flange.lower, dh.lower)
    np.testing.assert_array_equal(flange.velocity, dh.velocity)
    assert np.abs(flange.fk(q) - dh.fk(q)).max() <= FK_TOL
    tcp = chain_of("panda.urdf", None, "panda_hand_tcp")
    hand = transform(rpy=(0.0, 0.0, -math.pi / 4)) @ transform(xyz=(0.0, 0.0, 0.1034))
    assert np.abs(tcp.fk(q) - dh.fk(q) @ hand).max() <= FK_TOL


UR5E_DH = [(0, 0.1625, "pi/2", 0), (-0.425, 0, 0, 0), (-0.3922, 0, 0, 0),
           (0, 0.1333, "pi/2", 0), (0, 0.0997, "-pi/2", 0), (0, 0.0996, 0, 0)]


def test_ur5e_urdf_is_its_dh_table():
    """base_link is the DH base turned π about z; the "base" link is the DH base itself.

    2e-9: the published calibration rounds the quarter turns (1.570796327) and leaves 2e-11 m
    residues in z.
    """
    dh = dh_arm(UR5E_DH)
    q = random_q(dh, 500)
    arm = chain_of("ur5e.urdf", None, "tool0")
    assert np.abs(arm.fk(q) - RZ_PI @ dh.fk(q)).max() <= 2e-9
    base = chain_of("ur5e.urdf", "base", "tool0")   # climbs the fixed base_link → base joint
    assert base.base_link == "base" and base.joint_names == arm.joint_names
    assert np.abs(base.fk(q) - dh.fk(q)).max() <= 2e-9


def test_ur5_legacy_urdf_is_the_bundled_ur5():
    """base_link is the DH base turned π about z; ee_link is the DH flange with axes permuted.

    1e-8: the ROS 1 file writes the quarter turns as 1.570796325.
    """
    ur5 = load_arm("ur5")
    arm = chain_of("ur5_legacy.urdf", None, None)
    assert arm.base_link == "world" and arm.tip_link == "ee_link"
    assert arm.joint_names == ur5.joint_names
    q = random_q(ur5, 500)
    offset = np.linalg.inv(RZ_PI @ ur5.fk(np.zeros(6))[0]) @ arm.fk(np.zeros(6))[0]
    np.testing.assert_allclose(offset[:3, 3], 0, atol=1e-8)
    np.testing.assert_allclose(np.abs(offset[:3, :3]), [[0, 1, 0], [0, 0, 1], [1, 0, 0]],
                               atol=1e-8)
    assert np.abs(arm.fk(q) - RZ_PI @ ur5.fk(q) @ offset).max() <= 1e-8
    # axes along y in the file, turning the same way as the DH joints
    np.testing.assert_allclose(arm.spec.axis[[1, 2, 3, 5]], [[0, 1, 0]] * 4)


def test_scara_urdf_is_its_prismatic_dh_table():
    urdf = chain_of("scara.urdf", None, None)
    dh = load_arm(ARMS / "scara_dh.yaml")
    q = random_q(dh, 500)
    assert np.abs(urdf.fk(q) - dh.fk(q)).max() <= FK_TOL
    for arm in (urdf, dh):
        assert arm.prismatic.tolist() == [False, False, True, False]
        assert arm.periodic.tolist() == [False, False, False, True]
        np.testing.assert_allclose([arm.lower[2], arm.upper[2], arm.velocity[2]],
                                   [-0.15, 0.0, 1.0])
        dist = np.linalg.norm(arm.fk(random_q(arm, 5000))[:, :3, 3] - arm.base[:3, 3], axis=1)
        assert dist.max() <= arm.reach
    # the stroke moves the tool along the base z axis, by exactly q
    lo, hi = q.copy(), q.copy()
    lo[:, 2], hi[:, 2] = -0.15, 0.0
    np.testing.assert_allclose(dh.fk(hi)[:, :3, 3] - dh.fk(lo)[:, :3, 3], [[0, 0, 0.15]] * 500,
                               atol=1e-15)


# ---------------------------------------------------------------------- DH YAML, prismatic
def test_prismatic_dh_joint_slides_by_q_plus_d():
    for convention in ("standard", "modified"):
        arm = dh_arm([(0.1, 0.0, "pi/2", 0.0), (0.2, 0.05, 0.0, 0.3, "prismatic"),
                      (0.0, 0.1, 0.0, 0.0)], convention)
        q = random_q(arm, 100)
        a = q.copy()
        a[:, 1] += 0.01
        moved = arm.fk(a)[:, :3, 3] - arm.fk(q)[:, :3, 3]
        np.testing.assert_allclose(np.linalg.norm(moved, axis=1), 0.01, atol=1e-15)
        J = arm.jacobian(q)
        np.testing.assert_allclose(J[:, 3:, 1], 0, atol=1e-15)         # no rotation
        np.testing.assert_allclose(J[:, :3, 1] * 0.01, moved, atol=1e-15)
        assert arm.prismatic.tolist() == [False, True, False] and not arm.periodic[1]
        # reach: hypot(a, largest |q + d|) for the slide: 0.1 + hypot(0.2, 0.35) + 0.1
        assert arm.reach == pytest.approx(0.2 + math.hypot(0.2, 0.35))
        dist = np.linalg.norm(arm.fk(random_q(arm, 5000))[:, :3, 3], axis=1)
        assert dist.max() <= arm.reach


def test_joint_types_change_the_hash_and_revolute_hashes_stay():
    rows = [(0.1, 0.0, "pi/2", 0.0), (0.2, 0.05, 0.0, 0.0)]
    revolute = dh_arm(rows)
    typed = dh_arm([rows[0], (*rows[1], "revolute")])
    assert typed.dh_hash != revolute.dh_hash   # (its limits differ: -0.2..0.3)
    slide = dh_arm([rows[0], (*rows[1], "prismatic")])
    assert slide.dh_hash != typed.dh_hash
    # the shipped networks were trained for these hashes: all-revolute arms keep them
    assert load_arm("ur5").dh_hash == "34ed3ccec56bf17e"
    assert load_arm("rrrrrr").dh_hash == "a485ed189694157f"


PRISMATIC_YAML = ("name: p\nconvention: standard\njoints:\n  - {name: s, type: prismatic, a: 0, "
                  "d: 0, alpha: 0, theta_offset: 0, lower: -0.1, upper: 0.1}\n")


J1 = r"joint 1 \(joints\[0\]\), field "


@pytest.mark.parametrize("old, new, message", [
    ("type: prismatic", "type: spherical", J1 + "'type': unknown joint type 'spherical'"),
    ("lower: -0.1", "lower: -pi", J1 + "'lower': expected a number"),   # metres
    ("upper: 0.1}", "upper: 0.1, velocity: 0}", J1 + "'velocity': must be positive"),
])
def test_prismatic_yaml_errors_name_file_and_field(tmp_path, old, new, message):
    path = tmp_path / "p.yaml"
    path.write_text(PRISMATIC_YAML.replace(old, new))
    with pytest.raises(ArmError, match=message) as err:
        load_arm(path)
    assert str(path) in str(err.value)


# ---------------------------------------------------------------------- URDF arms at large
def test_urdf_arm_fields():
    arm = chain_of("panda.urdf", None, "panda_link8")
    assert arm.name == "panda" and arm.convention is None
    assert arm.base_link == "world" and arm.tip_link == "panda_link8"
    assert arm.path == str(ARMS / "panda.urdf")
    with pytest.raises(ArmError, match="comes from a URDF and has no DH table"):
        _ = arm.dh
    assert arm.dh_hash == chain_of("panda.urdf", None, "panda_link8").dh_hash
    assert arm.dh_hash != chain_of("panda.urdf", None, "panda_hand_tcp").dh_hash
    # base: the first joint's frame (z along its axis); reach bounds the tool from there
    np.testing.assert_allclose(arm.base[:3, 3], [0, 0, 0.333])
    dist = np.linalg.norm(arm.fk(random_q(arm, 5000))[:, :3, 3] - arm.base[:3, 3], axis=1)
    assert dist.max() <= arm.reach
    text = (ARMS / "panda.urdf").read_text()
    same = load_arm(text, tip_link="panda_link8")   # URDF text, not a path
    assert same.path == "<urdf text>" and same.dh_hash == arm.dh_hash


def test_azimuth_symmetry_holds_in_the_urdf_base_frame():
    """A periodic first joint about any axis: turning it turns the features about z only."""
    urdf = """<robot name="tilted">
      <link name="a"/><link name="b"/><link name="c"/><link name="d"/>
      <joint name="j1" type="continuous"><parent link="a"/><child link="b"/>
        <origin xyz="0.1 -0.2 0.3" rpy="0.4 -0.5 0.6"/><axis xyz="0.3 -0.5 0.8"/></joint>
      <joint name="j2" type="revolute"><parent link="b"/><child link="c"/>
        <origin xyz="0.3 0 0.1" rpy="1.5707963267948966 0 0"/><axis xyz="0 0 1"/>
        <limit lower="-2" upper="2" velocity="1"/></joint>
      <joint name="j3" type="prismatic"><parent link="c"/><child link="d"/>
        <origin xyz="0.2 0.1 0"/><axis xyz="1 0 0"/>
        <limit lower="0" upper="0.2" velocity="0.5"/></joint>
    </robot>"""
    arm = load_arm(urdf)
    assert encoding.uses_azimuth(arm) and arm.periodic.tolist() == [True, False, False]
    np.testing.assert_array_equal(arm.lower[0], -2 * math.pi)
    q = random_q(arm, 100)
    turned = q.copy()
    turned[:, 0] += 0.7
    a, b = (encoding.encode_pose(arm.fk(x), arm) for x in (q, turned))
    np.testing.assert_allclose(a, b, atol=1e-6)   # float32 features
    phi = encoding.azimuth(arm.fk(turned), arm) - encoding.azimuth(arm.fk(q), arm)
    np.testing.assert_allclose(np.angle(np.exp(1j * phi)), 0.7, atol=1e-12)


@pytest.mark.parametrize("file, base, tip, dof", CHAINS[:2] + CHAINS[3:])
def test_solver_solves_urdf_arms(file, base, tip, dof):
    arm = chain_of(file, base, tip)
    q = random_q(arm, 100, seed=4)
    T = arm.fk(q)
    solver = IKSolver(arm, model=None)
    for position_only in (False, True):
        res = solver.solve(T, position_only=position_only)
        assert res.success.mean() >= 0.97
        assert arm.within_limits(res.q).all()
        pe, re = pose_error(T, arm.fk(res.q))
        assert np.all(pe[res.success] <= 1e-6)
        if not position_only:
            assert np.all(re[res.success] <= 1e-6)


# ---------------------------------------------------------------------- URDF errors
ROBOT = """<robot name="r">
  <link name="base"/><link name="l1"/><link name="l2"/>
  <joint name="j1" type="revolute"><parent link="base"/><child link="l1"/>
    <origin xyz="0 0 0.1" rpy="0 0 0"/><axis xyz="0 0 1"/>
    <limit lower="-1" upper="1" velocity="2"/></joint>
  <joint name="j2" type="revolute"><parent link="l1"/><child link="l2"/>
    <origin xyz="0.2 0 0"/><axis xyz="0 1 0"/>
    <limit lower="-1" upper="1" velocity="2"/></joint>
</robot>"""
J2 = """<joint name="j2" type="revolute"><parent link="l1"/><child link="l2"/>
    <origin xyz="0.2 0 0"/><axis xyz="0 1 0"/>
    <limit lower="-1" upper="1" velocity="2"/></joint>"""


def test_a_small_urdf_reads_as_written():
    arm = load_arm(ROBOT)
    assert arm.joint_names == ("j1", "j2") and arm.name == "r"
    np.testing.assert_array_equal(arm.velocity, [2, 2])
    T = arm.fk([0.3, -0.4])[0]
    expected = (transform((0, 0, 0.1), (0, 0, 0.3)) @ transform((0.2, 0, 0), (0, -0.4, 0)))
    np.testing.assert_allclose(T, expected, atol=1e-15)
    no_velocity = load_arm(ROBOT.replace(' velocity="2"/></joint>\n</robot>', '/></joint>\n'
                                         "</robot>"))
    np.testing.assert_array_equal(no_velocity.velocity, [2, ik_nn.arm.DEFAULT_VELOCITY])
    default_axis = load_arm(ROBOT.replace('<axis xyz="0 1 0"/>', ""))
    np.testing.assert_array_equal(default_axis.spec.axis[1], [1, 0, 0])
    continuous = load_arm(ROBOT.replace('type="revolute"', 'type="continuous"')
                          .replace('lower="-1" upper="1" ', ""))
    np.testing.assert_array_equal(continuous.upper, [2 * math.pi] * 2)
    assert continuous.periodic.all()


def _swap(old, new):
    return ROBOT.replace(old, new)


@pytest.mark.parametrize("text, message", [
    ("<robot><link", "not valid XML"),
    ("<model/>", r"top element is <model>, expected <robot>"),
    ('<robot xmlns:xacro="http://www.ros.org/wiki/xacro"><xacro:macro name="m"/></robot>',
     r"xacro.*xacro robot.urdf.xacro > robot.urdf"),
    (_swap('xyz="0.2 0 0"', 'xyz="${l} 0 0"'), "unexpanded xacro expression"),
    (_swap('<limit lower="-1" upper="1" velocity="2"/></joint>\n</robot>', "</joint></robot>"),
     r"joint 'j2': a revolute joint needs <limit lower=\.\.\. upper=\.\.\.>"),
    (_swap('lower="-1" upper="1" velocity="2"/></joint>\n</robot>',
           'lower="1" upper="1" velocity="2"/></joint>\n</robot>'),
     r"joint 'j2' <limit>: lower \(1.0\) must be below upper"),
    (_swap('<origin xyz="0.2 0 0"/>', '<origin xyz="0.2 0"/>'),
     r"joint 'j2' <origin xyz>: expected 3 finite numbers, got '0.2 0'"),
    (_swap('<axis xyz="0 1 0"/>', '<axis xyz="0 0 0"/>'),
     r"joint 'j2' <axis xyz>: the axis must not be zero"),
    (_swap('velocity="2"/></joint>\n</robot>', 'velocity="0"/></joint>\n</robot>'),
     r"joint 'j2' <limit velocity>: must be positive"),
    (_swap('name="j2" type="revolute"', 'name="j2" type="floating"'),
     r"joint 'j2': type 'floating' is not supported"),
    (_swap('name="j2" type="revolute"', 'name="j2" type="planar"'),
     r"joint 'j2': type 'planar' is not supported"),
    (_swap('name="j2" type="revolute"', 'name="j2" type="ball"'),
     r"joint 'j2': unknown joint type 'ball'"),
    (_swap('<axis xyz="0 1 0"/>', '<axis xyz="0 1 0"/><mimic joint="j1"/>'),
     r"joint 'j2': mimics joint 'j1'"),
    (_swap('<child link="l2"/>', '<child link="l9"/>'),
     r"joint 'j2': <child link='l9'> is not a link"),
    (_swap('<child link="l2"/>', '<child link="l1"/>'),
     r"joint 'j2': link 'l1' is already the child of joint 'j1'"),
    (_swap('<link name="l2"/>', '<link name="l2"/><link name="other"/>'),
     r"expected one root link, found 2: \['base', 'other'\]"),
    (_swap('<link name="l2"/>', '<link name="l2"/><link name="l1"/>'),
     "link 'l1' defined twice"),
    (_swap('name="j2" type="revolute"', 'name="j2" type="fixed"')
     .replace('name="j1" type="revolute"', 'name="j1" type="fixed"'),
     "no revolute, continuous or prismatic joint between 'base' and 'l2'"),
])
def test_urdf_errors_name_the_source_and_the_element(text, message):
    with pytest.raises(ArmError, match=message) as err:
        load_arm(text)
    assert str(err.value).startswith("<urdf text>: ")


def test_urdf_chain_choice_errors_and_files(tmp_path):
    branched = ROBOT.replace("</robot>", '<link name="cam"/><joint name="jc" type="fixed">'
                             '<parent link="l1"/><child link="cam"/></joint></robot>')
    with pytest.raises(ArmError, match="tree branches below 'base'; its leaves are l2, cam"):
        load_arm(branched)
    assert load_arm(branched, tip_link="cam").dof == 1
    with pytest.raises(ArmError, match="tip_link 'nope' is not a link"):
        load_arm(ROBOT, tip_link="nope")
    with pytest.raises(ArmError, match="base_link 'nope' is not a link"):
        load_arm(ROBOT, base_link="nope")
    with pytest.raises(ArmError, match="base_link 'l2' has no joints below it"):
        load_arm(ROBOT, base_link="l2")
    with pytest.raises(ArmError, match="passes the revolute joint 'j2'"):
        load_arm(branched, base_link="l2", tip_link="cam")
    with pytest.raises(ArmError, match="joint 'panda_finger_joint2': mimics joint "
                                       "'panda_finger_joint1'"):
        chain_of("panda.urdf", None, "panda_rightfinger")
    # files: the error names the file; a .urdf.xacro gets the xacro advice
    path = tmp_path / "robot.urdf"
    path.write_text(_swap('<axis xyz="0 1 0"/>', '<axis xyz="0 0 0"/>'))
    with pytest.raises(ArmError, match="axis must not be zero") as err:
        load_arm(path)
    assert str(err.value).startswith(f"{path}: joint 'j2'")
    xacro = tmp_path / "robot.urdf.xacro"
    xacro.write_text('<robot xmlns:xacro="http://ros.org/wiki/xacro" name="r">'
                     '<xacro:include filename="x.xacro"/></robot>')
    with pytest.raises(ArmError, match="xacro robot.urdf.xacro > robot.urdf"):
        load_arm(xacro)
    with pytest.raises(ArmError, match="base_link/tip_link apply to URDF files"):
        load_arm(ARMS / "panda_dh.yaml", tip_link="x")
    with pytest.raises(ArmError, match="base_link/tip_link apply when reading a URDF"):
        load_arm(load_arm("ur5"), base_link="x")


# ---------------------------------------------------------------------- export
EXPORTED = [*ik_nn.BUNDLED_ARMS, "panda_dh.yaml", "scara_dh.yaml",
            *[(f, b, t) for f, b, t, _ in CHAINS], ("ur5e.urdf", "base", "tool0")]


def _arm(which):
    if isinstance(which, tuple):
        return chain_of(*which)
    return load_arm(ARMS / which if which.endswith(".yaml") else which)


@pytest.mark.parametrize("which", EXPORTED, ids=str)
def test_export_round_trip_keeps_fk_limits_and_names(which):
    arm = _arm(which)
    text = to_urdf(arm)
    back = load_arm(text)
    q = random_q(arm, 1000, seed=5)
    assert np.abs(back.fk(q) - arm.fk(q)).max() <= FK_TOL
    assert back.joint_names == arm.joint_names and back.name == arm.name
    np.testing.assert_array_equal(back.lower, arm.lower)
    np.testing.assert_array_equal(back.upper, arm.upper)
    np.testing.assert_array_equal(back.velocity, arm.velocity)
    np.testing.assert_array_equal(back.prismatic, arm.prismatic)
    assert back.tip_link == (arm.tip_link or "tool0")
    assert back.base_link == (arm.base_link or "base_link")
    again = load_arm(to_urdf(back, visuals=False))   # and once more, from the URDF arm
    assert np.abs(again.fk(q) - arm.fk(q)).max() <= FK_TOL and again.dh_hash == back.dh_hash


@pytest.mark.parametrize("convention", ["standard", "modified"])
def test_export_folds_offsets_base_and_tool(convention):
    arm = dh_arm([(0.1, 0.2, "pi/3", 0.4), (0.2, 0.05, -0.7, 0.3, "prismatic"),
                  (0.0, 0.1, "pi/2", -1.1)], convention,
                 base={"xyz": [1.0, -2.0, 0.5], "rpy": [0.3, -0.2, 1.1]},
                 tool={"xyz": [0.0, 0.02, 0.1], "rpy": [0.0, "pi/2", 0.0]})
    back = load_arm(to_urdf(arm))
    q = random_q(arm, 1000)
    assert np.abs(back.fk(q) - arm.fk(q)).max() <= FK_TOL
    assert not back.spec.offset.any()   # the offsets are in the origins


def test_exported_urdf_reads_the_same_in_ikpy(tmp_path):
    pytest.importorskip("ikpy")
    import warnings

    from ikpy.chain import Chain

    for which in ("ur5", "scara_dh.yaml"):
        arm = _arm(which)
        path = tmp_path / "arm.urdf"
        path.write_text(to_urdf(arm))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            chain = Chain.from_urdf_file(str(path), base_elements=["base_link"], symbolic=False)
        assert len(chain.links) == arm.dof + 2   # origin, the joints, the tool joint
        q = random_q(arm, 100)
        full = np.zeros((100, arm.dof + 2))
        full[:, 1:-1] = q
        theirs = np.array([chain.forward_kinematics(row) for row in full])
        assert np.abs(theirs - arm.fk(q)).max() <= FK_TOL


def test_export_has_what_rviz_needs():
    root = ET.fromstring(to_urdf("rrrrrr"))
    links = {lk.get("name") for lk in root.findall("link")}
    joints = root.findall("joint")
    assert len(links) == 8 and len(joints) == 7
    for joint in joints:
        assert {joint.find("parent").get("link"), joint.find("child").get("link")} <= links
        if joint.get("type") != "fixed":
            limit = joint.find("limit")
            assert {"lower", "upper", "velocity", "effort"} <= set(limit.attrib)
    visuals = root.findall("link/visual")
    assert visuals and all(v.find("material").get("name") in {"ik_nn_link", "ik_nn_joint"}
                           for v in visuals)
    assert not ET.fromstring(to_urdf("rrrrrr", visuals=False)).findall("link/visual")


def test_urdf_command(tmp_path, capsys):
    out = tmp_path / "ur5.urdf"
    assert main(["urdf", "ur5", "-o", str(out)]) == 0
    assert load_arm(out).joint_names == load_arm("ur5").joint_names
    assert main(["urdf", str(ARMS / "panda.urdf"), "--tip-link", "panda_link8",
                 "--no-visuals"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("<?xml") and "<visual>" not in printed
    assert load_arm(printed).tip_link == "panda_link8"
    assert main(["urdf", str(ARMS / "panda.urdf")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("ik-nn urdf: error: ") and "panda_rightfinger" in err

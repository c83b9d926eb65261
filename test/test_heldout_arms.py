"""Held-out arms (test/arms/heldout/): real robots, written from published kinematic data.

The solver is never tuned on these arms, only measured on them (test/arms/heldout/README.md).
These tests check that every file loads, that the set has the shape it promises (≥ 11 arms,
≥ 4 URDF, ≥ 5 DH YAML, ≥ 3 with 7 joints, a prismatic joint, standard and modified DH), and that
its forward kinematics agrees with independent libraries to 1e-9 m (measured: ≤ 2e-15):

* URDF files against ikpy's URDF reader (``Chain.from_urdf_file``);
* DH YAML files against a ``roboticstoolbox`` ``DHRobot`` built from the YAML text, read here
  without the package's loader (``RevoluteDH``/``RevoluteMDH``/``PrismaticDH``, base, tool).

Where Corke's toolbox ships a model of the same robot the table is compared with it too:
``puma560_dh.yaml`` is ``rtb.models.DH.Puma560()``, ``ur10_dh.yaml`` is ``UR10()`` and
``stanford_dh.yaml`` is ``Stanford()`` (same FK to 1e-15, same qlim for the PUMA and the
Stanford arm). The toolbox's other models are different robots or conventions: ``UR3`` is the
CB3 UR3, not the UR3e; ``LWR4`` the LWR IV, not the iiwa; ``KR5`` and ``IRB140`` are not in the
set; its ``Sawyer`` DH (third-party, Layeghi 2017) has the same offset sums as sawyer.urdf
(d = 317, 192.5, 400, 168.5, 400, 136.3 mm; a1 = 81 mm) but another zero pose, no 10° wrist
tilt and a 133.75 mm last link (the URDF's 0.11 + 0.0245 = 134.5 mm), so it is not compared.

Each arm is also checked against a number the vendor (or the model's author) publishes, where
one was found (:data:`PUBLISHED`, :data:`REACH`); tables derived from a vendor's URDF are checked
against that URDF's origins (:func:`test_dh_table_is_the_vendor_urdf`).
"""
import math
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import yaml

from ik_nn import BUNDLED_ARMS, load_arm
from ik_nn.kinematics import transform

ARMS = Path(__file__).resolve().parent / "arms"
HELDOUT = ARMS / "heldout"
FILES = sorted(p for p in HELDOUT.iterdir() if p.suffix in (".yaml", ".urdf"))
URDFS = [p for p in FILES if p.suffix == ".urdf"]
DHS = [p for p in FILES if p.suffix == ".yaml"]
FK_TOL = 1e-9
NOT_HELD_OUT = {"rrr", "rrr_full", "rrrrrr", "ur5", "ur5e", "panda", "scara"}


def ids(paths):
    return [p.name for p in paths]


def random_q(arm, n=100, seed=0):
    return arm.random_q(n, np.random.default_rng(seed))


def angle(value) -> float:
    """A YAML angle: a number, or ``[-][k*]pi[/m]`` (read here, not by the loader)."""
    if not isinstance(value, str):
        return float(value)
    text = value.replace(" ", "")
    sign = -1.0 if text.startswith("-") else 1.0
    head, _, div = text.lstrip("+-").partition("/")
    assert head.endswith("pi"), value
    mul = head[:-2].rstrip("*") or "1"
    return sign * float(mul) * math.pi / float(div or 1)


# ---------------------------------------------------------------------- the set
def test_the_set_has_its_promised_shape():
    arms = {p.name: load_arm(p) for p in FILES}
    dofs = [a.dof for a in arms.values()]
    conventions = {a.convention for a in arms.values() if a.convention}
    assert len(arms) >= 11 and len(URDFS) >= 4 and len(DHS) >= 5
    assert dofs.count(7) >= 3 and set(dofs) <= {6, 7}
    assert sum(a.prismatic.any() for a in arms.values()) >= 1
    assert conventions == {"standard", "modified"}
    # none of the bundled arms nor of the arms already in test/arms/
    names = {a.name for a in arms.values()}
    assert not names & (NOT_HELD_OUT | set(BUNDLED_ARMS)), names
    assert (HELDOUT / "README.md").is_file()
    readme = (HELDOUT / "README.md").read_text()
    assert all(p.name in readme for p in FILES)


@pytest.mark.parametrize("path", FILES, ids=ids(FILES))
def test_arm_loads_with_finite_limits(path):
    arm = load_arm(path)
    assert arm.dof in (6, 7)
    for arr in (arm.lower, arm.upper, arm.velocity):
        assert arr.shape == (arm.dof,) and np.isfinite(arr).all()
    assert (arm.lower < arm.upper).all() and (arm.velocity > 0).all()
    q = random_q(arm)
    T = arm.fk(q)
    assert np.isfinite(T).all()
    dist = np.linalg.norm(T[:, :3, 3] - arm.base[:3, 3], axis=1)
    assert dist.max() <= arm.reach + 1e-12


@pytest.mark.parametrize("path", DHS, ids=ids(DHS))
def test_dh_file_cites_its_source_and_matches_its_text(path):
    data = yaml.safe_load(path.read_text())
    arm = load_arm(path)
    assert len(data["source"]) > 20 and data["name"] == arm.name
    rows = [[angle(j[k]) for k in ("a", "d", "alpha", "theta_offset")] for j in data["joints"]]
    np.testing.assert_array_equal(arm.dh, rows)
    np.testing.assert_array_equal(arm.lower, [angle(j["lower"]) for j in data["joints"]])
    np.testing.assert_array_equal(arm.upper, [angle(j["upper"]) for j in data["joints"]])


@pytest.mark.parametrize("path", URDFS, ids=ids(URDFS))
def test_urdf_is_one_plain_chain_with_its_source(path):
    text = path.read_text()
    assert "Source:" in text and "xacro" not in text.split("-->", 1)[1]
    root = ET.fromstring(text)
    joints = root.findall("joint")
    parents = [j.find("parent").get("link") for j in joints]
    assert len(parents) == len(set(parents)), "a link with two children: not one chain"
    arm = load_arm(path)   # default base (the root) and tip (the only leaf)
    assert len(joints) == len(root.findall("link")) - 1
    assert [j.get("name") for j in joints if j.get("type") != "fixed"] == list(arm.joint_names)
    for j in joints:
        assert j.find("origin") is not None
        if j.get("type") != "fixed":
            lim = j.find("limit")
            assert lim is not None and float(lim.get("velocity")) > 0


def test_urdfs_have_turned_origins_other_axes_and_tool_frames():
    """Turned origins (rpy), joint axes off z, and a fixed tool frame at the tip."""
    turned, off_z, tool_tip = set(), set(), set()
    for path in URDFS:
        root = ET.parse(path).getroot()
        joints = root.findall("joint")
        if any(np.any(np.array(j.find("origin").get("rpy").split(), float)) for j in joints):
            turned.add(path.name)
        axes = [np.array(j.find("axis").get("xyz").split(), float) for j in joints
                if j.get("type") != "fixed"]
        if any(abs(a[2]) < 0.5 for a in axes):
            off_z.add(path.name)
        if joints[-1].get("type") == "fixed":
            tool_tip.add(path.name)
    assert len(turned) >= 4 and off_z & tool_tip, (turned, off_z, tool_tip)


# ---------------------------------------------------------------------- FK, independent libraries
@pytest.mark.parametrize("path", URDFS, ids=ids(URDFS))
def test_urdf_fk_matches_ikpy(path):
    pytest.importorskip("ikpy")
    from ikpy.chain import Chain

    arm = load_arm(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # ikpy warns about its own active-links mask
        chain = Chain.from_urdf_file(str(path), base_elements=[arm.base_link])
    moving = [link.name in arm.joint_names for link in chain.links]
    assert [lk.name for lk, m in zip(chain.links, moving) if m] == list(arm.joint_names)
    q = random_q(arm)
    full = np.zeros((len(q), len(chain.links)))
    full[:, moving] = q
    theirs = np.array([chain.forward_kinematics(row) for row in full])
    err = np.abs(theirs - arm.fk(q)).max()
    assert err <= FK_TOL, err


def dh_robot(path):
    """A roboticstoolbox DHRobot from the YAML text (not from the package's loader)."""
    rtb = pytest.importorskip("roboticstoolbox")
    from spatialmath import SE3

    data = yaml.safe_load(path.read_text())
    std = data["convention"] == "standard"
    links = []
    for j in data["joints"]:
        a, d, alpha, off = (angle(j[k]) for k in ("a", "d", "alpha", "theta_offset"))
        if j.get("type") == "prismatic":
            cls = rtb.PrismaticDH if std else rtb.PrismaticMDH
            links.append(cls(theta=off, a=a, alpha=alpha, offset=d))
        else:
            cls = rtb.RevoluteDH if std else rtb.RevoluteMDH
            links.append(cls(d=d, a=a, alpha=alpha, offset=off))

    def frame(key):
        spec = data.get(key) or {}
        rpy = [angle(v) for v in spec.get("rpy", [0, 0, 0])]
        return SE3(transform(spec.get("xyz", [0, 0, 0]), rpy), check=False)

    return rtb.DHRobot(links, name=data["name"], base=frame("base"), tool=frame("tool"))


def rtb_fk(robot, q):
    return np.array([robot.fkine(row).A for row in q])


@pytest.mark.parametrize("path", DHS, ids=ids(DHS))
def test_dh_fk_matches_roboticstoolbox(path):
    robot = dh_robot(path)
    arm = load_arm(path)
    assert robot.n == arm.dof and robot.mdh == (arm.convention == "modified")
    q = random_q(arm, 60)
    err = np.abs(rtb_fk(robot, q) - arm.fk(q)).max()
    assert err <= FK_TOL, err


@pytest.mark.parametrize("file, model, same_qlim", [
    ("puma560_dh.yaml", "Puma560", True),
    ("ur10_dh.yaml", "UR10", False),
    ("stanford_dh.yaml", "Stanford", True),
])
def test_dh_table_is_corkes_model(file, model, same_qlim):
    rtb = pytest.importorskip("roboticstoolbox")
    robot = getattr(rtb.models.DH, model)()
    arm = load_arm(HELDOUT / file)
    q = random_q(arm, 60)
    assert np.abs(rtb_fk(robot, q) - arm.fk(q)).max() <= FK_TOL
    if same_qlim:
        np.testing.assert_allclose(robot.qlim, [arm.lower, arm.upper], rtol=0, atol=1e-12)


# ---------------------------------------------------------------------- published numbers
# file: (q, or None for all zeros; tool-frame position (m) at q; tolerance (m)). Each number is
# explained in the file's header comment.
PUBLISHED = {
    # Corke's qz: fkine(qz) = [0.4521, -0.1500, 0.4318] without the 26.45 in = 0.67183 m base
    "puma560_dh.yaml": (None, (0.4521, -0.15005, 0.67183 + 0.4318), 1e-9),
    # UR's zero pose (from UR's table): (a2 + a3, -(d4 + d6), d1 - d5)
    "ur10_dh.yaml": (None, (-0.612 - 0.5723, -0.163941 - 0.0922, 0.1273 - 0.1157), 1e-9),
    "ur3e_dh.yaml": (None, (-0.24355 - 0.2132, -0.13105 - 0.0921, 0.15185 - 0.08535), 1e-9),
    # Corke's Stanford arm upright with a 0.5 m stroke: (0, d2 - a3, d1 + q3)
    "stanford_dh.yaml": ((0, 0, 0.5, 0, 0, 0), (0.0, 0.154 - 0.0203, 0.412 + 0.5), 1e-9),
    # KUKA's nominal LBR iiwa 14 dimensions stacked upright: 360 + 420 + 400 + 126 mm
    "iiwa14_dh.yaml": (None, (0.0, 0.0, 1.306), 1e-9),
    "xarm7_mdh.yaml": (None, (0.0525 + 0.0775 + 0.076, 0.0, 0.267 + 0.293 - 0.3425 - 0.097),
                       1e-9),
    "tx90_mdh.yaml": (None, (0.05, 0.05, 0.478 + 0.425 + 0.425 + 0.1), 1e-9),
    "kr6r900sixx.urdf": (None, (0.025 + 0.455 + 0.420 + 0.080, 0.0, 0.400 + 0.035), 1e-9),
    "irb120.urdf": (None, (0.302 + 0.072, 0.0, 0.29 + 0.27 + 0.07), 1e-9),
    "lrmate200id.urdf": (None, (0.050 + 0.335 + 0.080, 0.0, 0.330 + 0.330 + 0.035), 1e-9),
    # Kinova's upright zero pose: the origins' sums, 24.85 mm aside and 1187.405 mm tall (the
    # exported 3.1416 and 1.5708 tilt the links by ~7e-6 rad: 2e-5 m off at the tip)
    "gen3_7dof.urdf": (None, (0.0, -(0.005375 + 3 * 0.006375 + 2 * 0.00017505),
                              0.15643 + 0.12838 + 2 * 0.21038 + 0.20843 + 2 * 0.10593
                              + 0.061525), 3e-5),
    # The Panda/FR3 DH flange (0.088, 0, 0.926) less the hand's 0.1034 m, pointing down
    "fr3.urdf": (None, (0.088, 0.0, 0.926 - 0.1034), 1e-9),
}
# file: (joints (i, j, k): reach = lateral offset of joint i's origin from the base z axis +
# |o_j - o_i| + |o_k - o_j| at q = 0, published reach (m), tolerance (m))
REACH = {
    "kr6r900sixx.urdf": ((1, 2, 4), 0.9015, 1e-4),   # KUKA: 901.5 mm
    "irb120.urdf": ((1, 2, 4), 0.580, 1e-3),          # ABB: 580 mm (from axis 2, radial 0)
    "lrmate200id.urdf": ((1, 2, 4), 0.717, 1e-3),     # FANUC: 717 mm
    "iiwa14_dh.yaml": ((1, 3, 5), 0.820, 1e-9),       # KUKA: R820, A2 to A6
}


def test_every_arm_has_a_published_check_or_says_why_not():
    """Sawyer: no vendor figure was found to check (see its header comment)."""
    checked = set(PUBLISHED) | set(REACH)
    assert {p.name for p in FILES} - checked == {"sawyer.urdf"}


@pytest.mark.parametrize("file", sorted(PUBLISHED))
def test_fk_gives_the_published_pose(file):
    arm = load_arm(HELDOUT / file)
    q, xyz, tol = PUBLISHED[file]
    q = np.zeros(arm.dof) if q is None else np.array(q, float)
    T = arm.fk(q)[0]
    np.testing.assert_allclose(T[:3, 3], xyz, rtol=0, atol=tol)


@pytest.mark.parametrize("file", sorted(REACH))
def test_joint_origins_give_the_published_reach(file):
    arm = load_arm(HELDOUT / file)
    (i, j, k), reach, tol = REACH[file]
    o = arm.joint_origins(np.zeros(arm.dof))[0]
    lateral = np.linalg.norm(o[i, :2] - o[0, :2])
    got = lateral + np.linalg.norm(o[j] - o[i]) + np.linalg.norm(o[k] - o[j])
    assert abs(got - reach) <= tol, got


def test_gen3_reach_from_joint_2():
    """Kinova: 902 mm reach, joint 2's axis to the end effector, arm straight at q = 0."""
    arm = load_arm(HELDOUT / "gen3_7dof.urdf")
    o = arm.joint_origins(np.zeros(7))[0]
    tip = arm.fk(np.zeros(7))[0][:3, 3]
    assert abs(np.linalg.norm(tip - o[1]) - 0.902) <= 1e-3


def test_fr3_flange_is_the_panda_dh_table():
    """Franka documents one DH table for the Panda and the FR3: fr3_link8 is its flange."""
    dh = load_arm(ARMS / "panda_dh.yaml")
    fr3 = load_arm(HELDOUT / "fr3.urdf", tip_link="fr3_link8")
    q = random_q(fr3, 200)
    assert np.abs(fr3.fk(q) - dh.fk(q)).max() <= 1e-12
    tcp = load_arm(HELDOUT / "fr3.urdf")
    hand = transform(rpy=(0.0, 0.0, -math.pi / 4)) @ transform(xyz=(0.0, 0.0, 0.1034))
    assert np.abs(tcp.fk(q) - dh.fk(q) @ hand).max() <= 1e-12


def urdf_chain(rows, tip=None):
    """URDF text of a chain of (xyz, rpy, axis) joints, and a fixed tip offset."""
    links, joints, parent = ['<link name="l0"/>'], [], "l0"
    for i, (xyz, rpy, axis) in enumerate([*rows, *([(tip, "0 0 0", None)] if tip else [])]):
        child = f"l{i + 1}"
        links.append(f'<link name="{child}"/>')
        moving = (f'<axis xyz="{axis}"/><limit lower="-6" upper="6" velocity="1"/>'
                  if axis else "")
        joints.append(f'<joint name="j{i}" type="{"revolute" if axis else "fixed"}">'
                      f'<parent link="{parent}"/><child link="{child}"/>'
                      f'<origin xyz="{xyz}" rpy="{rpy}"/>{moving}</joint>')
        parent = child
    return f'<robot name="t">{"".join(links + joints)}</robot>'


H = "1.5707963267948966"
VENDOR_URDF = {
    # xarm_ros xarm7.urdf.xacro origins (its 1.5708 written as the exact quarter turn)
    "xarm7_mdh.yaml": ([("0 0 0.267", "0 0 0", "0 0 1"), ("0 0 0", f"-{H} 0 0", "0 0 1"),
                        ("0 -0.293 0", f"{H} 0 0", "0 0 1"), ("0.0525 0 0", f"{H} 0 0", "0 0 1"),
                        ("0.0775 -0.3425 0", f"{H} 0 0", "0 0 1"), ("0 0 0", f"{H} 0 0", "0 0 1"),
                        ("0.076 0.097 0", f"-{H} 0 0", "0 0 1")], None, 1e-15),
    # staubli_experimental tx90_macro.xacro, tool0 = link_6
    "tx90_mdh.yaml": ([("0 0 0.478", "0 0 0", "0 0 1"), ("0.050 0 0", "0 0 0", "0 1 0"),
                       ("0 0.05 0.425", "0 0 0", "0 1 0"), ("0 0 0", "0 0 0", "0 0 1"),
                       ("0 0 0.425", "0 0 0", "0 1 0"), ("0 0 0.100", "0 0 0", "0 0 1")],
                      None, 1e-15),
    # kuka_experimental lbr_iiwa_14_r820_macro.xacro; its measured +-0.00043624 m x offsets at
    # A2 and A4 move the flange by up to 8.4e-4 m from KUKA's nominal table
    "iiwa14_dh.yaml": ([("0 0 0", "0 0 0", "0 0 1"), ("-0.00043624 0 0.36", "0 0 0", "0 1 0"),
                        ("0 0 0", "0 0 0", "0 0 1"), ("0.00043624 0 0.42", "0 0 0", "0 -1 0"),
                        ("0 0 0", "0 0 0", "0 0 1"), ("0 0 0.4", "0 0 0", "0 1 0"),
                        ("0 0 0", "0 0 0", "0 0 1")], "0 0 0.126", 1e-3),
}


@pytest.mark.parametrize("file", sorted(VENDOR_URDF))
def test_dh_table_is_the_vendor_urdf(file):
    rows, tip, tol = VENDOR_URDF[file]
    dh = load_arm(HELDOUT / file)
    urdf = load_arm(urdf_chain(rows, tip))
    q = random_q(dh, 200)
    assert np.abs(urdf.fk(q) - dh.fk(q)).max() <= tol

"""launch/ik.launch.py, checked without ROS 2 launch installed.

Stub ``launch`` / ``launch_ros`` modules with the real names and keyword signatures (Jazzy /
Kilted) are put in sys.modules; the launch file's ``generate_launch_description()`` runs against
them, and the recorded description is checked: it only names executables that setup.py installs,
parameter files that exist under config/, declared arguments (each described), and conditions.
"""
import ast
import importlib.util
import re
import sys
import types
from pathlib import Path

import pytest
import yaml

from ik_nn.arm import BUNDLED_ARMS

REPO = Path(__file__).resolve().parents[1]
LAUNCH_FILE = REPO / "launch" / "ik.launch.py"

# keyword arguments launch.actions.ExecuteProcess (and so launch_ros Node) accepts
EXECUTE_PROCESS_KWARGS = {
    "output", "emulate_tty", "respawn", "respawn_delay", "respawn_max_retries", "sigterm_timeout",
    "sigkill_timeout", "additional_env", "env", "cwd", "prefix", "shell", "log_cmd",
    "cached_output", "on_exit", "output_format", "condition", "name",
}


class Recorded:
    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs


class LaunchDescription(Recorded):
    def __init__(self, initial_entities=None, *, deprecated_reason=None):
        super().__init__(initial_entities)
        self.entities = list(initial_entities or [])


class DeclareLaunchArgument(Recorded):
    def __init__(self, name, *, default_value=None, description=None, choices=None, **kwargs):
        assert set(kwargs) <= {"condition"}, kwargs
        super().__init__(name, default_value=default_value, description=description,
                         choices=choices, **kwargs)
        self.name, self.default_value, self.description, self.choices = (
            name, default_value, description, choices)


class LaunchConfiguration(Recorded):
    def __init__(self, variable_name, *, default=None):
        super().__init__(variable_name, default=default)
        self.variable_name = variable_name


class PathJoinSubstitution(Recorded):
    def __init__(self, substitutions):
        super().__init__(substitutions)
        self.substitutions = substitutions


class IfCondition(Recorded):
    def __init__(self, predicate_expression):
        super().__init__(predicate_expression)
        self.predicate = predicate_expression


class UnlessCondition(IfCondition):
    pass


class FindPackageShare(Recorded):
    def __init__(self, package):
        super().__init__(package)
        self.package = package


class Node(Recorded):
    def __init__(self, *, executable, package=None, name=None, namespace=None, exec_name=None,
                 parameters=None, remappings=None, ros_arguments=None, arguments=None, **kwargs):
        unknown = set(kwargs) - EXECUTE_PROCESS_KWARGS
        assert not unknown, f"launch_ros Node has no argument(s) {unknown}"
        super().__init__(executable=executable, package=package, name=name, namespace=namespace,
                         parameters=parameters, **kwargs)
        self.executable, self.package, self.name = executable, package, name
        self.namespace, self.parameters = namespace, parameters
        self.condition = kwargs.get("condition")


STUBS = {
    "launch": {"LaunchDescription": LaunchDescription},
    "launch.actions": {"DeclareLaunchArgument": DeclareLaunchArgument},
    "launch.conditions": {"IfCondition": IfCondition, "UnlessCondition": UnlessCondition},
    "launch.substitutions": {"LaunchConfiguration": LaunchConfiguration,
                             "PathJoinSubstitution": PathJoinSubstitution},
    "launch_ros": {},
    "launch_ros.actions": {"Node": Node},
    "launch_ros.substitutions": {"FindPackageShare": FindPackageShare},
}


@pytest.fixture(scope="module")
def description():
    saved = {name: sys.modules.get(name) for name in STUBS}
    try:
        for name, attrs in STUBS.items():
            mod = types.ModuleType(name)
            mod.__dict__.update(attrs)
            sys.modules[name] = mod
        spec = importlib.util.spec_from_file_location("ik_launch_under_test", LAUNCH_FILE)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        ld = module.generate_launch_description()
    finally:
        for name, mod in saved.items():
            if mod is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = mod
    assert isinstance(ld, LaunchDescription)
    return ld


def console_scripts():
    """console_scripts of setup.py's entry_points, read with ast (nothing is run)."""
    tree = ast.parse((REPO / "setup.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            for k, v in zip(node.keys, node.values):
                if isinstance(k, ast.Constant) and k.value == "console_scripts":
                    return {ast.literal_eval(e).split("=")[0].strip() for e in v.elts}
    raise AssertionError("setup.py has no console_scripts")


def resolve(sub):
    """A path substitution evaluated as colcon would install it (share = the source tree)."""
    if isinstance(sub, str):
        return sub
    if isinstance(sub, FindPackageShare):
        assert sub.package == "ik_nn"
        return str(REPO)
    if isinstance(sub, PathJoinSubstitution):
        return str(Path(*[resolve(s) for s in sub.substitutions]))
    raise AssertionError(f"cannot resolve {sub!r}")


def arguments(ld):
    return {e.name: e for e in ld.entities if isinstance(e, DeclareLaunchArgument)}


def nodes(ld):
    return {e.executable: e for e in ld.entities if isinstance(e, Node)}


def test_imports_only_real_launch_api():
    tree = ast.parse(LAUNCH_FILE.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            assert node.module in STUBS, node.module
            for alias in node.names:
                assert alias.name in STUBS[node.module], f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            raise AssertionError(f"unexpected import {ast.dump(node)}")


def test_declares_the_documented_arguments_each_described(description):
    args = arguments(description)
    assert {"arm", "use_sim", "demo", "namespace", "params_file"} <= set(args)
    for a in args.values():
        assert a.description and len(a.description) > 10, a.name
        assert a.default_value is not None, a.name
    assert args["arm"].choices is None   # any bundled name or YAML path; the nodes check it
    assert args["arm"].default_value in BUNDLED_ARMS
    for flag in ("use_sim", "demo"):
        assert args[flag].choices == ["true", "false"] and args[flag].default_value == "true"


def test_every_launch_configuration_is_declared():
    declared = set(re.findall(r"DeclareLaunchArgument\(\s*'(\w+)'", LAUNCH_FILE.read_text()))
    used = set(re.findall(r"LaunchConfiguration\('(\w+)'\)", LAUNCH_FILE.read_text()))
    assert used <= declared, used - declared


def test_starts_the_three_installed_executables_by_default(description):
    ns = nodes(description)
    assert set(ns) == {"ik_node", "sim_arm", "target_publisher"}
    assert set(ns) <= console_scripts()   # ros2 launch finds them in lib/ik_nn
    for exe, node in ns.items():
        assert node.package == "ik_nn"
        assert node.name == exe
        assert isinstance(node.namespace, LaunchConfiguration)
        assert node.namespace.variable_name == "namespace"
    assert ns["ik_node"].condition is None   # always started
    for exe, flag in (("sim_arm", "use_sim"), ("target_publisher", "demo")):
        cond = ns[exe].condition
        assert isinstance(cond, IfCondition) and cond.predicate.variable_name == flag


def test_parameters_come_from_an_installed_file_then_the_arm_argument(description):
    args = arguments(description)
    default_file = Path(resolve(args["params_file"].default_value))
    assert default_file.is_file()
    assert default_file.parent == REPO / "config"   # installed by setup.py's tree("config")
    assert "tree(\"config\")" in (REPO / "setup.py").read_text()
    for exe, node in nodes(description).items():
        first, overrides = node.parameters
        assert isinstance(first, LaunchConfiguration) and first.variable_name == "params_file"
        assert overrides["arm"].variable_name == "arm"
        # a URDF arm's chain reaches every node: arm:=robot.urdf base_link:=... tip_link:=...
        assert overrides["base_link"].variable_name == "base_link"
        assert overrides["tip_link"].variable_name == "tip_link"
    assert {"base_link", "tip_link"} <= set(args)
    assert args["base_link"].default_value == "" and args["tip_link"].default_value == ""
    assert "URDF" in args["arm"].description


def test_params_file_sets_only_parameters_the_nodes_declare(description):
    data = yaml.safe_load((REPO / "config" / "ik_nn.yaml").read_text())
    common = (REPO / "ik_nn" / "ros" / "common.py").read_text()
    arm_params = set(re.findall(r'declare\(\s*node,\s*"(\w+)"', common))   # declare_arm()
    assert {"arm", "robot_description", "base_link", "tip_link"} <= arm_params
    for exe in nodes(description):
        source = (REPO / "ik_nn" / "ros" / f"{exe}.py").read_text()
        declared = set(re.findall(r'declare\(\s*self,\s*"(\w+)"', source))
        if "declare_arm(self)" in source:
            declared |= arm_params
        section = data[f"/**/{exe}"]["ros__parameters"]
        assert set(section) <= declared, set(section) - declared
        assert "arm" in section and "arm" in declared

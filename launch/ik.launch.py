"""Bring up ik_node, the simulated arm and the demo target stream for one arm.

    ros2 launch ik_nn ik.launch.py                      # ur5 in the root namespace
    ros2 launch ik_nn ik.launch.py arm:=rrr namespace:=rrr
    ros2 launch ik_nn ik.launch.py arm:=ur5 use_sim:=false demo:=false   # IK node only

Run it again with another ``arm`` and ``namespace`` for several arms at once (all topics are
relative). Parameters come from ``params_file`` (default: the package's config/ik_nn.yaml);
``arm`` and ``model`` given here override it.
"""
from launch.actions import DeclareLaunchArgument
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare

from launch import LaunchDescription

PACKAGE = 'ik_nn'


def generate_launch_description():
    arm = LaunchConfiguration('arm')
    base_link = LaunchConfiguration('base_link')
    tip_link = LaunchConfiguration('tip_link')
    model = LaunchConfiguration('model')
    namespace = LaunchConfiguration('namespace')
    params_file = LaunchConfiguration('params_file')
    use_sim = LaunchConfiguration('use_sim')
    demo = LaunchConfiguration('demo')

    arguments = [
        DeclareLaunchArgument(
            'arm', default_value='ur5',
            description='Arm of the three nodes: a bundled name (config/arms/<name>.yaml), or '
                        'the path of a DH YAML or URDF file; a wrong value stops the nodes at '
                        'once with an error naming it'),
        DeclareLaunchArgument(
            'base_link', default_value='',
            description='With a URDF arm: first link of the chain (empty: the root link)'),
        DeclareLaunchArgument(
            'tip_link', default_value='',
            description='With a URDF arm: last link of the chain (empty: the only leaf)'),
        DeclareLaunchArgument(
            'model', default_value='bundled',
            description="ik_node's seeding network: 'bundled', 'none' or a path to an .onnx file"),
        DeclareLaunchArgument(
            'namespace', default_value='',
            description='Namespace for all nodes and topics, e.g. ur5 (empty: the root)'),
        DeclareLaunchArgument(
            'params_file',
            default_value=PathJoinSubstitution(
                [FindPackageShare(PACKAGE), 'config', 'ik_nn.yaml']),
            description='ROS 2 parameters file for ik_node, sim_arm and target_publisher'),
        DeclareLaunchArgument(
            'use_sim', default_value='true', choices=['true', 'false'],
            description='Start sim_arm, the simulated arm that follows joint_command'),
        DeclareLaunchArgument(
            'demo', default_value='true', choices=['true', 'false'],
            description='Start target_publisher, a stream of reachable targets on target_pose'),
    ]

    chain = {'arm': arm, 'base_link': base_link, 'tip_link': tip_link}  # the arm, every node
    nodes = [
        Node(
            package=PACKAGE, executable='ik_node', name='ik_node', namespace=namespace,
            parameters=[params_file, dict(chain, model=model)], output='screen'),
        Node(
            package=PACKAGE, executable='sim_arm', name='sim_arm', namespace=namespace,
            parameters=[params_file, chain], output='screen',
            condition=IfCondition(use_sim)),
        Node(
            package=PACKAGE, executable='target_publisher', name='target_publisher',
            namespace=namespace, parameters=[params_file, chain], output='screen',
            condition=IfCondition(demo)),
    ]
    return LaunchDescription(arguments + nodes)

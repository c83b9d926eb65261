"""The command interfaces ik_node can publish, each on its own topic (relative names).

========================  ===============================  ====================================
``command_interfaces``    message                          for
========================  ===============================  ====================================
``joint_state``           sensor_msgs/JointState on        sim_arm, or any listener by joint
                          ``joint_command``                name
``joint_trajectory``      trajectory_msgs/JointTrajectory  ros2_control's
                          on ``joint_trajectory``: one     joint_trajectory_controller
                          point, ``time_from_start`` from  (remap to
                          the joints' velocity limits      ``/<controller>/joint_trajectory``)
``position_array``        std_msgs/Float64MultiArray on    ros2_control's
                          ``position_commands``, joint     forward_position_controller (remap
                          order of the arm                 to ``/<controller>/commands``)
========================  ===============================  ====================================
"""
from __future__ import annotations

from array import array

import numpy as np

INTERFACES = ("joint_state", "joint_trajectory", "position_array")
MIN_DURATION = 0.01  # s: the shortest time_from_start of a trajectory point


class CommandPublishers:
    """One publisher per chosen interface; :meth:`publish` sends a command on each."""

    def __init__(self, node, interfaces, joint_names, velocity):
        self.velocity = np.asarray(velocity, dtype=float)
        self._pubs = []
        for name in interfaces:
            if name == "joint_state":
                from sensor_msgs.msg import JointState

                msg = JointState(name=list(joint_names))
                self._pubs.append((name, node.create_publisher(JointState, "joint_command", 10),
                                   msg))
            elif name == "joint_trajectory":
                from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint

                msg = JointTrajectory(joint_names=list(joint_names),
                                      points=[JointTrajectoryPoint()])
                self._pubs.append((name, node.create_publisher(
                    JointTrajectory, "joint_trajectory", 10), msg))
            elif name == "position_array":
                from std_msgs.msg import Float64MultiArray

                self._pubs.append((name, node.create_publisher(
                    Float64MultiArray, "position_commands", 10), Float64MultiArray()))

    def publish(self, q: np.ndarray, stamp, previous: np.ndarray | None):
        """Send q (dof,) for the target stamped ``stamp``.

        ``previous`` (dof,) or None times the trajectory point: the slowest joint at its
        velocity limit.
        """
        positions = array("d", q)
        for name, pub, msg in self._pubs:
            if name == "joint_state":
                msg.header.stamp = stamp
                msg.position = positions
            elif name == "joint_trajectory":
                # header.stamp stays zero: the controller starts the point on receipt
                point = msg.points[0]
                point.positions = positions
                duration = MIN_DURATION
                if previous is not None:
                    duration = max(duration, float(np.max(np.abs(q - previous) / self.velocity)))
                point.time_from_start.sec = int(duration)
                point.time_from_start.nanosec = int((duration - int(duration)) * 1e9)
            else:
                msg.data = positions
            pub.publish(msg)

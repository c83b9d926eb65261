"""ROS 2 side of ik_nn: message conversions, the three nodes and the pip-only bring-up.

* :mod:`.conversions`: PoseStamped <-> (4, 4), target validation, JointState building;
* :mod:`.common`: parameter declaration, executor, start-up and shutdown shared by the nodes;
* :mod:`.ik_node`, :mod:`.sim_arm`, :mod:`.target_publisher`: one small Node subclass each;
* :mod:`.bringup`: ``ik-nn up``, the same nodes in one process without ``ros2 launch``.
"""

"""Fixtures shared by the tests that talk to nodes over real DDS (see ros_helpers.py).

A test module calls ``ros_helpers.isolate_ros_env()`` at import, before these run, and marks
itself ``pytestmark = pytest.mark.usefixtures("ros_context")``.
"""
import pytest


@pytest.fixture(scope="module")
def ros_context():
    """Initialise rclpy for one test module."""
    import rclpy

    rclpy.init()
    yield
    rclpy.try_shutdown()


@pytest.fixture
def probe():
    """A ros_helpers.Probe; every node it started must stop cleanly (exit 0) on SIGINT."""
    from ros_helpers import Probe

    p = Probe()
    yield p
    codes = p.close()
    for name, code in codes.items():
        assert code == 0, f"{name} exited with {code} after SIGINT"

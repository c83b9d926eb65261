"""What the bench asks for: FK-made target poses, perturbed seeds and ROS target streams.

Every target is our FK of a configuration inside the joint limits, so it is reachable and an
answer is known to exist. The configurations come from seeds no model was trained on (training
uses small integers).
"""
from __future__ import annotations

import threading
import time

import numpy as np

BENCH_SEED = 20261124  # unseen by training (training seeds are small integers)


def make_targets(arm, n, seed=BENCH_SEED):
    """Draw n configurations uniformly inside the limits and make their FK poses.

    Returns q (n, dof) radians and T (n, 4, 4) base→tool poses, metres. The first m rows of
    ``make_targets(arm, n)`` are ``make_targets(arm, m)`` for m ≤ n (same generator stream).
    """
    q = arm.random_q(n, np.random.default_rng(seed))
    return q, arm.fk(q)


def perturbed(arm, q, radius, seed=BENCH_SEED + 1):
    """Add uniform noise in [-radius, radius] rad to q (n, dof) radians, clipped into the limits.

    Returns seeds (n, dof) radians.
    """
    noise = np.random.default_rng(seed).uniform(-radius, radius, q.shape)
    return np.clip(q + noise, arm.lower, arm.upper)


def stream_targets(arm, n, kind, rate, rng):
    """Make n target poses (n, 4, 4), metres, for a stream published at ``rate`` Hz.

    kind ``"random"``: FK of uniform random configurations (worst case for seeding);
    ``"path"``: FK along the smooth joint-space curve of ``target_publisher`` (a streaming
    teleop or trajectory), sampled every 1 / rate seconds from a random phase.
    """
    if kind == "random":
        return arm.fk(arm.random_q(n, rng))
    from ..ros.paths import curve_period, joint_curve

    period = curve_period(arm, 10.0, 0.4)
    phase = rng.uniform(0, 2 * np.pi, arm.dof)
    t = np.arange(n) / rate
    q = np.array([joint_curve(arm, ti, period, 0.4, phase) for ti in t])
    return arm.fk(q)


def publish_paced(executor, pub, msgs, rate, sent, before=None):
    """Publish ``msgs`` at ``rate`` Hz from a thread while ``executor`` spins here.

    Message i goes out at ``i / rate`` s after the first (never early; late ones catch up at
    once); ``sent[i]`` gets its ``time.perf_counter_ns()``. ``before(i)``, if given, runs just
    before message i is published. Returns when the last one is out.
    """
    done = threading.Event()

    def publisher():
        period = 1e9 / rate
        t0 = time.perf_counter_ns()
        for i, m in enumerate(msgs):
            wait = (t0 + int(i * period) - time.perf_counter_ns()) * 1e-9
            if wait > 0:
                time.sleep(wait)
            if before is not None:
                before(i)
            sent[i] = time.perf_counter_ns()
            pub.publish(m)
        done.set()

    th = threading.Thread(target=publisher, daemon=True)
    th.start()
    while not done.is_set():
        executor.spin_once(timeout_sec=0.01)
    th.join()


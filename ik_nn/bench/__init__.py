"""Tools that measure ik_nn (``ik-nn bench``); never imported by the runtime.

They use only the runtime's public API (``load_arm``, ``Arm``, ``IKSolver``, ``pose_error``...).
One job per module, each importing only the ones above it:

* :mod:`~ik_nn.bench.targets` — what is asked: FK-made targets, perturbed seeds, ROS streams;
* :mod:`~ik_nn.bench.judge` — the one verdict: our FK, tolerances and joint limits;
* :mod:`~ik_nn.bench.results` — the one summary row per method and arm, percentiles;
* :mod:`~ik_nn.bench.formatting` — numbers as Markdown text;
* :mod:`~ik_nn.bench.machine` — what machine a run was measured on;
* :mod:`~ik_nn.bench.peers` — adapters for the peer solvers (rtb ``ik_LM``, ikpy);
* :mod:`~ik_nn.bench.methods` — the compared methods and how each is run and timed;
* :mod:`~ik_nn.bench.report` — Markdown tables, JSON, the README section;
* :mod:`~ik_nn.bench.plots` — the PNG plots;
* :mod:`~ik_nn.bench.deck_study` — the slide deck's experiments redone (``--deck-study``);
* :mod:`~ik_nn.bench.ros_latency` — end-to-end ROS 2 latency between processes (``--ros``);
* :mod:`~ik_nn.bench.run` — the ``ik-nn bench`` command line.
"""

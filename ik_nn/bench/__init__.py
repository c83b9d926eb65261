"""Tools that measure ik_nn (``ik-nn bench``); never imported by the runtime."""

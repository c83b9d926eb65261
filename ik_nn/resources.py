"""Where the package's own files (config/, launch/, models/) are, however it was installed.

* source checkout / ``pip install -e .``: next to the ``ik_nn`` package folder;
* ``pip install .`` and ``colcon build``: ``<prefix>/share/ik_nn`` where ``<prefix>`` holds
  ``lib/pythonX.Y/site-packages/ik_nn`` (a venv, /usr/local, or colcon's ``install/ik_nn``);
* ``pip install --target DIR``: ``DIR/share/ik_nn``;
* otherwise the ament index (needs ``AMENT_PREFIX_PATH``).
"""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

PACKAGE = "ik_nn"


def _candidates():
    here = Path(__file__).resolve().parent
    yield here.parent  # source checkout or editable install
    yield here.parent / "share" / PACKAGE  # pip install --target DIR: DIR/share/ik_nn
    if len(here.parents) > 3:
        yield here.parents[3] / "share" / PACKAGE  # <prefix>/lib/pythonX.Y/site-packages/ik_nn
    if os.environ.get("AMENT_PREFIX_PATH"):
        try:
            from ament_index_python.packages import get_package_share_directory

            yield Path(get_package_share_directory(PACKAGE))
        except Exception:  # not indexed, or ament_index_python absent: try the next place
            pass


@lru_cache(maxsize=None)
def share_dir() -> Path:
    """The folder holding ``package.xml``, ``config/``, ``launch/`` and ``models/``."""
    tried = []
    for cand in _candidates():
        tried.append(str(cand))
        if (cand / "package.xml").is_file() and (cand / "config").is_dir():
            return cand
    raise FileNotFoundError(
        "ik_nn: cannot find the package's share folder (package.xml + config/); looked in: "
        + ", ".join(tried)
    )


def config_path(*parts: str) -> Path:
    return share_dir().joinpath("config", *parts)


def model_path(name: str) -> Path:
    return share_dir() / "models" / name


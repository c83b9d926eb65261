"""What a bench run was measured on: CPU, CPU count, Python, date and load average."""
from __future__ import annotations

import os
import platform
from datetime import datetime, timezone


def cpu_model() -> str:
    """Return the CPU's model name (Linux /proc/cpuinfo, else what platform knows)."""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict:
    """Describe this machine and the time now (UTC), JSON-ready."""
    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "processor": cpu_model(),
        "cpus": os.cpu_count(),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def loadavg() -> float:
    """Return the 1-minute load average, NaN where the system has none."""
    try:
        return os.getloadavg()[0]
    except (OSError, AttributeError):
        return float("nan")

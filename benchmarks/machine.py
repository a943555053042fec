"""What machine a benchmark ran on (CPU model, cores, Python), for quoting its figures."""

from __future__ import annotations

import os
import platform


def machine_description() -> str:
    """``AMD EPYC, 2 cores, Python 3.11.7``."""
    model = platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}"

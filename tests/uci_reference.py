"""Independent reference for the UCI reader's resampling, shared by the real-data and fuzz tests."""

from pathlib import Path

import numpy as np


def zoh_levels(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Independent resampling: for every 5 ms grid time the last row at or before it."""
    d = np.loadtxt(path, skiprows=1)
    t = d[:, 0]
    out_x, out_c, j = [], [], 0
    g = t[0]
    while g <= t[-1]:
        while j + 1 < len(t) and t[j + 1] <= g:
            j += 1
        out_x.append(d[j, 1:9])
        out_c.append(d[j, 9])
        g += 5.0
    return np.rint(np.array(out_x) * 1e5).astype(np.int8), np.array(out_c, dtype=int)

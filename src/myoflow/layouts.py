"""Electrode layouts as data: which channel sits at each physical electrode position.

Maps are always drawn through a layout, never by reshaping a channel vector in storage order
(a defect of two of the source codebases). ``grid[r, c]`` is the channel index at row ``r``,
column ``c``; ``-1`` marks a position with no channel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ElectrodeLayout:
    """Physical arrangement of a recording's channels.

    Parameters
    ----------
    name : str
        Registry name, e.g. ``"hyser_16x16"``.
    grid : np.ndarray
        Integer array (rows, cols): channel index at each position, ``-1`` where none.
    pitch_mm : float
        Inter-electrode distance (mm); 0 where unknown (e.g. a ring).
    """

    name: str
    grid: np.ndarray
    pitch_mm: float = 0.0

    @property
    def shape(self) -> tuple[int, int]:
        return int(self.grid.shape[0]), int(self.grid.shape[1])

    @property
    def n_channels(self) -> int:
        return int((self.grid >= 0).sum())

    def positions(self) -> np.ndarray:
        """(channels, 2) array of (row, col) of each channel, in channel order."""
        pos = np.full((int(self.grid.max()) + 1, 2), -1, dtype=int)
        rows, cols = np.nonzero(self.grid >= 0)
        pos[self.grid[rows, cols]] = np.stack([rows, cols], axis=1)
        return pos

    def to_grid(self, values: np.ndarray, fill: float = np.nan) -> np.ndarray:
        """Place per-channel values (..., channels) on the grid -> (..., rows, cols)."""
        values = np.asarray(values)
        if values.shape[-1] <= int(self.grid.max()):
            raise ValueError(
                f"layout {self.name!r} needs at least {int(self.grid.max()) + 1} channels on the "
                f"last axis, got shape {values.shape}"
            )
        out = np.full(values.shape[:-1] + self.shape, fill, dtype=np.result_type(values, np.float32))
        mask = self.grid >= 0
        out[..., mask] = values[..., self.grid[mask]]
        return out


def hyser_16x16() -> ElectrodeLayout:
    """Hyser: four 8x8 arrays (10 mm) tiled into a 16x16 mosaic.

    Storage order: channels 0-63 extensor-distal, 64-127 extensor-proximal, 128-191 flexor-distal,
    192-255 flexor-proximal; inside an array channel ``k`` is at row ``k // 8``, column ``k % 8``.
    Mosaic: extensors on the top half, flexors on the bottom; proximal arrays on the left, distal
    on the right, so the grid reads like the forearm seen from above with the elbow on the left.
    """
    grid = np.empty((16, 16), dtype=int)
    # (array index in storage order) -> (row block, col block) in the mosaic
    blocks = {0: (0, 1), 1: (0, 0), 2: (1, 1), 3: (1, 0)}
    for array, (rb, cb) in blocks.items():
        k = np.arange(64)
        grid[rb * 8 + k // 8, cb * 8 + k % 8] = array * 64 + k
    return ElectrodeLayout("hyser_16x16", grid, pitch_mm=10.0)


def icelab_8x24() -> ElectrodeLayout:
    """ICE Lab: three 8x8 arrays side by side; channel ``64a + 8r + c`` at row ``r``, col ``8a + c``."""
    grid = np.empty((8, 24), dtype=int)
    for a in range(3):
        k = np.arange(64)
        grid[k // 8, 8 * a + k % 8] = 64 * a + k
    return ElectrodeLayout("icelab_8x24", grid, pitch_mm=10.0)


def csl_7x24() -> ElectrodeLayout:
    """CSL-HDEMG after dropping the dead bipolar channels (every 8th of 192), 168 channels.

    Raw channel ``j = 64a + 8c + r`` (r = 0..7 along the bipolar direction) of array ``a``;
    ``r == 7`` carries no signal. After dropping those, kept channel ``i`` (0..167) keeps the raw
    order, so raw ``j`` becomes ``i = 7 * (j // 8) + j % 8``; it sits at row ``r``, column ``8a + c``.
    """
    grid = np.empty((7, 24), dtype=int)
    for a in range(3):
        for c in range(8):
            for r in range(7):
                grid[r, 8 * a + c] = 7 * (8 * a + c) + r
    return ElectrodeLayout("csl_7x24", grid, pitch_mm=10.0)


def csl_dead_channels() -> np.ndarray:
    """Raw CSL channel indices (0..191) that carry no signal: every 8th."""
    return np.arange(7, 192, 8)


def myo_ring8() -> ElectrodeLayout:
    """Myo armband: 8 pods around the forearm, drawn as a 1 x 8 strip."""
    return ElectrodeLayout("myo_ring8", np.arange(8)[None, :], pitch_mm=0.0)


#: FlexEMG's published ``arraymap.mat`` (github.com/a-moin/flexemg): the 1-based channel at each of
#: the 16 x 4 electrode positions; the default of :func:`flexemg_16x4`.
FLEXEMG_ARRAYMAP = np.array([
    [29, 30, 31, 32], [25, 26, 27, 28], [21, 22, 23, 24], [17, 18, 19, 20],
    [13, 14, 15, 16], [9, 10, 11, 12], [5, 6, 7, 8], [1, 2, 3, 4],
    [64, 63, 62, 61], [60, 59, 58, 57], [56, 55, 54, 53], [52, 51, 50, 49],
    [48, 47, 46, 45], [44, 43, 42, 41], [40, 39, 38, 37], [36, 35, 34, 33],
])


def flexemg_16x4(arraymap: np.ndarray | None = None) -> ElectrodeLayout:
    """FlexEMG (Moin et al., ISCAS 2018): flexible 16 x 4 array, 64 channels.

    Parameters
    ----------
    arraymap : array (16, 4), optional
        1-based channel index (column of the recording's ``raw`` matrix + 1) at each electrode
        position, as in the dataset's ``arraymap.mat``; default :data:`FLEXEMG_ARRAYMAP`. Must
        hold each of 1..64 once.

    Raises
    ------
    ValueError
        If ``arraymap`` is not a (16, 4) permutation of 1..64.
    """
    amap = FLEXEMG_ARRAYMAP if arraymap is None else np.asarray(arraymap)
    if amap.shape != (16, 4) or amap.dtype.kind not in "iu" or \
            sorted(amap.ravel().tolist()) != list(range(1, 65)):
        raise ValueError(f"flexemg_16x4: arraymap must be a (16, 4) integer array holding 1..64 "
                         f"once each, got {amap.dtype} {amap.shape}")
    # pitch not published with the data: 0 (unknown)
    return ElectrodeLayout("flexemg_16x4", amap.astype(int) - 1, pitch_mm=0.0)


LAYOUTS = {
    "hyser_16x16": hyser_16x16,
    "icelab_8x24": icelab_8x24,
    "csl_7x24": csl_7x24,
    "myo_ring8": myo_ring8,
    "flexemg_16x4": flexemg_16x4,
}


def get_layout(name: str) -> ElectrodeLayout:
    """Layout by registry name; an unknown name lists the known ones."""
    try:
        return LAYOUTS[name]()
    except KeyError:
        raise KeyError(f"unknown electrode layout {name!r}; known: {sorted(LAYOUTS)}") from None

"""Label conventions shared by the readers of the real Myo-armband sets (and FlexEMG).

Every such reader maps its gestures onto EMG-EPN-612's classes so the cross-user study runs on
them unchanged: rest 0, fist / hand close 1, wrist flexion (waveIn) 2, wrist extension (waveOut)
3, hand open 4. Gestures with no EPN-612 counterpart (radial and ulnar deviation) are dropped
unless the reader option ``deviations: true`` asks for them; they then get labels 5 and 6.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import ConfigError

#: label -> name; the first five are EMG-EPN-612's (same names as its reader)
EPN_NAMES = ["rest", "fist", "waveIn", "waveOut", "open"]
DEVIATION_NAMES = ["radialDeviation", "ulnarDeviation"]
REST, FIST, WAVE_IN, WAVE_OUT, OPEN, RADIAL, ULNAR = range(7)

DEVIATIONS_OPTION = ("keep radial/ulnar deviation as labels 5/6 (default false: drop them; "
                     "EMG-EPN-612 has no such classes)")


def option_deviations(options: Mapping[str, Any], reader: str) -> bool:
    """The boolean option ``deviations`` (default False)."""
    val = options.get("deviations", False)
    if not isinstance(val, bool):
        raise ConfigError(f"reader {reader!r}: option 'deviations' must be true or false, got {val!r}")
    return val


def gesture_names(deviations: bool) -> list[str]:
    """Names of the labels 0.. (index = label)."""
    return EPN_NAMES + (DEVIATION_NAMES if deviations else [])

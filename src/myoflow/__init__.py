"""myoflow: a library for reproducible surface-EMG gesture-recognition studies.

The library knows nothing of Snakemake: readers, the synthetic generator, windowing, features,
models, training, evaluation, statistics and plots are plain functions and classes that the
workflow's thin rule scripts call.
"""

__version__ = "0.1.0"

import os as _os

# Intel MKL (torch's CPU BLAS) may change the number of threads it uses from call to call
# (MKL_DYNAMIC) and picks code paths by memory alignment: the same job then sums in a different
# order, a logit moves in its last bit and, rarely, a borderline window flips class between two
# runs of one config (seen in CI: one window of one user under RunningNorm). A fixed thread count
# and MKL's conditional numerical reproducibility keep the score table identical from run to run.
# setdefault: a user's own setting wins. Read by MKL at its first call, after this import.
_os.environ.setdefault("MKL_DYNAMIC", "FALSE")
_os.environ.setdefault("MKL_CBWR", "AUTO,STRICT")

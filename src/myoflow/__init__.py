"""myoflow: a library for reproducible surface-EMG gesture-recognition studies.

The library knows nothing of Snakemake: readers, the synthetic generator, windowing, features,
models, training, evaluation, statistics and plots are plain functions and classes that the
workflow's thin rule scripts call.
"""

__version__ = "0.1.0"

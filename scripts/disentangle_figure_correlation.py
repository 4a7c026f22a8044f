"""Rule disentangle_figure_correlation: |Pearson r| between the held-out subjects' pattern maps
of every pair of gestures (correlation array with its average row and column)."""
import numpy as np
import pandas as pd

from myoflow.disentangle import correlation_array
from myoflow.io import atomic_path
from myoflow.logutil import log_to_file
from myoflow.plots import plot_correlation_matrix
from myoflow.sets import read_set

log = log_to_file(snakemake.log[0])
sets = [read_set(p, arrays=["recon_pattern"]) for p in snakemake.input.latents]
matrix, gestures = correlation_array(sets, "recon_pattern", mode=snakemake.params.mode)
labels = [str(g) for g in gestures] + ["avg"]
G = len(gestures)
diagonal, off = float(np.mean(np.diag(matrix)[:G])), float(matrix[G, G])
log.info("%s: mean diagonal |r| %.3f, mean off-diagonal |r| %.3f", snakemake.params.mode, diagonal, off)
with atomic_path(snakemake.output.table) as tmp:
    pd.DataFrame(matrix, index=labels, columns=labels).to_csv(tmp, float_format="%.6g")
plot_correlation_matrix(matrix, labels, snakemake.output.figure,
                        title=f"{snakemake.params.measure}, D([p, 0]) of held-out subjects "
                              f"({snakemake.params.mode.replace('_', ' ')}): diagonal {diagonal:.2f}, "
                              f"off-diagonal {off:.2f}")

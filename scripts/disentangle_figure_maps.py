"""Rule disentangle_figure_maps: per-gesture maps on the mosaic: data vs pattern reconstruction."""
import numpy as np

from myoflow.disentangle import gesture_maps
from myoflow.logutil import log_to_file
from myoflow.plots import plot_grid_maps
from myoflow.sets import read_set

log = log_to_file(snakemake.log[0])
sets = [read_set(p, arrays=["input_z", "recon_pattern"]) for p in snakemake.input.latents]
data, gestures = gesture_maps(sets, "input_z")
recon, _ = gesture_maps(sets, "recon_pattern")
titles = [f"data, gesture {g}" for g in gestures] + [f"D([p, 0]), gesture {g}" for g in gestures]
plot_grid_maps(np.concatenate([data, recon]), titles, snakemake.output[0], ncols=len(gestures),
               suptitle=f"{snakemake.params.measure}: held-out subjects, mean per gesture (z units of the training subjects): "
                        "top data, bottom pattern reconstruction", cmap="RdBu_r")

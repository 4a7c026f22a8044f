"""Rule disentangle_figure_maps: subject-averaged pattern reconstruction per gesture on the mosaic."""
import json

from myoflow.latents import gesture_maps
from myoflow.logutil import log_to_file
from myoflow.plots import plot_grid_maps
from myoflow.sets import read_set

log = log_to_file(snakemake.log[0])
sets = [read_set(p, arrays=["recon_pattern"]) for p in snakemake.input.latents]
maps, gestures = gesture_maps(sets)
plot_grid_maps(maps, [f"gesture {g}" for g in gestures], snakemake.output[0],
               suptitle="pattern reconstruction D([p, 0]), mean over held-out subjects")

"""Rule disentangle_figure_tsne: t-SNE of the input maps, the pattern latent and the subject latent
of one fold (training and held-out subjects): colour = gesture, marker = subject."""
import numpy as np
from sklearn.manifold import TSNE

from myoflow.logutil import log_to_file
from myoflow.plots import plot_embedding_panels
from myoflow.sets import read_set

log = log_to_file(snakemake.log[0])
p = snakemake.params
fold = read_set(snakemake.input.latents, arrays=["input_z", "pattern", "subject"])
n = len(fold.meta)
panels = []
for title, array in (("data", "input_z"), ("pattern latent", "pattern"), ("subject latent", "subject")):
    X = fold.arrays[array].reshape(n, -1).astype(np.float64)
    # the source: PCA initialisation, perplexity 50 (capped below n), early exaggeration 100
    # the source: perplexity 50; capped at a third of the points so that a small fold keeps its clusters
    perplexity = max(2.0, min(p.perplexity, (n - 1) / 3))
    xy = TSNE(n_components=2, init="pca", perplexity=perplexity, early_exaggeration=p.early_exaggeration,
              random_state=p.seed).fit_transform(X)
    panels.append((title, xy))
    log.info("%s: t-SNE of %d points x %d values", title, n, X.shape[1])
plot_embedding_panels(panels, fold.meta["label"].to_numpy(), fold.meta["subject"].to_numpy(), snakemake.output[0],
                      suptitle=f"{p.measure}, fold {p.fold}: t-SNE (colour: gesture, marker: subject)")

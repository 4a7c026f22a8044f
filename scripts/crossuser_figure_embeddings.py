"""Rule crossuser_figure_embeddings: PCA of the headline model's test embeddings (the kept epoch's
weights), 4 components as a pair grid coloured by class, and the components as a table."""
import numpy as np
import pandas as pd

from myoflow.estimators import load_estimator
from myoflow.io import atomic_path
from myoflow.logutil import log_to_file
from myoflow.plots import plot_pca_pair_grid
from myoflow.seeding import set_torch_threads
from myoflow.sets import read_set
from myoflow.splits import read_fold_table, select
from myoflow.stats import pca

log = log_to_file(snakemake.log[0])
p = snakemake.params
est = load_estimator(snakemake.input.model)
set_torch_threads(snakemake.threads)
data = read_set(snakemake.input.data)
test = np.flatnonzero(select(data.meta, read_fold_table(snakemake.input.folds), 0, "test"))
rng = np.random.default_rng(p.seed)
if len(test) > p.max_points:  # a seeded sample keeps the figure readable and the job short
    test = np.sort(rng.choice(test, p.max_points, replace=False))
embeddings = est.transform(data.arrays["windows"][test])
components, explained = pca(embeddings, p.n_components)
meta = data.meta.iloc[test].reset_index(drop=True)
table = pd.concat([meta[["subject", "label"]],
                   pd.DataFrame(components, columns=[f"pc{i + 1}" for i in range(components.shape[1])])], axis=1)
with atomic_path(snakemake.output.table) as tmp:
    table.to_csv(tmp, index=False, float_format="%.5g", compression="gzip")
log.info("%d test windows of %d users; explained variance %s", len(test), meta["subject"].nunique(),
         np.round(explained, 3).tolist())
plot_pca_pair_grid(components, meta["label"].to_numpy(), snakemake.output.figure, class_names=p.class_names,
                   explained=explained,
                   title=f"{p.model} ({p.loss}) test embeddings, {p.variant}: PCA of {len(test)} windows of "
                         f"{meta['subject'].nunique()} test users")

"""Rule hdcnn_folds: K-fold over whole repetitions."""
from myoflow.logutil import log_to_file
from myoflow.sets import read_set
from myoflow.splits import repetition_kfold, write_fold_table

log = log_to_file(snakemake.log[0])
meta = read_set(snakemake.input.images, arrays=[]).meta
split = snakemake.wildcards.split
if split != "repetition":
    raise ValueError(f"unknown HD-CNN split {split!r}; known: repetition")
table = repetition_kfold(sorted(meta["subject"].unique()), sorted(meta["repetition"].unique()),
                         snakemake.params.folds)
write_fold_table(snakemake.output[0], table)

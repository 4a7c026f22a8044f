"""Rule hdcnn_folds: the fold table of one split type, checked for leakage unless declared leaky."""
from myoflow.logutil import log_to_file
from myoflow.sets import read_set
from myoflow.splits import SPLIT_UNITS, SPLITS, write_fold_table

log = log_to_file(snakemake.log[0])
meta = read_set(snakemake.input.images, arrays=[]).meta
split = snakemake.wildcards.split
items = meta[["subject", "session", "repetition"]].drop_duplicates()
table = SPLITS.build(split, items, where=f"hdcnn.splits ({split})", **snakemake.params.split_params)
if table["fold"].nunique() != snakemake.params.n_folds:
    raise ValueError(f"{snakemake.input.images}: split {split!r} makes {table['fold'].nunique()} folds, "
                     f"the run sheet expected {snakemake.params.n_folds} (subjects or sessions in the "
                     "images differ from the dataset listing)")
unit, leaky = SPLIT_UNITS[split]
if leaky:
    log.warning("split %r is leaky by design (as published): no leakage check", split)
log.info("%d folds", table["fold"].nunique())
write_fold_table(snakemake.output[0], table, unit=unit, leaky=leaky)

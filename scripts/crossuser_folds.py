"""Rule crossuser_folds: EPN-612's fixed user split or the within-user folds."""
from myoflow.logutil import log_to_file
from myoflow.sets import read_set
from myoflow.splits import fixed_user_split, within_user_split, write_fold_table

log = log_to_file(snakemake.log[0])
meta = read_set(snakemake.input.windows, arrays=[]).meta
n_train = snakemake.params.n_training_users
# ids in [n_train, first_test) validate (common.smk: crossuser_split_bounds)
n_val = snakemake.params.first_test_user - n_train
protocol = snakemake.wildcards.protocol
if protocol == "crossuser":
    table = fixed_user_split(sorted(meta["subject"].unique()), n_train, n_val)
elif protocol == "within_user":
    test_users = sorted(s for s in meta["subject"].unique() if s >= n_train + n_val)
    n_reps = int(meta.loc[meta["subject"].isin(test_users), "repetition"].max()) + 1
    table = within_user_split(test_users, n_reps, snakemake.params.within_user["train_repetitions"])
else:
    raise ValueError(f"unknown cross-user protocol {protocol!r}; known: crossuser, within_user")
log.info("%s: %d folds", protocol, table["fold"].nunique())
write_fold_table(snakemake.output[0], table)

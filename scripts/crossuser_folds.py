"""Rule crossuser_folds: the fixed user split (by subject ids) or the within-user folds."""
from myoflow.logutil import log_to_file
from myoflow.sets import read_set
from myoflow.splits import user_split, within_user_split, write_fold_table

log = log_to_file(snakemake.log[0])
spec = snakemake.params.spec
users = spec["users"]
protocol = snakemake.wildcards.protocol
if protocol == "crossuser":
    table = user_split(users["train"], users["validation"], users["test"])
    unit = "subject"
else:  # within_user: one fold per test user, repetitions split into train and test
    meta = read_set(snakemake.input.windows, arrays=[]).meta
    n_reps = int(meta.loc[meta["subject"].isin(users["test"]), "repetition"].max()) + 1
    table = within_user_split(users["test"], n_reps, spec["train_repetitions"])
    unit = "repetition"
log.info("%s: %d folds", protocol, table["fold"].nunique())
write_fold_table(snakemake.output[0], table, unit=unit)

"""Rule crossuser_folds: the fixed user split (by subject ids) or the within-user folds."""
from myoflow.logutil import log_to_file
from myoflow.sets import read_set
from myoflow.splits import user_split, within_user_split, write_fold_table

log = log_to_file(snakemake.log[0])
spec = snakemake.params.spec
users = spec["users"]
protocol = snakemake.wildcards.protocol
if protocol == "crossuser":
    source = spec["validation"]
    repetitions_of = None
    if source != "users":  # held-out repetitions of the training users validate
        meta = read_set(snakemake.input.windows, arrays=[]).meta
        train_meta = meta[meta["subject"].isin(users["train"])]
        repetitions_of = {int(s): sorted(g["repetition"].unique()) for s, g in train_meta.groupby("subject")}
    table = user_split(users["train"], users["validation"], users["test"], validation_source=source,
                       repetitions_of=repetitions_of, validation_repetitions=spec["validation_repetitions"])
    unit = "subject"
else:  # within_user: one fold per test user, repetitions split into train and test
    meta = read_set(snakemake.input.windows, arrays=[]).meta
    n_reps = int(meta.loc[meta["subject"].isin(users["test"]), "repetition"].max()) + 1
    table = within_user_split(users["test"], n_reps, spec["train_repetitions"])
    unit = "repetition"
log.info("%s: %d folds", protocol, table["fold"].nunique())
write_fold_table(snakemake.output[0], table, unit=unit)

"""Rule crossuser_folds: the fixed user split (by subject ids) or the within-user folds of one r."""
from myoflow.logutil import log_to_file
from myoflow.sets import read_set
import pandas as pd

from myoflow.errors import ConfigError
from myoflow.splits import (incremental_split, repetitions_per_gesture, user_ordering, user_split,
                            within_user_split, write_fold_table)

log = log_to_file(snakemake.log[0])
spec = snakemake.params.spec
users = spec["users"]
protocol = snakemake.wildcards.protocol
if "cell" in spec:  # a cell of the incremental sweep: the first n users of an ordering, r repetitions
    cell = spec["cell"]
    ranking = pd.read_csv(snakemake.input.ranking)
    order = user_ordering(ranking, cell["ordering"], seed=spec["seed"])
    meta = read_set(snakemake.input.windows, arrays=[]).meta
    have = int(repetitions_per_gesture(meta, order[: cell["n_users"]]).max())
    if cell["repetitions"] > have:
        raise ConfigError(f"crossuser.incremental.repetitions: {cell['repetitions']} asked, the training users "
                          f"have {have} repetitions per gesture")
    table = incremental_split(order, cell["n_users"], cell["repetitions"], users["validation"], users["test"])
    log.info("%s: users %s", protocol, order[: cell["n_users"]])
    unit = "subject"
elif protocol == "crossuser":
    source = spec["validation"]
    repetitions_of = None
    if source != "users":  # held-out repetitions of the training users validate
        meta = read_set(snakemake.input.windows, arrays=[]).meta
        train_meta = meta[meta["subject"].isin(users["train"])]
        repetitions_of = {int(s): sorted(g["repetition"].unique()) for s, g in train_meta.groupby("subject")}
    table = user_split(users["train"], users["validation"], users["test"], validation_source=source,
                       repetitions_of=repetitions_of, validation_repetitions=spec["validation_repetitions"])
    unit = "subject"
else:  # within_user_r<r>: one fold per user, its repetitions split into train / validation / test
    meta = read_set(snakemake.input.windows, arrays=[]).meta
    n_reps = int(repetitions_per_gesture(meta, users["within"]).min())  # the user with the fewest
    table = within_user_split(users["within"], n_reps, spec["train_repetitions"],
                              validation_repetitions=spec["validation_repetitions"],
                              first_held_out=spec["first_held_out"], pooled=spec["pooled"])
    unit = "repetition"
log.info("%s: %d folds", protocol, table["fold"].nunique())
write_fold_table(snakemake.output[0], table, unit=unit)

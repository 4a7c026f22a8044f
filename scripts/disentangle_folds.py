"""Rule disentangle_folds: the fold table of one disentanglement split (leave one subject out
within each session, cross-session, or within-session over repetitions), in the run sheet's fold
order."""
import pandas as pd

from myoflow.logutil import log_to_file
from myoflow.runsheets import cross_session_subjects, disentangle_folds
from myoflow.sets import read_set
from myoflow.splits import cross_session, leave_one_subject_out, within_session_kfold, write_fold_table

log = log_to_file(snakemake.log[0])
by_session = {int(k): v for k, v in snakemake.params.subjects_by_session.items()}
split = snakemake.wildcards.split
k = snakemake.params.within_session_folds
order = disentangle_folds(by_session, split, k)


def first_fold(session):
    # fold numbers of the run sheet: folds of later sessions follow those of earlier ones
    return int(order.loc[order["train_session"] == session, "fold"].min())


if split == "cross_session":
    pairs = list(zip(order["train_session"], order["test_session"]))
    table = cross_session(cross_session_subjects(by_session), pairs)
    unit = "session"
elif split == "within_session":
    meta = read_set(snakemake.input.segments, arrays=[]).meta
    parts = []
    for session in sorted(by_session):
        reps = sorted(meta.loc[meta["session"] == session, "repetition"].unique())
        parts.append(within_session_kfold(by_session[session], session, reps, k, first_fold(session)))
    table = pd.concat(parts, ignore_index=True)
    unit = "repetition"
else:
    parts = []
    for session in sorted(by_session):
        part = leave_one_subject_out(by_session[session], session=session)
        parts.append(part.assign(fold=part["fold"] + first_fold(session)))
    table = pd.concat(parts, ignore_index=True)
    unit = "subject"
log.info("%s: %d folds over sessions %s", split, table["fold"].nunique(), sorted(by_session))
write_fold_table(snakemake.output[0], table, unit=unit)

"""Rule disentangle_folds: the fold table of one disentanglement split (leave one subject out
within each session, or cross-session), in the run sheet's fold order."""
import pandas as pd

from myoflow.logutil import log_to_file
from myoflow.runsheets import cross_session_subjects, disentangle_folds
from myoflow.splits import cross_session, leave_one_subject_out, write_fold_table

log = log_to_file(snakemake.log[0])
by_session = {int(k): v for k, v in snakemake.params.subjects_by_session.items()}
split = snakemake.wildcards.split
order = disentangle_folds(by_session, split)
if split == "cross_session":
    pairs = list(zip(order["train_session"], order["test_session"]))
    table = cross_session(cross_session_subjects(by_session), pairs)
else:
    parts = []
    for session in sorted(by_session):
        part = leave_one_subject_out(by_session[session], session=session)
        # fold numbers of the run sheet: folds of later sessions follow those of earlier ones
        first = int(order.loc[order["train_session"] == session, "fold"].min())
        parts.append(part.assign(fold=part["fold"] + first))
    table = pd.concat(parts, ignore_index=True)
log.info("%s: %d folds over sessions %s", split, table["fold"].nunique(), sorted(by_session))
write_fold_table(snakemake.output[0], table, unit="subject" if split == "loso" else "session")

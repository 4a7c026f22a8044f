"""Rule disentangle_folds: leave-one-subject-out within each session, in the run sheet's fold order."""
import pandas as pd

from myoflow.logutil import log_to_file
from myoflow.runsheets import disentangle_folds
from myoflow.splits import leave_one_subject_out, write_fold_table

log = log_to_file(snakemake.log[0])
by_session = {int(k): v for k, v in snakemake.params.subjects_by_session.items()}
order = disentangle_folds(by_session, snakemake.wildcards.protocol)
parts = []
for session in sorted(by_session):
    table = leave_one_subject_out(by_session[session], session=session)
    # fold numbers of the run sheet: folds of later sessions follow those of earlier ones
    first = int(order.loc[order["session"] == session, "fold"].min())
    parts.append(table.assign(fold=table["fold"] + first))
table = pd.concat(parts, ignore_index=True)
log.info("%d folds over sessions %s", table["fold"].nunique(), sorted(by_session))
write_fold_table(snakemake.output[0], table, unit="subject")

"""Rule disentangle_folds: leave-one-subject-out within one session."""
from myoflow.logutil import log_to_file
from myoflow.splits import leave_one_subject_out, write_fold_table

log = log_to_file(snakemake.log[0])
table = leave_one_subject_out(snakemake.params.subjects, session=snakemake.params.session)
write_fold_table(snakemake.output[0], table)

"""Rule crossuser_windows: sliding windows over the repetitions of one windowing variant."""
from myoflow.inputs.crossuser import epn_window_set
from myoflow.logutil import log_to_file
from myoflow.sets import write_set
from myoflow.store import read_recording

log = log_to_file(snakemake.log[0])
w = snakemake.params.windows
recordings = [read_recording(p) for p in snakemake.input.stores]
window_set = epn_window_set(
    recordings,
    variant=snakemake.wildcards.variant,
    length=w["length"],
    stride=w["stride"],
    rest_thinning=w["rest_thinning"],
    # the source's defects, where crossuser.as_published switches them on (myoflow.defects)
    crop_raw_to_ground_truth="raw_cropped_to_ground_truth" in snakemake.params.defects,
    relabel_from_cropped="relabeled_from_cropped" in snakemake.params.defects,
    misaligned_metadata_groups=(
        snakemake.params.split_groups if "metadata_misaligned" in snakemake.params.defects else None
    ),
    # the standard variant's threshold is fitted on the training users only
    training_subjects=list(snakemake.params.training_subjects),
)
log.info("%d windows, label counts %s", len(window_set), window_set.meta["label"].value_counts().to_dict())
write_set(snakemake.output[0], window_set)

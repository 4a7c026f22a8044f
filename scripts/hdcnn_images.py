"""Rule hdcnn_images: HD-sEMG images on the physical electrode grid (or, as published, in storage order)."""
from myoflow.logutil import log_to_file
from myoflow.sets import write_set
from myoflow.store import read_recording
from myoflow.inputs.hdcnn import hd_image_set

log = log_to_file(snakemake.log[0])
images = hd_image_set(
    (read_recording(p) for p in snakemake.input.stores),
    **snakemake.params.images,
    # defect storage_order_images: each channel vector reshaped in storage order
    physical_layout=snakemake.params.order == "grid",
)
log.info("%d images of shape %s (%s order)", len(images), images.arrays["images"].shape[1:], snakemake.params.order)
write_set(snakemake.output[0], images)

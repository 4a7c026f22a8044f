"""Cutting recordings into model inputs, one module per study.

- :mod:`.windowing`: sliding windows, majority labels, rest thinning (shared by the studies);
- :mod:`.crossuser`: EMG-EPN-612 windows in the cross-user study's windowing variants;
- :mod:`.disentangle`: Hyser samples on the 16x16 mosaic in an input measure;
- :mod:`.hdcnn`: HD-sEMG images for the width-scaled MobileNetV2 study.

Every set builder returns an :class:`~myoflow.sets.ArraySet` whose metadata stays aligned with its
arrays (subject, session, repetition, trial, label, base_label, start), whatever is dropped or
thinned on the way.
"""

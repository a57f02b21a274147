"""Turn a checkpoint's CAMs into pseudo-label PNGs for a second-stage (fully supervised) model.

Two refinements, chosen per export:

- ``'par'``: the label the single-stage training itself uses (multi-scale CAM -> PAR -> two thresholds), computed by
  the segmentor (``test_cfg.output='pseudo'``); pixels between the thresholds are 255 (the ignore band);
- ``'crf'``: the CAM seed scores ``[t, CAM_1..K]`` (``test_cfg.output='cam'``) normalised to probabilities and refined
  by a dense CRF (``DenseCRF.from_preset('cam_to_label')``, ToCo's CAM-tool parameters 3/3/36/3/4). With the ignore
  band, the label is kept where the CRF labels at a high and at a low background score agree and is 255 elsewhere;
  without it, one CRF at the model's ``bkg_thr``.

:func:`write_pseudo_label` is the per-image job, run in :class:`~mmwsss.postprocessing.StreamingPool` workers by
``tools/export_pseudo_labels.py``.
"""
from typing import Optional, Sequence

import numpy as np

from ..datasets.atomic_io import save_palette_png_atomic


def crf_label(image: np.ndarray, cam_scores: np.ndarray, bkg: float, crf) -> np.ndarray:
    """CRF label of CAM seed scores ``(1 + K, H, W)`` (channel 0 replaced by the background score ``bkg``)."""
    scores = cam_scores.astype(np.float32).copy()
    scores[0] = bkg
    probs = scores / np.maximum(scores.sum(0, keepdims=True), 1e-5)
    return crf(image, probs).argmax(0).astype(np.uint8)


def crf_pseudo_label(image: np.ndarray, cam_scores: np.ndarray, crf, bkg_thrs: Sequence[float],
                     ignore_index: int = 255) -> np.ndarray:
    """One CRF label for one background score; for two (high, low), their agreement and ``ignore_index`` elsewhere.

    Example:
        >>> from mmwsss.postprocessing import DenseCRF
        >>> scores = np.zeros((3, 8, 8), np.float32); scores[1, :4] = 0.9
        >>> label = crf_pseudo_label(np.zeros((8, 8, 3), np.uint8), scores, DenseCRF.from_preset('cam_to_label'),
        ...                          bkg_thrs=(0.55, 0.35))
        >>> sorted(np.unique(label).tolist())
        [0, 1]
    """
    labels = [crf_label(image, cam_scores, t, crf) for t in bkg_thrs]
    if len(labels) == 1:
        return labels[0]
    high, low = labels
    return np.where(high == low, high, ignore_index).astype(np.uint8)


def write_pseudo_label(job: dict) -> Optional[str]:
    """Write one pseudo-label PNG (VOC palette, write-then-rename). ``job``: ``out_path`` and either ``label``
    (H, W, already refined) or ``cam_scores`` + ``img_path`` + ``crf`` + ``bkg_thrs`` (CRF in this process)."""
    label = job.get('label')
    if label is None:
        import mmcv
        image = mmcv.imread(job['img_path'], channel_order='rgb')
        label = crf_pseudo_label(image, job['cam_scores'], job['crf'], job['bkg_thrs'])
    save_palette_png_atomic(label, job['out_path'])
    return job['out_path']

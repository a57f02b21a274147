"""CAM heatmaps over the images, per labelled class, with the segmentation prediction beside the GT.

:func:`cam_rows` runs the model (multi-scale + flip CAM of each labelled class, the same CAM the metrics score, and
the segmentation prediction); :func:`draw_cam_grid` draws one PNG with a row per image; :func:`save_cam_overlays`
writes one PNG per (image, class).

Example:
    >>> rows = cam_rows(model, dataset, indices=range(4))            # doctest: +SKIP
    >>> draw_cam_grid(rows, dataset.metainfo, 'cams.png')            # doctest: +SKIP
"""
import os
import os.path as osp
from typing import Iterable, List

import numpy as np
import torch


def cam_rows(model, dataset, indices: Iterable[int], cam: str = 'final') -> List[dict]:
    """Per image: ``image`` (H, W, 3 RGB uint8), ``stem``, ``classes`` (labelled foreground indices, 0-based),
    ``cams`` (one (H, W) map in [0, 1] per labelled class), ``pred`` and ``gt`` (H, W; gt None without a mask)."""
    from mmengine.dataset import pseudo_collate
    rows = []
    model.eval()
    for idx in indices:
        data = dataset[idx]
        batch = model.data_preprocessor(pseudo_collate([data]), training=False)
        sample = batch['data_samples'][0]
        if 'gt_img_labels' not in sample:
            raise KeyError(f'{dataset.get_data_info(idx)["img_path"]}: no image-level labels (gt_img_labels); '
                           'CAMs are drawn for the labelled classes, so the split needs a label source')
        with torch.no_grad():
            final, aux = model.multi_scale_cams(batch['inputs'])
            output = model.test_cfg.get('output', 'seg')
            model.test_cfg['output'] = 'seg'
            try:
                pred = model.predict(batch['inputs'], batch['data_samples'])[0].pred_sem_seg.data[0].numpy()
            finally:
                model.test_cfg['output'] = output
        maps = (aux if cam == 'aux' else final)[0]
        present = torch.nonzero(sample.gt_img_labels).flatten().tolist()
        gt = sample.gt_sem_seg.data[0].numpy() if 'gt_sem_seg' in sample else None
        rows.append(dict(image=np.ascontiguousarray(data['inputs'].permute(1, 2, 0).numpy()[..., ::-1]),
                         stem=osp.splitext(osp.basename(dataset.get_data_info(idx)['img_path']))[0],
                         classes=present, cams=[maps[k].numpy() for k in present], pred=pred, gt=gt))
    return rows


def _colour(mask, palette):
    palette = np.asarray(palette, np.uint8)
    return palette[np.where(mask == 255, 0, np.minimum(mask, len(palette) - 1))]


def draw_cam_grid(rows: List[dict], metainfo: dict, out_file: str, with_prediction: bool = True) -> str:
    """One PNG: per image, the image (title: its labels), a heatmap per labelled class, prediction | GT."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    names, palette = metainfo['classes'], metainfo['palette']
    cols = 1 + max(len(r['classes']) for r in rows) + int(with_prediction)
    fig, axes = plt.subplots(len(rows), cols, figsize=(2.5 * cols, 2.6 * len(rows)), squeeze=False)
    for ax_row, r in zip(axes, rows):
        ax_row[0].imshow(r['image'])
        ax_row[0].set_title(r['stem'] + ': ' + ', '.join(names[k + 1] for k in r['classes']), fontsize=7)
        for col, (k, m) in enumerate(zip(r['classes'], r['cams']), start=1):
            ax_row[col].imshow(r['image'])
            ax_row[col].imshow(m, cmap='jet', alpha=0.5, vmin=0, vmax=1)
            ax_row[col].set_title(f'CAM {names[k + 1]}', fontsize=8)
        if with_prediction:
            panels = [_colour(r['pred'], palette)] + ([_colour(r['gt'], palette)] if r['gt'] is not None else [])
            ax_row[-1].imshow(np.concatenate(panels, axis=1))
            ax_row[-1].set_title('prediction | GT' if r['gt'] is not None else 'prediction', fontsize=8)
        for ax in ax_row:
            ax.axis('off')
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(out_file)), exist_ok=True)
    fig.savefig(out_file, dpi=90)
    plt.close(fig)
    return out_file


def save_cam_overlays(rows: List[dict], metainfo: dict, out_dir: str, alpha: float = 0.5) -> List[str]:
    """One PNG per (image, labelled class): ``<stem>_<class>.png``, the jet heatmap blended over the image."""
    import matplotlib
    from PIL import Image
    cmap = matplotlib.colormaps['jet']
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    for r in rows:
        for k, m in zip(r['classes'], r['cams']):
            heat = (cmap(np.clip(m, 0, 1))[..., :3] * 255).astype(np.float32)
            blend = ((1 - alpha) * r['image'].astype(np.float32) + alpha * heat).astype(np.uint8)
            path = osp.join(out_dir, f'{r["stem"]}_{metainfo["classes"][k + 1]}.png')
            Image.fromarray(blend).save(path)
            paths.append(path)
    return paths

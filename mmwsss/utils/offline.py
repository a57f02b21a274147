"""What the offline tools (pseudo-label export, CAM pictures, CRF benchmark, demo) share: a segmentor with its
checkpoint loaded and checked, and a dataset split of the config, without building a runner."""
from typing import Optional, Tuple

from mmengine.config import Config


def load_segmentor(config, checkpoint: str, cfg_options: Optional[dict] = None, tta: bool = False):
    """``(model, cfg)``: the config's model (or its ``tta_model`` around it) in eval mode with ``checkpoint`` loaded.

    The checkpoint is read with ``weights_only=True`` and must belong to the model (the rules of
    :class:`~mmwsss.engine.hooks.CheckpointMatchHook`), so a wrong file fails here instead of giving a mostly
    random model.

    Example:
        >>> model, cfg = load_segmentor('configs/mcc/mcc_vit-tiny-p8_1xb8-700_weakshapes-96x96.py',
        ...                             'work_dirs/ablation_msfc/mcc/iter_700.pth')  # doctest: +SKIP
    """
    import os.path as osp

    from mmengine.registry import init_default_scope
    from mmengine.runner.checkpoint import _load_checkpoint_to_model

    import mmwsss  # noqa: F401
    from mmseg.registry import MODELS
    from mmwsss.compat import load_checkpoint_file
    from mmwsss.engine.hooks.checkpoint_match_hook import check_checkpoint_matches
    from mmwsss.utils.launch import load_config

    if not osp.isfile(checkpoint):
        raise SystemExit(f'checkpoint {checkpoint} does not exist')
    init_default_scope('mmseg')
    cfg = load_config(config, cfg_options=cfg_options) if isinstance(config, str) else config
    if tta:
        cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
        cfg.tta_model.module = cfg.model
        cfg.model = cfg.tta_model
    model = MODELS.build(cfg.model).eval()
    segmentor = model.module if tta else model
    state = load_checkpoint_file(checkpoint, map_location='cpu')
    check_checkpoint_matches(segmentor, state, checkpoint)
    _load_checkpoint_to_model(segmentor, state)
    return model, cfg


def split_dataset(cfg: Config, split: Optional[str] = None, data_root: Optional[str] = None, masks: bool = True,
                  loader: str = 'test_dataloader'):
    """The dataset of ``cfg[loader]``, re-pointed at ``ImageSets/Segmentation/<split>.txt`` and ``data_root``.

    ``masks=False`` drops the GT masks (a training split: images and image-level labels only).
    """
    from mmseg.registry import DATASETS

    ds = cfg[loader].dataset
    if data_root:
        ds.data_root = data_root
    if split:
        ds.ann_file = f'ImageSets/Segmentation/{split}.txt'
    if not masks:
        ds.data_prefix = {k: v for k, v in ds.data_prefix.items() if k != 'seg_map_path'}
        ds.pipeline = [t for t in ds.pipeline if t['type'] != 'LoadAnnotations']
    return DATASETS.build(ds)


def model_and_split(config: str, checkpoint: str, split: Optional[str] = None, data_root: Optional[str] = None,
                    cfg_options: Optional[dict] = None, masks: bool = True) -> Tuple:
    """``(model, dataset, cfg)``: :func:`load_segmentor` + :func:`split_dataset` of the test loader."""
    model, cfg = load_segmentor(config, checkpoint, cfg_options)
    return model, split_dataset(cfg, split, data_root, masks), cfg

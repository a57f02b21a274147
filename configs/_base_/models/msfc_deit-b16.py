# MSFC on DeiT-B/16 (docs/methods/msfc.md): TFCM = ToCo's PTC + CTC (inherited from toco_deit-b16.py, unchanged),
# SMCM and MP2M; every term from step 0 (MSFC drops ToCo's 2k-step segmentation warm-up).
_base_ = ['./toco_deit-b16.py']
model = dict(
    seg_start_iter=0,
    aux_losses=dict(
        # SMCM: 180-degree rotation, half-size copy and the 4 quadrants, CAMs with gradient, L1 over 6 pairs
        smcm=dict(type='SpatialMultiViewContrast', loss_weight=0.1, scale_factor=0.5, cam=dict(source='final')),
        # MP2M: PTC-form loss with memory-CAM pair targets x the bounded adaptive weight (VOC), 0.5. The bank: per-class
        # means of the final tokens over confident multi-scale-CAM regions (> 0.5), >= 4 (image, class) samples per
        # update every 200 steps, real EMA momentum 0.9 (the release's first commit; its later 0.1 keeps 10% history);
        # it warms up from this run (no files from a preliminary run) and the loss starts after the first update.
        mp2m=dict(type='MemoryPrototypeContrast', loss=dict(loss_weight=0.5), adaptive=True, update_interval=200,
                  bank=dict(bkg_thr=0.5, momentum=0.9, min_count=4))))

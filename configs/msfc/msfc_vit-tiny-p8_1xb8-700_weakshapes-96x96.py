# MSFC on WeakShapes on a CPU: TFCM (PTC + ToCo's local-crop class-token contrast, i.e. the ToCo WeakShapes config)
# + SMCM + MP2M, same data, seed and schedule as the ToCo/MCC WeakShapes configs (the ablation of
# configs/msfc/README.md: python tools/demo.py --methods toco mcc msfc msfc-no-smcm msfc-no-mp2m).
# It keeps the WeakShapes configs' 300-step segmentation warm-up (CAMs start from scratch here) so that the
# ablation isolates SMCM and MP2M; the VOC/COCO configs drop the warm-up as MSFC does.
_base_ = ['../toco/toco_vit-tiny-p8_1xb8-700_weakshapes-96x96.py']
model = dict(aux_losses=dict(
    smcm=dict(type='SpatialMultiViewContrast', loss_weight=0.1, scale_factor=0.5, cam=dict(source='final')),
    # bank updates every 50 of 700 steps (200 of 20k in MSFC VOC, more often here so the bank fills in time);
    # prototypes: confident-region (CAM > 0.5) token means, >= 4 contributions per update, EMA 0.9
    mp2m=dict(type='MemoryPrototypeContrast', loss=dict(loss_weight=0.5), adaptive=True, update_interval=50,
              bank=dict(bkg_thr=0.5, momentum=0.9, min_count=4))))
# log every 10 steps (each record the mean of those 10, the log processor's window): the memory branch's monitoring
# values (mem_fg_fraction, mem_weight) then cover every step of the run (tools/analysis_tools/training_curves.py)
default_hooks = dict(logger=dict(interval=10))

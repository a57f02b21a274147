# Ablation: MSFC on WeakShapes without SMCM (TFCM + MP2M only); everything else as the MSFC WeakShapes config.
_base_ = ['./msfc_vit-tiny-p8_1xb8-700_weakshapes-96x96.py']
model = dict(aux_losses=dict(smcm=None))

# Ablation: MSFC on WeakShapes without MP2M (TFCM + SMCM only: no memory bank, no memory loss).
_base_ = ['./msfc_vit-tiny-p8_1xb8-700_weakshapes-96x96.py']
model = dict(aux_losses=dict(mp2m=None))

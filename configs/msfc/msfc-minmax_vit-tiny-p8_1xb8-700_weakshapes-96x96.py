# Option: MSFC on WeakShapes with SMCM's view CAMs min-max normalised like its target (the multi-scale CAM); the
# released code divides the views by their maximum only (relu / max), so the two sides of each view-vs-target term
# are normalised differently. Everything else as the MSFC WeakShapes config; compared over seeds in
# configs/msfc/README.md (python tools/demo.py --methods msfc msfc-memcam msfc-minmax --seeds 0 1 2 --baseline msfc).
_base_ = ['./msfc_vit-tiny-p8_1xb8-700_weakshapes-96x96.py']
model = dict(aux_losses=dict(smcm=dict(view_norm='min_max')))

# MCC on WeakShapes with the dense-CRF energy loss (rloss) on the segmentation output; everything else as the MCC
# WeakShapes config (issue 7's comparison: python tools/demo.py --methods mcc mcc-energy).
# The reference's 448 px crop becomes 96 px here, so sigma_xy keeps the reference's ratio to the crop
# (100 * 96 / 448) and the energy's own weight is scaled by (448 / 96) ** 4: the energy sums over pixel pairs
# within the kernel, i.e. it grows with (number of pixels) ** 2 = side ** 4 when sigma_xy scales with the crop.
_base_ = ['./mcc_vit-tiny-p8_1xb8-700_weakshapes-96x96.py']
model = dict(energy_loss=dict(type='DenseEnergyLoss', loss_weight=0.05, weight=1e-7 * (448 / 96)**4, sigma_rgb=15.0,
                              sigma_xy=100.0 * 96 / 448, scale_factor=0.5))

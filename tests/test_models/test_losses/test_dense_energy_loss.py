"""Dense-CRF energy loss without a compiled extension: lattice filter properties, exact backend vs an explicit
N x N computation, and the lattice's (the reference's own) approximation error against the exact Gaussian."""
import torch
import torch.nn.functional as F

from mmseg.registry import MODELS
from mmwsss.models.losses.dense_energy_loss import DenseEnergyLoss, bilateral_filter
from mmwsss.models.losses.permutohedral import dense_gaussian_filter, permutohedral_filter


def _scene(h=48, w=48, k=3, seed=0):
    """An image with two coloured rectangles, noisy softmax maps, a crop box and a 255 band."""
    g = torch.Generator().manual_seed(seed)
    img = torch.full((1, 3, h, w), 40.0)
    img[:, 0, 8:30, 6:28] = 220.0
    img[:, 1, 20:44, 24:46] = 180.0
    img = img + torch.rand(img.shape, generator=g) * 10
    logits = torch.randn(1, k, h, w, generator=g) * 2
    roi = torch.zeros(1, h, w)
    roi[:, :, : w - 6] = 1  # padding on the right
    labels = torch.zeros(1, h, w, dtype=torch.long)
    labels[:, 8:30, 6:28] = 1
    labels[:, 28:32, :] = 255  # uncertain band
    labels[:, :, w - 6:] = 255  # padding
    return img, logits, roi, labels


def _explicit_energy(img, probs, roi, labels, sigma_rgb, sigma_xy):
    """Reference formula with an explicit N x N kernel matrix (float64): energy and the reference gradient."""
    b, k, h, w = probs.shape
    yy, xx = torch.meshgrid(torch.arange(h).double(), torch.arange(w).double(), indexing='ij')
    pos = torch.stack([xx.flatten(), yy.flatten()], 1)
    col = img[0].double().reshape(3, -1).T
    kernel = torch.exp(-torch.cdist(pos, pos)**2 / (2 * sigma_xy**2) - torch.cdist(col, col)**2 / (2 * sigma_rgb**2))
    s = (probs[0].double() * roi[0].double()).reshape(k, -1)
    gate = (roi[0].double() - probs[0].double().amax(0)).clamp(min=0)
    gate[labels[0] == 255] = 1
    ws = (kernel @ s.T).T * gate.reshape(1, -1)
    energy = -(s * ws).sum() / b
    grad = (-2 * ws / b * roi[0].double().reshape(1, -1)).reshape(1, k, h, w)
    return energy, grad


def test_registered():
    assert isinstance(MODELS.build(dict(type='DenseEnergyLoss')), DenseEnergyLoss)


def test_lattice_filter_is_nearly_symmetric_linear_and_keeps_images_apart():
    torch.manual_seed(0)
    f = (torch.rand(400, 5) * 4).double()
    u, v = torch.rand(400, 2).double(), torch.rand(400, 2).double()
    wu, wv = permutohedral_filter(f, u), permutohedral_filter(f, v)
    # splat and slice are transposes of each other, and each directional blur is symmetric; only the blur's
    # truncation to occupied lattice vertices makes W slightly asymmetric (measured 0.03-0.3 %)
    assert torch.allclose((v * wu).sum(), (u * wv).sum(), rtol=1e-2)
    assert torch.allclose(permutohedral_filter(f, 2 * u + v), 2 * wu + wv, rtol=1e-9, atol=1e-12)
    # two point sets in one call (batch index) == two separate calls, even when they overlap in feature space
    both = permutohedral_filter(torch.cat([f, f]), torch.cat([u, v]),
                                batch_index=torch.arange(2).repeat_interleave(400))
    assert torch.allclose(both, torch.cat([wu, wv]), rtol=1e-9, atol=1e-12)


def test_exact_backend_matches_explicit_kernel_and_reference_gradient():
    img, logits, roi, labels = _scene(h=24, w=24)
    logits.requires_grad_(True)
    probs = F.softmax(logits, 1)
    loss = DenseEnergyLoss(loss_weight=1.0, weight=1.0, sigma_rgb=15, sigma_xy=10, scale_factor=1.0,
                           backend='exact')
    value = loss(img, probs, roi, labels)
    want, want_grad = _explicit_energy(img, probs.detach(), roi, labels, 15, 10)
    assert torch.allclose(value.double(), want, rtol=1e-5)
    (grad_probs,) = torch.autograd.grad(value, probs)
    assert torch.allclose(grad_probs.double(), want_grad, rtol=1e-4, atol=1e-9)
    assert value < 0  # -(S^T W S) with a positive kernel


def test_lattice_against_exact_dense_on_48x48_three_classes():
    """The reference's own approximation (the permutohedral lattice of its extension): on a 48 x 48 image with
    the reference's sigma ratios (sigma_xy 50 at 224 px -> 48 * 50 / 224, sigma_rgb 15) the lattice energy is
    0.6x the exact Gaussian energy (a wider, lower kernel: its integral is 0.71x the Gaussian's in 5-D), and the
    gradients point the same way. Bounds: energy ratio in [0.5, 0.7], gradient cosine > 0.98."""
    img, logits, roi, labels = _scene()
    sigma_xy = 48 * 50 / 224
    energies, grads = {}, {}
    for backend in ('lattice', 'exact'):
        lg = logits.clone().requires_grad_(True)
        value = DenseEnergyLoss(loss_weight=1.0, weight=1.0, sigma_xy=sigma_xy, scale_factor=1.0,
                                backend=backend)(img, F.softmax(lg, 1), roi, labels)
        value.backward()
        energies[backend], grads[backend] = float(value), lg.grad.flatten()
    ratio = energies['lattice'] / energies['exact']
    cosine = F.cosine_similarity(grads['lattice'], grads['exact'], dim=0)
    assert 0.5 < ratio < 0.7, ratio
    assert cosine > 0.98, float(cosine)


def test_gate_roi_and_unlabelled_rules():
    img, logits, roi, labels = _scene(h=16, w=16)
    loss = DenseEnergyLoss(loss_weight=1.0, weight=1.0, sigma_xy=8, scale_factor=1.0, backend='exact')
    # confident (one-hot) predictions inside the ROI have gate 0: no energy unless the pixel is unlabelled
    one_hot = F.one_hot(torch.zeros(1, 16, 16, dtype=torch.long), 3).permute(0, 3, 1, 2).float()
    assert float(loss(img, one_hot, roi, torch.zeros(1, 16, 16, dtype=torch.long))) == 0.0
    labels = torch.zeros(1, 16, 16, dtype=torch.long)
    labels[:, 6:9] = 255  # an uncertain band inside the ROI: gate 1 there
    assert float(loss(img, one_hot, roi, labels)) < 0
    # nothing inside the ROI: S = 0, no energy and no gradient
    probs = F.softmax(logits, 1).requires_grad_(True)
    value = loss(img, probs, torch.zeros(1, 16, 16), labels)
    value.backward()
    assert float(value) == 0.0 and float(probs.grad.abs().sum()) == 0.0


def test_scale_factor_resizes_and_scales_sigma_xy():
    img, logits, roi, labels = _scene(h=32, w=32)
    probs = F.softmax(logits, 1)
    half = DenseEnergyLoss(loss_weight=1.0, weight=1.0, sigma_xy=20, scale_factor=0.5, backend='exact')
    direct = DenseEnergyLoss(loss_weight=1.0, weight=1.0, sigma_xy=10, scale_factor=1.0, backend='exact')
    small = (F.interpolate(img, scale_factor=0.5, mode='nearest'),
             F.interpolate(probs, scale_factor=0.5, mode='bilinear', align_corners=False),
             F.interpolate(roi[:, None], scale_factor=0.5, mode='nearest')[:, 0],
             F.interpolate(labels[:, None].float(), scale_factor=0.5, mode='nearest')[:, 0])
    assert torch.allclose(half(img, probs, roi, labels), direct(*small))


def test_bilateral_filter_backends_agree_on_a_constant_colour_image():
    """On a flat image the kernel is spatial only; both backends must see the same geometry (not the scale)."""
    img = torch.full((1, 3, 20, 20), 100.0)
    values = torch.zeros(1, 1, 20, 20)
    values[..., 10, 10] = 1.0
    exact = bilateral_filter(img, values, 15, 3, 'exact')[0, 0]
    lattice = bilateral_filter(img, values, 15, 3, 'lattice')[0, 0]
    assert exact.argmax() == lattice.argmax() == 10 * 20 + 10
    # both decay with distance from the impulse
    assert exact[10, 10] > exact[10, 13] > exact[10, 17] and lattice[10, 10] > lattice[10, 13] > lattice[10, 17]
    assert torch.allclose(dense_gaussian_filter(torch.zeros(3, 2), torch.ones(3, 1)), torch.full((3, 1), 3.0))


def test_lattice_output_equals_the_previous_implementation():
    """tests/data/golden/permutohedral_lattice.pth: input and output of permutohedral_filter before its rewrite
    around precomputed vertex codes and neighbour indices (2 images of 40 x 40, 3 maps, float64)."""
    import os.path as osp
    from mmwsss.models.losses.permutohedral import PermutohedralLattice, permutohedral_filter
    golden = torch.load(osp.join(osp.dirname(__file__), '..', '..', 'data', 'golden', 'permutohedral_lattice.pth'))
    out = permutohedral_filter(golden['features'], golden['values'], batch_index=golden['batch_index'])
    assert torch.allclose(out, golden['output'], rtol=1e-12, atol=1e-12), (out - golden['output']).abs().max()
    # one lattice, several filterings: the same result as building it again
    lattice = PermutohedralLattice(golden['features'], golden['batch_index'])
    assert torch.equal(lattice.filter(golden['values']), lattice.filter(golden['values']))
    assert torch.allclose(lattice.filter(golden['values'][:, :1]), out[:, :1], rtol=1e-12, atol=1e-12)


def test_lattice_float32_values_agree_with_float64_and_the_two_pass_simplex_sort():
    """float32 values are filtered in float32 (the energy loss's case) and agree with the float64 filtering of the
    golden input; grouping the points by simplex in two stable passes (used when the joint key would overflow)
    gives the same lattice as the joint key."""
    import os.path as osp
    from mmwsss.models.losses.permutohedral import PermutohedralLattice
    golden = torch.load(osp.join(osp.dirname(__file__), '..', '..', 'data', 'golden', 'permutohedral_lattice.pth'))
    lattice = PermutohedralLattice(golden['features'], golden['batch_index'])
    out32 = lattice.filter(golden['values'].float())
    assert out32.dtype == torch.float32
    assert torch.allclose(out32.double(), golden['output'], rtol=1e-5, atol=1e-5)
    assert not torch.equal(out32.double(), golden['output'])  # really computed in float32
    two_pass = PermutohedralLattice.__new__(PermutohedralLattice)
    two_pass.SIMPLEX_KEY_BITS = 0  # force the fallback
    two_pass.__init__(golden['features'], golden['batch_index'])
    assert torch.allclose(two_pass.filter(golden['values']), golden['output'], rtol=1e-12, atol=1e-12)
    assert torch.equal(two_pass.corner, lattice.corner) and torch.equal(two_pass.neighbours, lattice.neighbours)


def test_bilateral_filter_per_image_and_batched_lattices_agree():
    """The CPU default (one lattice per image) and the GPU default (one lattice for the batch) are the same
    operator."""
    g = torch.Generator().manual_seed(3)
    img = torch.rand(3, 3, 20, 24, generator=g) * 255
    vals = torch.rand(3, 4, 20, 24, generator=g)
    per_image = bilateral_filter(img, vals, 15.0, 10.0, per_image=True)
    batched = bilateral_filter(img, vals, 15.0, 10.0, per_image=False)
    assert per_image.shape == vals.shape
    assert torch.allclose(per_image, batched, rtol=1e-5, atol=1e-6)
    # image 1 alone: images never exchange mass
    assert torch.allclose(bilateral_filter(img[1:2], vals[1:2], 15.0, 10.0)[0], per_image[1], rtol=1e-6, atol=1e-6)

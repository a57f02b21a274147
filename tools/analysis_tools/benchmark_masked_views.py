# Speed of MCC's masked views: key-masked full sequence (the reference formulation) vs visible tokens only.
#   python tools/analysis_tools/benchmark_masked_views.py [--views 8] [--img 448] [--repeats 3] [--arch deit-small]
#
# One image is replicated into --views masked views (masks from generate_block_masks, p=0.95, 4x4-token blocks),
# as MCC does with views[2]. Each repeat times forward + backward of the class tokens of all views through
# WSSSViT.forward_key_masked (every token computed, masked keys excluded in every block) and through
# WSSSViT.forward_visible (only the visible tokens, padded to the longest view). Reports the median times, their
# ratio, and how well the two agree (class tokens and parameter gradients). Random init: speed does not depend
# on the weights.
import argparse
import statistics
import time

import torch
from mmengine.model.weight_init import trunc_normal_

from mmwsss.models.backbones import WSSSViT
from mmwsss.models.contrast.mcc import generate_block_masks


def parse_args():
    parser = argparse.ArgumentParser(description='benchmark MCC masked views: key-masked vs visible-only')
    parser.add_argument('--views', type=int, default=8, help='masked views of the one image')
    parser.add_argument('--img', type=int, default=448, help='square input size in pixels')
    parser.add_argument('--repeats', type=int, default=3, help='timed repeats (median reported)')
    parser.add_argument('--warmup', type=int, default=1, help='untimed repeats first')
    parser.add_argument('--arch', default='deit-small', help="WSSSViT / mmpretrain arch, e.g. 'deit-base'")
    parser.add_argument('--patch-size', type=int, default=16)
    parser.add_argument('--mask-prob', type=float, default=0.95)
    parser.add_argument('--block', type=int, default=4)
    parser.add_argument('--min-visible-blocks', type=int, default=1,
                        help='0 keeps all-masked views (the reference mask distribution)')
    parser.add_argument('--threads', type=int, default=None, help='torch CPU threads (default: torch default)')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args()


def sync(device):
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def step(model, fn, x, mask, weight, device):
    """One forward + backward; returns (seconds, class tokens, gradients by parameter name)."""
    model.zero_grad(set_to_none=True)
    sync(device)
    start = time.perf_counter()
    cls_token = fn(x, mask)
    (cls_token * weight).sum().backward()
    sync(device)
    seconds = time.perf_counter() - start
    grads = {n: p.grad.detach().clone() for n, p in model.named_parameters() if p.grad is not None}
    return seconds, cls_token.detach(), grads


def main():
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(args.seed)
    # aux_layer only matters for forward(); -3 is valid for any depth >= 3.
    model = WSSSViT(arch=args.arch, patch_size=args.patch_size, aux_layer=-3)
    with torch.no_grad():  # non-zero class token / positions (init_weights would log every parameter)
        trunc_normal_(model.cls_token, std=0.02)
        trunc_normal_(model.pos_embed, std=0.02)
    model.to(device).train()
    grid = (args.img // args.patch_size, args.img // args.patch_size)
    g = torch.Generator().manual_seed(args.seed)
    keep = generate_block_masks(1, args.views, grid, block=args.block, mask_prob=args.mask_prob,
                                min_visible_blocks=args.min_visible_blocks, generator=g)[0].flatten(1).to(device)
    x = torch.randn(1, 3, args.img, args.img, device=device).expand(args.views, -1, -1, -1)
    weight = torch.randn(model.embed_dims, device=device)  # a fixed projection, so the backward is not trivial

    visible = keep.sum(1).tolist()
    print(f'arch {args.arch} (embed {model.embed_dims}, {len(model.layers)} blocks), input {args.img}x{args.img}, '
          f'grid {grid[0]}x{grid[1]} = {grid[0] * grid[1]} tokens, {args.views} views, device {device}, '
          f'threads {torch.get_num_threads()}, torch {torch.__version__}')
    print(f'masks: p={args.mask_prob}, {args.block}x{args.block}-token blocks, '
          f'min_visible_blocks={args.min_visible_blocks}; visible tokens per view {visible} '
          f'(padded length {max(visible)} + cls, {sum(visible) / keep.numel():.1%} visible)')

    runs = {'key_masked': (model.forward_key_masked, ~keep), 'visible': (model.forward_visible, keep)}
    times, outputs = {}, {}
    for name, (fn, mask) in runs.items():
        for _ in range(args.warmup):
            step(model, fn, x, mask, weight, device)
        times[name] = []
        for _ in range(args.repeats):
            seconds, cls_token, grads = step(model, fn, x, mask, weight, device)
            times[name].append(seconds)
        outputs[name] = (cls_token, grads)
        print(f'{name:>10}: forward+backward median {statistics.median(times[name]):.3f} s '
              f'(min {min(times[name]):.3f}, {args.repeats} repeats after {args.warmup} warm-up)', flush=True)

    ratio = statistics.median(times['key_masked']) / statistics.median(times['visible'])
    ratio_min = min(times['key_masked']) / min(times['visible'])
    (cls_a, grads_a), (cls_b, grads_b) = outputs['key_masked'], outputs['visible']
    cls_diff = (cls_a - cls_b).abs().max().item()
    grad_diff = max(((grads_a[n] - grads_b[n]).abs().max() / grads_a[n].abs().max().clamp_min(1e-30)).item()
                    for n in grads_a)
    print(f'speed-up visible vs key_masked: {ratio:.1f}x (medians), {ratio_min:.1f}x (minima; less sensitive to '
          f'other load on the machine)')
    print(f'agreement: class tokens max abs diff {cls_diff:.2e} (|cls| max {cls_a.abs().max().item():.2f}); '
          f'gradients max diff relative to each parameter\'s max |grad| {grad_diff:.2e}; '
          f'same parameters with gradients: {set(grads_a) == set(grads_b)}')


if __name__ == '__main__':
    main()

# Write the synthetic WeakShapes dataset (VOC layout) used by the CPU demos and tests.
import argparse
import json
import os.path as osp
import time

from mmwsss.datasets.weakshapes import generate_weakshapes


def parse_args():
    parser = argparse.ArgumentParser(description='Generate the WeakShapes dataset (seeded, VOC layout)')
    parser.add_argument('out_dir', nargs='?', default='data/weakshapes', help='dataset root to write')
    parser.add_argument('--num-train', type=int, default=800)
    parser.add_argument('--num-val', type=int, default=200)
    parser.add_argument('--size', type=int, default=128, help='image side in pixels')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--force', action='store_true', help='regenerate even if the parameters match')
    parser.add_argument('--preview', help='also save a PNG with the first 6 train images over their masks')
    return parser.parse_args()


def main():
    args = parse_args()
    start = time.perf_counter()
    info = generate_weakshapes(args.out_dir, num_train=args.num_train, num_val=args.num_val, seed=args.seed,
                               size=args.size, force=args.force)
    elapsed = time.perf_counter() - start
    if info.pop('skipped'):
        print(f'{args.out_dir} already holds WeakShapes with these parameters; nothing written '
              '(use --force to regenerate)')
    else:
        print(f'wrote WeakShapes to {args.out_dir} in {elapsed:.1f} s')
    print(json.dumps(dict(counts=info['counts'], histograms=info['histograms']), indent=2))
    if args.preview:
        save_preview(args.out_dir, args.preview)
        print(f'preview written to {args.preview}')


def save_preview(root, out_file, num=6):
    """Images (top row) over their masks (bottom row) with the image-level labels as titles."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    import numpy as np
    from PIL import Image

    from mmwsss.datasets.weakshapes import WEAKSHAPES_CLASSES
    with open(osp.join(root, 'ImageSets', 'Segmentation', 'train.txt')) as f:
        stems = f.read().split()[:num]
    labels = np.load(osp.join(root, 'cls_labels_onehot.npy'), allow_pickle=True).item()
    fig, axes = plt.subplots(2, num, figsize=(2.2 * num, 4.6))
    for col, stem in enumerate(stems):
        names = [WEAKSHAPES_CLASSES[i + 1] for i in np.flatnonzero(labels[stem])]
        axes[0, col].imshow(Image.open(osp.join(root, 'JPEGImages', stem + '.jpg')))
        axes[0, col].set_title(f'{stem}\n{", ".join(names)}', fontsize=8)
        axes[1, col].imshow(Image.open(osp.join(root, 'SegmentationClass', stem + '.png')).convert('RGB'))
        for ax in axes[:, col]:
            ax.axis('off')
    fig.suptitle('WeakShapes: images and masks (white band = 255, ignored); titles = image-level labels',
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(out_file, dpi=110)
    plt.close(fig)


if __name__ == '__main__':
    main()

# Write the synthetic WeakShapes dataset (VOC layout) used by the CPU demos and tests.
import argparse
import json
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


if __name__ == '__main__':
    main()

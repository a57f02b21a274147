# PASCAL VOC 2012 test submission: palette PNGs at results/VOC2012/Segmentation/comp6_test_cls/<id>.png + a tarball.
#
#   python tools/export_voc_test.py configs/mcc_voc.py work_dirs/mcc_voc/iter_20000.pth --ms-flip-crf
#
# comp6 = trained with data beyond VOC train (SBD's train_aug). The predictions come from tools/test.py
# (--format-only: the test split has no GT and no image-level labels), so the test-time settings are exactly those
# of the val numbers; add --ms-flip-crf for the papers' protocol. The server rejects RGB PNGs and wrong palettes
# without a clear message, so every PNG is checked (mode 'P', VOC colour map, values 0..20) before tarring.
import argparse
import os
import os.path as osp
import subprocess
import sys
import tarfile

import numpy as np
from PIL import Image

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)
from mmwsss.datasets.class_names import voc_palette_bytes  # noqa: E402

RESULTS_SUBDIR = osp.join('results', 'VOC2012', 'Segmentation', 'comp6_test_cls')


def parse_args():
    parser = argparse.ArgumentParser(description='Write and tar VOC 2012 test predictions for the PASCAL server')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--data-root', help='VOC2012 root (default: the config\'s)')
    parser.add_argument('--split', default='test', help='split list under ImageSets/Segmentation (default: test)')
    parser.add_argument('--out-dir', default='work_dirs/voc_test', help='results/ and the tarball go here')
    parser.add_argument('--tta', action='store_true')
    parser.add_argument('--crf', action='store_true')
    parser.add_argument('--ms-flip-crf', action='store_true', help='--tta --crf (papers\' protocol)')
    parser.add_argument('--crf-workers', type=int, default=2)
    parser.add_argument('--cfg-options', nargs='+', default=[], help='passed on to tools/test.py')
    return parser.parse_args()


def check_pngs(png_dir, stems, num_classes=21):
    """Every stem has a palette PNG with the VOC colour map and class values only; return the problems found."""
    palette = list(voc_palette_bytes())
    problems = []
    for stem in stems:
        path = osp.join(png_dir, stem + '.png')
        if not osp.isfile(path):
            problems.append(f'{path}: missing')
            continue
        with Image.open(path) as png:
            if png.mode != 'P':
                problems.append(f'{path}: mode {png.mode}, the server needs P (palette)')
                continue
            if list(png.getpalette())[:3 * num_classes] != palette[:3 * num_classes]:
                problems.append(f'{path}: not the VOC colour map')
            values = np.unique(np.asarray(png))
            if values.max() >= num_classes:
                problems.append(f'{path}: values {values.tolist()} outside 0..{num_classes - 1}')
    return problems


def main():
    args = parse_args()
    out_dir = osp.abspath(args.out_dir)
    png_dir = osp.join(out_dir, RESULTS_SUBDIR)
    os.makedirs(png_dir, exist_ok=True)
    opts = [f'test_dataloader.dataset.ann_file=ImageSets/Segmentation/{args.split}.txt',
            'test_dataloader.dataset.label_source=None', "test_dataloader.dataset.data_prefix.seg_map_path=''"]
    if args.data_root:
        opts.append(f'test_dataloader.dataset.data_root={args.data_root}')
    flags = [f for f, on in (('--tta', args.tta), ('--crf', args.crf), ('--ms-flip-crf', args.ms_flip_crf)) if on]
    cmd = [sys.executable, osp.join(REPO, 'tools', 'test.py'), args.config, args.checkpoint, '--format-only',
           '--out', png_dir, '--work-dir', osp.join(out_dir, 'test_log'), '--crf-workers', str(args.crf_workers),
           *flags, '--cfg-options', *opts, *args.cfg_options]
    print('$ ' + ' '.join(cmd), flush=True)
    subprocess.run(cmd, check=True)

    from mmengine.config import Config
    data_root = args.data_root or Config.fromfile(args.config).test_dataloader.dataset.data_root
    with open(osp.join(data_root, 'ImageSets', 'Segmentation', f'{args.split}.txt')) as f:
        stems = [s.strip() for s in f if s.strip()]
    problems = check_pngs(png_dir, stems)
    if problems:
        raise SystemExit(f'{len(problems)} problems in {png_dir}:\n' + '\n'.join(problems[:20]))
    tarball = osp.join(out_dir, 'results.tar.gz')
    with tarfile.open(tarball + '.tmp', 'w:gz') as tar:  # renamed when complete: never a truncated tarball
        tar.add(osp.join(out_dir, 'results'), arcname='results')
    os.replace(tarball + '.tmp', tarball)
    print(f'{len(stems)} palette PNGs (mode P, VOC colour map) in {png_dir}\nsubmission tarball: {tarball}')


if __name__ == '__main__':
    main()

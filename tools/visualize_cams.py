# CAM heatmap overlays of a WSSS checkpoint: one grid PNG (image, a heatmap per labelled class, prediction | GT)
# and, with --per-image, one PNG per (image, class).
#
#   python tools/visualize_cams.py CONFIG CKPT --out work_dirs/cams [--split val] [--num 6 | --stems a b] [--per-image]
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))


def parse_args():
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description='Draw CAM heatmap overlays per labelled class')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--out', required=True, help='output folder (cams.png, and per-image PNGs)')
    parser.add_argument('--split', default='val', help='list under ImageSets/Segmentation (default: val)')
    parser.add_argument('--data-root', help='override the config\'s data_root')
    parser.add_argument('--num', type=int, default=6, help='first N images of the split')
    parser.add_argument('--stems', nargs='+', help='these images instead of the first --num')
    parser.add_argument('--cam', choices=['final', 'aux'], default='final')
    parser.add_argument('--per-image', action='store_true', help='also one PNG per (image, labelled class)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={})
    return parser.parse_args()


def main():
    args = parse_args()
    from mmwsss.utils.offline import model_and_split
    from mmwsss.visualization import cam_rows, draw_cam_grid, save_cam_overlays

    model, dataset, _ = model_and_split(args.config, args.checkpoint, args.split, args.data_root, args.cfg_options)
    stems = [dataset.get_data_info(i)['stem'] for i in range(len(dataset))]
    if args.stems:
        missing = [s for s in args.stems if s not in stems]
        if missing:
            raise SystemExit(f'not in the {args.split} split: {missing}')
        indices = [stems.index(s) for s in args.stems]
    else:
        indices = range(min(args.num, len(dataset)))
    rows = cam_rows(model, dataset, indices, cam=args.cam)
    grid = draw_cam_grid(rows, dataset.metainfo, osp.join(args.out, 'cams.png'))
    print(f'grid: {grid} ({len(rows)} images)')
    if args.per_image:
        paths = save_cam_overlays(rows, dataset.metainfo, args.out)
        print(f'{len(paths)} per-class overlays in {args.out}')


if __name__ == '__main__':
    main()

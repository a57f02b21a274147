# Logged training values over a run, by iteration window, for runs grouped by config (seeds averaged): what a
# monitoring value (MSFC's mem_fg_fraction / mem_weight, a loss) did in which part of training, as a table and a plot.
#
#   python tools/analysis_tools/training_curves.py work_dirs/seeds/msfc* --keys mem_fg_fraction mem_weight \
#       --windows 0 50 400 550 700 [--out curves.png] [--json curves.json]
#
# Each run is a tools/train.py work dir. A record of the training log is the mean of the last `window_size` steps
# (10 by default in MMEngine's log processor) at every logger interval; a window's value is the mean of the records
# whose iteration falls in it, "> 0" the share of those records above zero, and min / max their extremes. Runs of the
# same config (seeds) are one row: mean ± std (n) over the runs of each number.
import argparse
import json
import os.path as osp
import sys
from collections import OrderedDict

import numpy as np

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
from mmwsss.utils.seed_stats import format_summary  # noqa: E402
from mmwsss.utils.work_dir import training_config, training_records  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Logged training values by iteration window, seeds grouped')
    parser.add_argument('work_dirs', nargs='+', help='tools/train.py work dirs')
    parser.add_argument('--keys', nargs='+', required=True, help='logged keys, e.g. mem_fg_fraction mem_weight')
    parser.add_argument('--windows', type=int, nargs='+', default=None,
                        help='window edges in iterations (default: the whole run); a record at iteration i '
                             'belongs to the window lo < i <= hi')
    parser.add_argument('--out', default=None, help='save a plot of every run (one panel per key) here')
    parser.add_argument('--json', default=None, help='write the per-run and per-group numbers here')
    return parser.parse_args(argv)


def run_series(work_dir, keys):
    """(config name, {key: (iterations, values)}) of one work dir; a clear error when a key was never logged."""
    name = osp.splitext(osp.basename(training_config(work_dir)))[0]
    records = training_records(work_dir)
    if not records:
        raise SystemExit(f'{work_dir}: no training log (<work_dir>/<timestamp>/vis_data/scalars.json)')
    series = {}
    for key in keys:
        rows = [(r.get('step', r.get('iter')), r[key]) for r in records if key in r]
        if not rows:
            logged = sorted({k for r in records for k in r})
            raise SystemExit(f'{work_dir}: "{key}" is not in its training log; logged keys: {", ".join(logged)}')
        steps, values = zip(*sorted(rows))
        series[key] = (np.asarray(steps), np.asarray(values, dtype=float))
    return name, series


def window_stats(steps, values, lo, hi):
    """Mean, share above zero, min and max of the records with lo < step <= hi (None when there is none)."""
    sel = values[(steps > lo) & (steps <= hi)]
    if sel.size == 0:
        return None
    return dict(mean=float(sel.mean()), positive=float((sel > 0).mean()), min=float(sel.min()),
                max=float(sel.max()), records=int(sel.size))


def summarise_runs(work_dirs, keys, windows=None):
    """{config name: {'runs': [...], key: [{window, stat: [per-run values]}]}} in the order the runs came."""
    groups = OrderedDict()
    for work_dir in work_dirs:
        name, series = run_series(work_dir, keys)
        group = groups.setdefault(name, dict(runs=[], series=[]))
        group['runs'].append(work_dir)
        group['series'].append(series)
    for group in groups.values():
        for key in keys:
            last = max(int(s[key][0].max()) for s in group['series'])
            edges = windows or [0, last]
            rows = []
            for lo, hi in zip(edges[:-1], edges[1:]):
                stats = [window_stats(*s[key], lo, hi) for s in group['series']]
                rows.append(dict(window=(lo, hi), **{
                    stat: [st[stat] if st else None for st in stats] for stat in ('mean', 'positive', 'min', 'max')}))
            group[key] = rows
    return groups


def table(groups, keys):
    lines = []
    for key in keys:
        lines += [f'\n{key} (mean ± std (n) over the runs of a config)\n',
                  '| config | iterations | mean | records > 0 | min | max |', '|---|---|---|---|---|---|']
        for name, group in groups.items():
            for row in group[key]:
                lo, hi = row['window']
                lines.append(f'| {name} | {lo + 1}-{hi} | {format_summary(row["mean"], 3)} | '
                             f'{format_summary([p * 100 if p is not None else None for p in row["positive"]], 0)}% | '
                             f'{format_summary(row["min"], 3)} | {format_summary(row["max"], 3)} |')
    return '\n'.join(lines)


def plot(groups, keys, out):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(keys), figsize=(5.5 * len(keys), 3.8), squeeze=False)
    colours = plt.rcParams['axes.prop_cycle'].by_key()['color']
    for ax, key in zip(axes[0], keys):
        for i, (name, group) in enumerate(groups.items()):
            for j, series in enumerate(group['series']):
                steps, values = series[key]
                ax.plot(steps, values, color=colours[i % len(colours)], alpha=0.8, lw=1.2,
                        label=name if j == 0 else None)
        ax.set_title(key)
        ax.set_xlabel('iteration')
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main(argv=None):
    args = parse_args(argv)
    if args.windows is not None and (len(args.windows) < 2 or sorted(args.windows) != args.windows):
        raise SystemExit(f'--windows needs at least two increasing edges, got {args.windows}')
    groups = summarise_runs(args.work_dirs, args.keys, args.windows)
    print(table(groups, args.keys))
    if args.out:
        plot(groups, args.keys, args.out)
        print(f'\nplot: {args.out}')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump({name: {k: v for k, v in g.items() if k != 'series'} for name, g in groups.items()}, f,
                      indent=1)
    return groups


if __name__ == '__main__':
    main()

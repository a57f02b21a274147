"""tools/analysis_tools/benchmark_gmm_filter.py, tiny: its main runs both filters and prints the comparison table."""
import os
import os.path as osp
import runpy

import torch

from conftest import REPO_ROOT


def test_tiny_gmm_filter_benchmark(capsys, monkeypatch):
    tool = runpy.run_path(osp.join(REPO_ROOT, 'tools', 'analysis_tools', 'benchmark_gmm_filter.py'),
                          run_name='benchmark_gmm_filter')
    # --threads changes process-wide settings: give them back to the tests that follow
    monkeypatch.setenv('OMP_NUM_THREADS', os.environ.get('OMP_NUM_THREADS', ''))
    threads = torch.get_num_threads()
    try:
        rows = tool['main'](['--batch', '1', '2', '--size', '96', '--repeat', '1', '--threads', '1',
                             '--sklearn-dtype', 'float64'])
    finally:
        torch.set_num_threads(threads)
    out = capsys.readouterr().out
    print(out)
    assert out.count('\n| 1 | 2 |') == 1 and out.count('\n| 2 | 4 |') == 1, out
    for batch, images, t_sk, t_torch, differ, one_sided, mean_diff, fitted_differ, applied, removed in rows:
        assert t_sk > 0 and t_torch > 0
        # every synthetic image has enough candidates and a noisy mode: both filters fit and filter all of them
        assert fitted_differ == 0 and one_sided == 0 and applied == 1 and removed > 0, out
        assert differ < 1e-3 and mean_diff < 5e-2, out  # observed 1.6e-4 and 8.0e-3

"""tools/analysis_tools/benchmark_energy_loss.py, small: the lattice against the previous revision's lattice.

The previous lattice is read from git history; in a checkout without that revision (a shallow clone, an export) the
benchmark runs without it, and the equality with the previous implementation is still checked by
tests/test_models/test_losses/test_dense_energy_loss.py against its golden file.
"""
import re
import subprocess

from conftest import REPO_ROOT, run_tool


def _has_previous_revision():
    with open(f'{REPO_ROOT}/tools/analysis_tools/benchmark_energy_loss.py') as f:
        source = f.read()
    rev = re.search(r"PREVIOUS = '([0-9a-f]{40})'", source).group(1)
    return subprocess.run(['git', 'cat-file', '-e', f'{rev}:mmwsss/models/losses/permutohedral.py'], cwd=REPO_ROOT,
                          capture_output=True).returncode == 0


def test_small_energy_benchmark_agrees_with_the_previous_lattice():
    previous = _has_previous_revision()
    proc = run_tool(['tools/analysis_tools/benchmark_energy_loss.py', '--size', '64', '--batch', '1', '2',
                     '--classes', '4', '--repeat', '1', '--skip-exact', '--threads', '2',
                     *([] if previous else ['--previous', ''])], timeout=300)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    out = proc.stdout
    assert out.count('| lattice |') == 2, out
    if previous:
        assert out.count('| previous |') == 2, out
        # float32 values are filtered in float32 now (as the C++ lattice does); float64 values give the previous
        # lattice's energy to rounding
        pairs = re.findall(r'lattice vs previous: \|relative energy difference\| (\S+) \(float32 values\), (\S+) '
                           r'\(float64 values\)', out)
        assert len(pairs) == 2, out
        assert all(float(f32) < 1e-6 and float(f64) < 1e-12 for f32, f64 in pairs), out

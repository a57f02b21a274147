"""tools/analysis_tools/benchmark_energy_loss.py, small: the lattice against the previous revision's lattice."""
import re

from conftest import run_tool


def test_small_energy_benchmark_agrees_with_the_previous_lattice():
    proc = run_tool(['tools/analysis_tools/benchmark_energy_loss.py', '--size', '64', '--batch', '1', '2',
                     '--classes', '4', '--repeat', '1', '--skip-exact', '--threads', '2'], timeout=300)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    out = proc.stdout
    assert out.count('| lattice |') == 2 and out.count('| previous |') == 2, out
    differences = [float(x) for x in re.findall(r'lattice vs previous: \|relative energy difference\| (\S+)', out)]
    assert len(differences) == 2 and all(d < 1e-9 for d in differences), out

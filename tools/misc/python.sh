# Sourced by the launch scripts (torchrun.sh, slurm_train.sh, slurm_test.sh): sets PYTHON, the interpreter they run,
# in this order: $PYTHON when set, the project's .venv (what `make install` creates), `python` on PATH. It says
# which one on stderr, so a "No module named 'torch'" is never a mystery.
_mmwsss_repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
if [ -z "${PYTHON:-}" ]; then
    if [ -x "$_mmwsss_repo/.venv/bin/python" ]; then
        PYTHON="$_mmwsss_repo/.venv/bin/python"
    else
        PYTHON=python
    fi
fi
echo "$(basename "$0"): using $PYTHON (set PYTHON=/path/to/python to use another interpreter)" >&2

#!/usr/bin/env bash
# Install the *full* mmcv (with its compiled ops, `mmcv._ext`) into the Python environment of $PYTHON.
#
# Order of attempts:
#   1. nothing to do when the requested mmcv is importable together with `mmcv.ops`;
#   2. a prebuilt wheel from the wheel folders given in $MMWSSS_WHEELS (space separated), e.g. the team's
#      shared/wheels or .cache/wheels from an earlier build; kept only if `mmcv.ops` then imports (a wheel built
#      against another torch fails here and is removed again);
#   3. a build from mmcv's source distribution against the installed torch (`--no-build-isolation`).
#      mmcv 2.1.0's setup.py hard-codes `-std=c++17` for the CPU extension; torch releases whose headers need
#      C++20 (2.14 does) break that build, so the flag is patched when a probe compile shows torch needs it.
#      The built wheel is kept in .cache/wheels so a later `make install` does not rebuild it.
#
# Usage: PYTHON=.venv/bin/python MMWSSS_WHEELS="../shared/wheels" tools/misc/install_mmcv.sh [VERSION]
set -euo pipefail

PY=${PYTHON:-python}
VERSION=${1:-${MMCV_VERSION:-2.1.0}}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CACHE="$ROOT/.cache/wheels"

have_mmcv_ops() {
  "$PY" - "$VERSION" <<'PYEOF' >/dev/null 2>&1
import sys
import mmcv
import mmcv.ops  # noqa: F401  (loads the compiled extension mmcv._ext)
sys.exit(0 if mmcv.__version__ == sys.argv[1] else 1)
PYEOF
}

if have_mmcv_ops; then
  echo "[install_mmcv] mmcv $VERSION with compiled ops is already installed"
  exit 0
fi

for dir in ${MMWSSS_WHEELS:-} "$CACHE"; do
  [ -d "$dir" ] || continue
  compgen -G "$dir/mmcv-$VERSION-*.whl" >/dev/null || continue
  echo "[install_mmcv] trying the prebuilt wheel in $dir"
  "$PY" -m pip install --find-links "$dir" --only-binary mmcv "mmcv==$VERSION"
  if have_mmcv_ops; then
    echo "[install_mmcv] mmcv $VERSION installed from $dir"
    exit 0
  fi
  echo "[install_mmcv] the wheel in $dir does not load against this torch; removing it and trying the next source"
  "$PY" -m pip uninstall -y mmcv
done

echo "[install_mmcv] building mmcv $VERSION from source (about 18 min on 2 cores)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# --no-build-isolation: preparing the metadata runs mmcv's setup.py, which needs pkg_resources (setuptools<81)
"$PY" -m pip download --no-deps --no-binary :all: --no-build-isolation "mmcv==$VERSION" -d "$work"
tar xzf "$work"/mmcv-"$VERSION".tar.gz -C "$work"
src="$work/mmcv-$VERSION"

# Does torch's extension header compile as C++17? If not, mmcv's hard-coded -std=c++17 must become c++20.
probe="$work/probe.cpp"
echo '#include <torch/extension.h>' > "$probe"
includes=$("$PY" -c "
import sysconfig
from torch.utils.cpp_extension import include_paths
print(' '.join('-I' + p for p in include_paths() + [sysconfig.get_paths()['include']]))")
if ! ${CXX:-g++} -std=c++17 -fsyntax-only $includes "$probe" 2>/dev/null; then
  echo "[install_mmcv] torch's headers need C++20: patching mmcv's setup.py (-std=c++17 -> -std=c++20)"
  sed -i 's/-std=c++17/-std=c++20/g' "$src/setup.py"
fi

mkdir -p "$CACHE"
MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} \
  "$PY" -m pip wheel --no-build-isolation --no-deps -w "$CACHE" "$src"
"$PY" -m pip install --find-links "$CACHE" --only-binary mmcv "mmcv==$VERSION"
have_mmcv_ops || { echo "[install_mmcv] mmcv built but mmcv.ops does not import" >&2; exit 1; }
echo "[install_mmcv] mmcv $VERSION built and installed (wheel kept in $CACHE)"

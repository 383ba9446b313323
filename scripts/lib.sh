# Shared by scripts/dev, scripts/test and scripts/bench-raft: install what is missing, and where builds go.
# shellcheck shell=bash

DROVER_PACKAGES=(clang libclang-dev protobuf-compiler busybox-static iproute2 nftables curl docker-registry skopeo libssl-dev pkg-config)

# Installs the given Debian packages with apt (as root, or through sudo).
install_packages() {
  echo "==> installing missing packages: $*"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

ensure_packages() {
  local missing=()
  for p in "${DROVER_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] || install_packages "${missing[@]}"
  if ! command -v cargo >/dev/null 2>&1; then
    echo "error: cargo is not installed (Drover needs a Rust toolchain, 1.85 or newer)" >&2
    exit 1
  fi
}

# Builds are kept outside the clone so a fresh clone reuses them.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/drover-target}"
DROVER_BIN="$CARGO_TARGET_DIR/debug/drover"

# A Python environment with python-nomad, the Python client library for Nomad's API, for the
# compatibility test (tests/compat_python.rs). Made once, kept outside the clone.
DROVER_PYENV="${DROVER_PYENV:-/var/tmp/drover-pyenv}"
PYTHON_NOMAD_VERSION="2.1.0"
ensure_python_nomad() {
  if "$DROVER_PYENV/bin/python" -c "import nomad, sys; sys.exit(0)" 2>/dev/null; then
    return
  fi
  echo "==> installing python-nomad $PYTHON_NOMAD_VERSION into $DROVER_PYENV"
  if ! python3 -m venv "$DROVER_PYENV" >/dev/null 2>&1; then
    install_packages python3-venv
    python3 -m venv "$DROVER_PYENV"
  fi
  "$DROVER_PYENV/bin/pip" install -q "python-nomad==$PYTHON_NOMAD_VERSION"
}
export DROVER_PYENV

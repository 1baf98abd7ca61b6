# Sourced by start.sh and test.sh: makes .venv with the pinned requirements on a fresh Debian
# machine that has only Python 3.11. Installs Debian's build packages for mysqlclient (and any
# extra packages named in EXTRA_DEBIAN_PACKAGES) when they are missing and we may install them.
set -euo pipefail

python_find() {
  for candidate in "${PYTHON:-}" python3.11 python3; do
    [ -n "$candidate" ] && command -v "$candidate" >/dev/null 2>&1 || continue
    if "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] < (3, 11))'; then
      echo "$candidate"; return 0
    fi
  done
  echo "Python 3.11 or newer is required (set PYTHON=/path/to/python3.11)." >&2
  return 1
}

debian_install() {
  local missing=()
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo"; else
      echo "Missing Debian packages: ${missing[*]}. Install them with: sudo apt-get install ${missing[*]}" >&2
      return 1
    fi
  fi
  echo "Installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

PY=$(python_find)
if command -v dpkg-query >/dev/null 2>&1; then
  python_minor=$("$PY" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
  venv_package=()
  "$PY" -c 'import ensurepip, venv' 2>/dev/null || venv_package=("python${python_minor}-venv")
  debian_install pkg-config libmariadb-dev build-essential ${venv_package[@]+"${venv_package[@]}"} ${EXTRA_DEBIAN_PACKAGES:-}
fi

requirements=${REQUIREMENTS:-requirements.txt}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
# Reinstall only when the requirements change.
stamp=".venv/.installed-$(cat requirements.txt "$requirements" | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -r "$requirements"
  touch "$stamp"
fi

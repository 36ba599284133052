# Shared by scripts/start and scripts/test (sourced, not run): the virtual
# environment in .venv and the packages Sargs needs.

# A Python 3.11 or newer.
find_python() {
    local candidate
    for candidate in "${PYTHON:-}" python3.13 python3.12 python3.11 python3; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    echo "Sargs needs Python 3.11 or newer (python3 -m venv); none was found." >&2
    return 1
}

# ensure_venv [EXTRA]: create .venv if needed and install Sargs into it
# (editable, with the optional EXTRA such as "test"). The install is skipped
# when pyproject.toml is unchanged since the last one.
ensure_venv() {
    local extra="${1:-}" spec="." python stamp digest
    [ -n "$extra" ] && spec=".[$extra]"
    if ! .venv/bin/python -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        python="$(find_python)"
        echo "Creating the virtual environment .venv ($("$python" --version))"
        rm -rf .venv
        "$python" -P -m venv .venv
    fi
    digest="$(cat pyproject.toml | sha256sum | cut -c1-16)"
    stamp=".venv/.sargs-installed-${extra:-base}"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$digest" ] &&
        .venv/bin/python -P -c 'import sargs' 2>/dev/null; then
        return 0
    fi
    echo "Installing Sargs into .venv (pip install -e '$spec')"
    if ! .venv/bin/python -P -m pip install -e "$spec" >.venv/pip-install.log 2>&1; then
        grep -v "is ignored: it is neither a file nor a directory" .venv/pip-install.log >&2
        echo "pip install -e '$spec' failed (log: .venv/pip-install.log)" >&2
        return 1
    fi
    echo "$digest" >"$stamp"
}

# apt_install WHAT PACKAGE…: install Debian packages when we may (root, or
# sudo without a password); otherwise say which tests will be skipped.
apt_install() {
    local what="$1" sudo=""
    shift
    command -v apt-get >/dev/null 2>&1 || {
        echo "$* not installed (no apt-get); $what will be skipped." >&2
        return 0
    }
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            sudo="sudo"
        else
            echo "$* not installed; $what will be skipped." \
                "Install them with: sudo apt-get install $*" >&2
            return 0
        fi
    fi
    echo "Installing Debian's $* for $what (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq "$@" >/dev/null
}

# Debian's Chromium for the browser tests, when it is missing.
ensure_chromium() {
    local chromium="${SARGS_CHROMIUM:-/usr/bin/chromium}"
    [ -x "$chromium" ] && return 0
    apt_install "the browser tests" chromium fonts-dejavu-core
}

# The system libraries WeasyPrint needs for PDF documents (Pango,
# HarfBuzz) and the DejaVu fonts with the Latvian letters, when they are missing.
# WHAT names what goes without them when they cannot be installed.
ensure_weasyprint_libs() {
    local missing=() package
    for package in libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b fonts-dejavu-core; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" ||
            missing+=("$package")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    apt_install "${1:-PDF documents (after-action and situation reports)}" "${missing[@]}"
}

# Debian's redis-server for the shared rate-budget tests (each test starts its
# own on a free port), when it is missing and we may install packages.
ensure_redis_server() {
    local sudo=""
    command -v redis-server >/dev/null 2>&1 && return 0
    command -v apt-get >/dev/null 2>&1 || {
        echo "redis-server is not installed; the Redis rate-budget tests will fail." >&2
        return 0
    }
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            sudo="sudo"
        else
            echo "redis-server is not installed; install it with: sudo apt-get install redis-server" >&2
            return 0
        fi
    fi
    echo "Installing Debian's redis-server for the rate-budget tests (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq redis-server >/dev/null
}

# Debian's Dovecot IMAP server for the e-mail intake tests (each test module
# starts its own on a free port), when it is missing.
ensure_dovecot() {
    command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] && return 0
    apt_install "the e-mail intake tests" dovecot-imapd
}

# The programs the SIP paging tests drive: SIPp (package sip-tester) as the
# paging phone, espeak-ng and sox rendering the spoken page.
ensure_sip_tools() {
    local missing=() pair
    for pair in sipp:sip-tester espeak-ng:espeak-ng sox:sox; do
        command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    apt_install "the SIP paging tests" "${missing[@]}"
}

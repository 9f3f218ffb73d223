#!/usr/bin/env bash
# Prepares what the Wine suite (interop/wine) needs to run Windows Node and
# Windows Go programs on Linux: Debian's Wine and mingw-w64 (installed as
# root when missing), the Windows node.exe majors pinned in
# interop/testdata/windows/package.json, and a Wine prefix set to
# Windows 10 with the bcryptprimitives.dll that Go programs need under
# Wine 8.0 (built here from dll/). The prefix is kept between runs
# ($NODEIPC_WINEPREFIX, else nodeipc/wine in the user's cache folder);
# wine_test.go finds it there.
#
# In CI (CI set) a piece that cannot be had is an error; elsewhere the
# script says why and exits 0, and the suite skips.
set -euo pipefail
cd "$(dirname "$0")/../.."

prefix=${NODEIPC_WINEPREFIX:-${XDG_CACHE_HOME:-$HOME/.cache}/nodeipc/wine}
wine=/usr/lib/wine/wine64
server=/usr/lib/wine/wineserver64

unavailable() {
	if [ -n "${CI:-}" ]; then
		echo "interop/wine/setup.sh: $*" >&2
		exit 1
	fi
	echo "interop/wine/setup.sh: $*; the Wine suite will be skipped" >&2
	exit 0
}

if [ ! -x "$wine" ] || ! command -v x86_64-w64-mingw32-gcc >/dev/null; then
	if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
		unavailable "Wine or mingw-w64 missing, and no apt-get as root to install them"
	fi
	echo "interop/wine/setup.sh: installing wine64 and gcc-mingw-w64-x86-64-win32" >&2
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		wine64 gcc-mingw-w64-x86-64-win32 >/dev/null
fi

# node.exe for every major. The packages declare os "win32": --force
# installs them here all the same (they hold a binary and nothing to run).
npm ci --prefix interop/testdata/windows --force --no-audit --no-fund --loglevel=error

mkdir -p "$prefix"
export WINEPREFIX="$prefix" WINEDEBUG=-all WINEDLLOVERRIDES='mscoree,mshtml='
if [ ! -f "$prefix/.nodeipc-ready" ]; then
	echo "interop/wine/setup.sh: creating the Wine prefix $prefix" >&2
	# "failed to open ...syswow64\rundll32.exe" is harmless: no 32-bit Wine.
	"$wine" wineboot --init >/dev/null 2>&1 || true
	"$wine" winecfg /v win10 >/dev/null 2>&1
fi
dll=$(mktemp -d)
trap 'rm -rf "$dll"' EXIT
x86_64-w64-mingw32-gcc -O2 -shared -s -o "$dll/bcryptprimitives.dll" \
	interop/wine/dll/bcryptprimitives.c interop/wine/dll/bcryptprimitives.def
cp "$dll/bcryptprimitives.dll" "$prefix/drive_c/windows/system32/bcryptprimitives.dll"
"$server" -k 2>/dev/null || true
touch "$prefix/.nodeipc-ready"

#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages smolkit needs to build and test, if any is missing.
set -euo pipefail
pkgs=(build-essential clang libclang-rt-14-dev pkg-config
      libcjson-dev libpcre2-dev libutf8proc-dev libzstd-dev zlib1g-dev
      python3 python3-numpy python3-regex python3-nltk fasttext ripgrep zstd gzip time)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# clang-14's runtime is named differently on newer releases; accept any installed libclang-rt.
if [[ " ${missing[*]-} " == *" libclang-rt-14-dev "* ]] && ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
  missing=("${missing[@]/libclang-rt-14-dev}")
fi
missing=(${missing[@]+"${missing[@]}"})
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}" >&2
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2

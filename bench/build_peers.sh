#!/usr/bin/env bash
# build_peers.sh: builds the peer we measure against, llama.cpp's llama-bench, llama-tokenize and
# llama-quantize, outside the repository. The llama.cpp source comes from the npm package
# node-llama-cpp (it ships the source as a git bundle, llama/gitRelease.bundle); the build is CPU
# only, native, Release. Idempotent: each step is skipped when its result is already there.
#
#   bash bench/build_peers.sh            # into /work/peers (or $PEERS_DIR)
#   PEERS_DIR=/tmp/peers JOBS=4 bash bench/build_peers.sh
#
# Result: $PEERS_DIR/llama.cpp/build/bin/{llama-bench,llama-tokenize,llama-quantize}; the last
# line printed is the llama.cpp version string.
set -euo pipefail

PEERS_DIR=${PEERS_DIR:-/work/peers}
NODE_LLAMA_CPP_VERSION=${NODE_LLAMA_CPP_VERSION:-3.21.1}
JOBS=${JOBS:-$(nproc)}
SRC=$PEERS_DIR/llama.cpp
BUILD=$SRC/build
TOOLS=(llama-bench llama-tokenize llama-quantize)

log() { echo "build_peers: $*" >&2; }
die() { echo "build_peers: error: $*" >&2; exit 1; }

for tool in npm git cmake tar c++; do
    command -v "$tool" >/dev/null || die "'$tool' is not installed (apt-get install -y npm git cmake g++)"
done
mkdir -p "$PEERS_DIR"

# 1. The npm package, unpacked in $PEERS_DIR/package.
tgz=$PEERS_DIR/node-llama-cpp-$NODE_LLAMA_CPP_VERSION.tgz
if [ ! -s "$tgz" ]; then
    log "fetching node-llama-cpp@$NODE_LLAMA_CPP_VERSION from npm"
    (cd "$PEERS_DIR" && npm pack --silent "node-llama-cpp@$NODE_LLAMA_CPP_VERSION" >/dev/null) \
        || die "npm pack node-llama-cpp@$NODE_LLAMA_CPP_VERSION failed"
fi
bundle=$PEERS_DIR/package/llama/gitRelease.bundle
if [ ! -s "$bundle" ]; then
    log "unpacking $tgz"
    tar -xzf "$tgz" -C "$PEERS_DIR" package/llama/gitRelease.bundle package/llama/llama.cpp.info.json \
        || die "$tgz has no llama/gitRelease.bundle"
fi

# 2. The llama.cpp source, cloned from the bundle.
if [ ! -f "$SRC/CMakeLists.txt" ]; then
    log "cloning $bundle into $SRC"
    rm -rf "$SRC"
    git -c advice.detachedHead=false clone --quiet "$bundle" "$SRC" || die "git clone of $bundle failed"
fi

# 3. Configure (CPU only, tuned for this CPU, no network code, no server, tests or examples).
if [ ! -f "$BUILD/CMakeCache.txt" ]; then
    log "configuring $BUILD"
    cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release \
        -DGGML_NATIVE=ON -DGGML_CPU=ON -DGGML_CUDA=OFF -DGGML_VULKAN=OFF -DGGML_METAL=OFF \
        -DGGML_OPENMP=ON -DBUILD_SHARED_LIBS=OFF \
        -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF -DGGML_CCACHE=OFF \
        -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF \
        -DLLAMA_BUILD_APP=OFF -DLLAMA_BUILD_UI=OFF -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_COMMON=ON \
        >"$PEERS_DIR/cmake-configure.log" 2>&1 \
        || { tail -30 "$PEERS_DIR/cmake-configure.log" >&2; rm -f "$BUILD/CMakeCache.txt"; die "cmake configure failed"; }
fi

# 4. Build only the three tools.
missing=()
for t in "${TOOLS[@]}"; do [ -x "$BUILD/bin/$t" ] || missing+=("$t"); done
if [ ${#missing[@]} -gt 0 ]; then
    log "building ${missing[*]} with $JOBS jobs (log: $PEERS_DIR/cmake-build.log)"
    cmake --build "$BUILD" --config Release -j "$JOBS" --target "${missing[@]}" \
        >"$PEERS_DIR/cmake-build.log" 2>&1 \
        || { tail -30 "$PEERS_DIR/cmake-build.log" >&2; die "cmake build failed"; }
fi
for t in "${TOOLS[@]}"; do [ -x "$BUILD/bin/$t" ] || die "$BUILD/bin/$t was not built"; done
log "built: ${TOOLS[*]} in $BUILD/bin"
"$BUILD/bin/llama-tokenize" --version 2>&1 | grep -i "^version" || true

# Installs Debian packages that are missing. Sourced by scripts/run and scripts/test.

# Packages the build itself needs beyond the Rust toolchain and pkg-config:
# libopus for audiopus_sys, which finds it with pkg-config (else it needs cmake).
BUILD_PACKAGES=(libopus-dev)
# Real peers and tools the test suite drives (espeak-ng speaks the messages
# the voicemail tests leave; ffmpeg is the independent SRTP peer).
TEST_PACKAGES=(sip-tester baresip espeak-ng ffmpeg)

install_missing() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  ((${#missing[@]})) || return 0
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  echo "installing: ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

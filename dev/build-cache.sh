# Sourced by the dev/build-*.sh scripts that build Go programs into the cache: the
# check that makes a warm cache a no-op, and the machine-wide build lock (two builds
# at once would share Go's caches and the wrapper module's go.mod). The sourcing
# script defines `log`, `have_all` (every program it builds is in $bin) and the
# variables `bin` and `cache`.

# Prints the binary directory and ends the script when everything is built already.
exit_if_built() {
  if have_all; then
    log "cached: $bin"
    echo "$bin"
    exit 0
  fi
}

# take_build_lock WHAT: waits for any other build, then checks again (it may have
# made everything meanwhile). WHAT names what is built, for the message when Go is missing.
take_build_lock() {
  command -v go >/dev/null || { log "go is not on PATH; $1 built from Go modules"; exit 1; }
  mkdir -p "$bin"
  exec 9>"$cache/build.lock"
  if ! flock -n 9; then
    log "another build is running; waiting for it"
    flock 9
  fi
  exit_if_built
}

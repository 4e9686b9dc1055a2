#!/bin/sh
# Placeholder sources for the Docker image's dependency layer: src/main.rs, src/lib.rs, and one
# file for every [[bin]], [[bench]], [[test]] and [[example]] target that Cargo.toml declares
# (cargo refuses a manifest whose declared targets are missing, even to build the library), and
# an empty src/lib.rs for every workspace member crates/*/Cargo.toml present (cargo loads every
# member; the production build compiles none of them).
# Run in the directory that holds Cargo.toml. Used by the Dockerfile and by scripts/lint-deploy.
set -eu
mkdir -p src
[ -f src/main.rs ] || echo 'fn main() {}' > src/main.rs
[ -f src/lib.rs ] || : > src/lib.rs
for member in crates/*/Cargo.toml; do
  [ -f "$member" ] || continue
  dir="$(dirname "$member")"
  mkdir -p "$dir/src"
  [ -f "$dir/src/lib.rs" ] || : > "$dir/src/lib.rs"
done
awk '
  function emit() { if (kind != "") { print (path != "" ? path : dir "/" name ".rs") } kind = "" }
  /^\[\[(bin|bench|test|example)\]\]/ {
    emit(); kind = $0; gsub(/[][]/, "", kind); name = ""; path = ""
    dir = (kind == "bin") ? "src/bin" : (kind == "bench") ? "benches" : (kind == "test") ? "tests" : "examples"
    next
  }
  /^\[/ { emit(); next }
  kind != "" && /^name *=/ { name = $0; sub(/^name *= *"/, "", name); sub(/".*/, "", name) }
  kind != "" && /^path *=/ { path = $0; sub(/^path *= *"/, "", path); sub(/".*/, "", path) }
  END { emit() }
' Cargo.toml | while read -r target; do
  [ -f "$target" ] && continue
  mkdir -p "$(dirname "$target")"
  echo 'fn main() {}' > "$target"
done

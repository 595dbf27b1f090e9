#!/usr/bin/env bash
# A crate outside the workspace that depends on `mlx-array` (the `mlx` library) by path, as a user's crate would: its
# binary and its test binary must start without cargo and without LD_LIBRARY_PATH.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
crate="$(mktemp -d)"
trap 'rm -rf "$crate"' EXIT
mkdir -p "$crate/src" "$crate/tests"
cat > "$crate/Cargo.toml" <<TOML
[package]
name = "uses-mlx"
version = "0.1.0"
edition = "2024"
publish = false

[dependencies]
mlx-array = { path = "$repo/crates/mlx" }

[workspace]
TOML
cat > "$crate/src/main.rs" <<'RUST'
fn main() {
    let a = mlx::array![1.0f32, 2.0, 3.0];
    println!("sum {}", a.sum(None, false).unwrap().item::<f32>().unwrap());
}
RUST
cat > "$crate/tests/sum.rs" <<'RUST'
#[test]
fn sums() {
    let a = mlx::array![1.0f32, 2.0];
    assert_eq!(a.sum(None, false).unwrap().item::<f32>().unwrap(), 3.0);
}
RUST
export CARGO_TARGET_DIR="$crate/target"
cargo build --quiet --manifest-path "$crate/Cargo.toml" --bins --tests
out="$(env -u LD_LIBRARY_PATH -u DYLD_LIBRARY_PATH "$CARGO_TARGET_DIR/debug/uses-mlx")"
[ "$out" = "sum 6" ] || { echo "unexpected output: $out" >&2; exit 1; }
test_bin="$(find "$CARGO_TARGET_DIR/debug/deps" -maxdepth 1 -type f -name 'sum-*' -perm -u+x | head -n 1)"
env -u LD_LIBRARY_PATH -u DYLD_LIBRARY_PATH "$test_bin" --quiet
echo "a dependent crate's binaries start on their own: ok"

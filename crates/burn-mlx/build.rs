//! Gives this crate's tests, examples and benches an rpath to libmlx (see the `mlx` crate's
//! build script), so they also start outside `cargo run` / `cargo test`.
fn main() {
    if let Ok(dir) = std::env::var("DEP_MLX_RUST_RPATH") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
    }
}

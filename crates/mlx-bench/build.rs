//! Gives the benchmark binary an rpath to libmlx (see the `mlx` crate's build script), so it
//! starts outside `cargo run`, e.g. when carried to another machine beside its Python scripts.
fn main() {
    if let Ok(dir) = std::env::var("DEP_MLX_RUST_RPATH") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
    }
}

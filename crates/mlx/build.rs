//! Gives this crate's tests, examples and benches an rpath to libmlx (cargo applies link
//! arguments only to the package that prints them), and passes the folder on to dependents as
//! DEP_MLX_RUST_RPATH, so they can do the same in their own build scripts.
fn main() {
    if let Ok(dir) = std::env::var("DEP_MLX_RPATH") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
        println!("cargo:rpath={dir}");
    }
}

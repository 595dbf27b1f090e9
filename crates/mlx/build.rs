//! Gives this crate's tests, examples and benches an rpath to libmlx (cargo applies link
//! arguments only to the package that prints them).
fn main() {
    if let Ok(dir) = std::env::var("DEP_MLX_RPATH") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
    }
}

//! Prints which MLX this build uses: where it came from, its version, the devices it can run
//! on and the BLAS behind the CPU path. `cargo xtask mlx` runs this.
//!
//! With `--prefix` it prints only the MLX install prefix (its headers are under
//! `<prefix>/include/mlx`), for scripts such as `cargo xtask coverage`.

use mlx::{Device, DeviceType, build_info};

fn main() -> mlx::Result<()> {
    if std::env::args().skip(1).any(|a| a == "--prefix") {
        println!("{}", build_info::MLX_PREFIX);
        return Ok(());
    }
    println!("MLX version     {}", mlx::version());
    println!("found through   {}", build_info::MLX_SOURCE);
    println!("install prefix  {}", build_info::MLX_PREFIX);
    println!("CPU BLAS        {}", build_info::blas());
    let gpu = match mlx::gpu_backend() {
        Some(b) => format!("{b:?} ({} device(s))", Device::count(DeviceType::Gpu)),
        None => "none".to_string(),
    };
    println!("GPU backend     {gpu}");
    println!("default device  {}", Device::default());
    for device in [Device::cpu(), Device::gpu()] {
        if !device.is_available() {
            continue;
        }
        let info = device.info().unwrap_or_default();
        let name = info
            .iter()
            .find(|(k, _)| k == "device_name")
            .map(|(_, v)| v.as_str());
        println!(
            "device {device:<8} available{}",
            name.map(|n| format!(": {n}")).unwrap_or_default()
        );
    }
    // A small computation, to show the library really runs.
    let a = mlx::array![[1.0, 2.0], [3.0, 4.0]];
    println!(
        "check           [[1,2],[3,4]] @ itself = {:?}",
        a.matmul(&a)?.to_vec::<f32>()?
    );
    Ok(())
}

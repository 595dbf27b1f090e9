//! Devices and streams: defaults, switching, scopes.

use mlx::{Array, Device, DeviceType, Stream, ops};

#[test]
fn cpu_is_always_available() {
    assert!(Device::cpu().is_available());
    assert!(Device::count(DeviceType::Cpu) >= 1);
    let info = Device::cpu().info().unwrap();
    assert!(!info.is_empty());
    // The GPU exists exactly when MLX has a GPU backend.
    assert_eq!(Device::gpu().is_available(), mlx::gpu_backend().is_some());
    assert_eq!(mlx::version(), mlx::build_info::MLX_VERSION);
}

#[test]
fn scoped_streams_and_devices() {
    let s1 = Stream::new(Device::cpu()).unwrap();
    let s2 = Stream::new(Device::cpu()).unwrap();
    assert_ne!(s1, s2);
    assert_eq!(s1.device(), Device::cpu());
    let a = Array::arange::<f32>(8).unwrap();
    let on_s1 = mlx::with_stream(s1, || {
        assert_eq!(Stream::current().unwrap(), s1);
        let inner = mlx::with_stream(s2, || {
            assert_eq!(Stream::current().unwrap(), s2);
            &a * 2.0
        });
        assert_eq!(Stream::current().unwrap(), s1);
        ops::add(&inner, &a).unwrap()
    });
    assert_ne!(Stream::current().unwrap(), s1);
    assert_eq!(
        on_s1.to_vec::<f32>().unwrap(),
        (0..8).map(|x| 3.0 * x as f32).collect::<Vec<_>>()
    );
    s1.synchronize().unwrap();
    s2.synchronize().unwrap();
    mlx::synchronize().unwrap();

    let doubled = mlx::with_device(Device::cpu(), || &a * 2.0).unwrap();
    assert_eq!(doubled.to_vec::<f32>().unwrap()[7], 14.0);
    // A scope is left even when the closure panics.
    let _ = std::panic::catch_unwind(|| mlx::with_stream(s2, || panic!("boom")));
    assert_ne!(Stream::current().unwrap(), s2);
}

#[test]
fn default_device_switching() {
    let before = Device::default();
    Device::cpu().set_default().unwrap();
    assert_eq!(Device::default(), Device::cpu());
    let x = (Array::ones::<f32>(&[3]).unwrap() + 1.0)
        .to_vec::<f32>()
        .unwrap();
    assert_eq!(x, vec![2.0; 3]);
    if !Device::gpu().is_available() {
        let e = Device::gpu().set_default().unwrap_err();
        assert!(e.to_string().contains("not available"), "{e}");
        // An op asked to run on a missing GPU fails with MLX's message rather than crashing.
        let r = Stream::default_for(Device::gpu()).and_then(|s| {
            mlx::with_stream(s, || {
                ops::add(&Array::scalar(1.0f32), &Array::scalar(2.0f32))
            })?
            .eval()
        });
        assert!(r.is_err());
    } else {
        Device::gpu().set_default().unwrap();
        let y = (Array::ones::<f32>(&[3]).unwrap() * 3.0)
            .to_vec::<f32>()
            .unwrap();
        assert_eq!(y, vec![3.0; 3]);
    }
    before.set_default().unwrap();
}

#[cfg(target_os = "linux")]
#[test]
fn openblas_is_loaded_when_the_build_linked_it() {
    // The build links the system OpenBLAS ahead of libmlx when it finds one; the loader must
    // then have it mapped, or MLX's CPU matmuls fall back to the slow reference BLAS.
    if !mlx::build_info::blas().starts_with("OpenBLAS") {
        return;
    }
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    assert!(
        maps.contains("libopenblas"),
        "built with OpenBLAS but it is not loaded"
    );
}

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
#[test]
fn openblas_uses_the_vector_kernels_this_cpu_has() {
    // A distribution's OpenBLAS falls back to its generic SSE3 ("Prescott") kernels for a CPU
    // model it does not know; the C layer then chooses AVX-512 or AVX2 ones, unless the user
    // chose a core type themselves.
    let blas = mlx::build_info::blas();
    let user_choice =
        std::env::var("OPENBLAS_CORETYPE").is_ok_and(|c| c.eq_ignore_ascii_case("prescott"));
    if !blas.starts_with("OpenBLAS") || !blas.contains("DYNAMIC_ARCH") || user_choice {
        return;
    }
    let vector =
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma");
    if vector {
        assert!(
            !blas.to_ascii_lowercase().contains("prescott"),
            "OpenBLAS runs its generic kernels on a CPU with AVX2: {blas}"
        );
    }
}

/// The CPU flushes subnormal floats to zero by default (results and operands), and keeps them
/// once told to, on the default stream and on a stream made before the change. The setting is
/// process-wide, so the whole sequence is one test.
#[test]
fn cpu_subnormals_flush_to_zero_unless_kept() {
    let on_cpu = |stream: Option<Stream>| -> (f32, f32) {
        let run = || {
            // A subnormal result (2^-127) and a subnormal operand scaled back to normal range.
            let smallest_normal = Array::from_slice(&[f32::MIN_POSITIVE], &[1]).unwrap();
            let subnormal = Array::from_slice(&[1e-40f32], &[1]).unwrap();
            let halved = (&smallest_normal * 0.5).item::<f32>().unwrap();
            let scaled = (&subnormal * 1e10).item::<f32>().unwrap();
            (halved, scaled)
        };
        match stream {
            Some(s) => mlx::with_stream(s, run),
            None => mlx::with_device(Device::cpu(), run).unwrap(),
        }
    };
    let kept_by_environment = std::env::var("MLXC_KEEP_SUBNORMALS").is_ok_and(|v| v == "1");
    assert_eq!(mlx::cpu_flush_subnormals(), !kept_by_environment);
    let earlier_stream = Stream::new(Device::cpu()).unwrap();

    let previous = mlx::set_cpu_flush_subnormals(true).unwrap();
    assert_eq!(previous, !kept_by_environment);
    assert!(mlx::cpu_flush_subnormals());
    for stream in [None, Some(earlier_stream)] {
        assert_eq!(on_cpu(stream), (0.0, 0.0), "flushed on {stream:?}");
    }

    assert!(mlx::set_cpu_flush_subnormals(false).unwrap());
    assert!(!mlx::cpu_flush_subnormals());
    for stream in [
        None,
        Some(earlier_stream),
        Some(Stream::new(Device::cpu()).unwrap()),
    ] {
        let (halved, scaled) = on_cpu(stream);
        assert_eq!(halved, f32::MIN_POSITIVE / 2.0, "kept on {stream:?}");
        // 1e-40 keeps only a few significant bits as a subnormal.
        assert!(
            (scaled / 1e-30 - 1.0).abs() < 1e-3,
            "kept on {stream:?}: {scaled}"
        );
    }
    mlx::set_cpu_flush_subnormals(previous).unwrap();
}

#[test]
fn views_of_a_larger_result_read_only_their_elements() {
    // A slice is a view of its parent's buffer. Where MLX keeps results in CUDA device memory,
    // such a view is read through a compact copy (reading it in place would move the whole
    // parent to unified memory); elsewhere in place. Either way the view's own elements come
    // back, whatever its offset, shape or strides.
    let devices = [Device::cpu(), Device::gpu()];
    for device in devices.into_iter().filter(|d| d.is_available()) {
        mlx::with_device(device, || {
            let n = 1 << 20;
            let parent = (Array::arange::<f32>(n).unwrap() * 0.5 + 1.0)
                .reshape(&[1024, 1024])
                .unwrap();
            let whole = parent.to_vec::<f32>().unwrap();
            let at = |r: usize, c: usize| whole[r * 1024 + c];

            let one = ops::slice(&parent, &[517, 3], &[518, 4], &[]).unwrap();
            assert_eq!(one.item::<f32>().unwrap(), at(517, 3), "{device:?}");

            let rows = ops::slice(&parent, &[1000, 0], &[1002, 1024], &[]).unwrap();
            let expected: Vec<f32> = (1000..1002)
                .flat_map(|r| (0..1024).map(move |c| (r, c)))
                .map(|(r, c)| at(r, c))
                .collect();
            assert_eq!(rows.to_vec::<f32>().unwrap(), expected, "{device:?}");
            let bytes: Vec<u8> = expected.iter().flat_map(|v| v.to_ne_bytes()).collect();
            assert_eq!(rows.to_bytes().unwrap(), bytes, "{device:?}");

            let strided = ops::slice(&parent, &[10, 7], &[16, 20], &[2, 5]).unwrap();
            let expected: Vec<f32> = [10, 12, 14]
                .iter()
                .flat_map(|&r| [7, 12, 17].map(|c| at(r, c)))
                .collect();
            assert_eq!(strided.to_vec::<f32>().unwrap(), expected, "{device:?}");
        })
        .unwrap();
    }
}

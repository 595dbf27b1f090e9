//! Bad input gives `Err` with MLX's message, never an abort, and failing calls leak nothing.

use mlx::{Array, Dtype, Error, ops};

fn mlx_message(e: Error) -> String {
    match e {
        Error::Mlx(m) => m,
        other => panic!("expected an error from MLX, got {other:?}"),
    }
}

#[test]
fn mismatched_shapes() {
    let a = Array::ones::<f32>(&[2, 3]).unwrap();
    let b = Array::ones::<f32>(&[4]).unwrap();
    let m = mlx_message(ops::add(&a, &b).unwrap_err());
    assert!(
        m.contains("Shapes (2,3) and (4) cannot be broadcast"),
        "{m}"
    );
    let m = mlx_message(ops::matmul(&a, &a).unwrap_err());
    assert!(m.contains("[matmul]"), "{m}");
}

#[test]
fn invalid_reshape_and_axes() {
    let a = Array::arange::<f32>(6).unwrap();
    let m = mlx_message(a.reshape(&[4, 2]).unwrap_err());
    assert!(
        m.contains("[reshape] Cannot reshape array of size 6 into shape (4,2)"),
        "{m}"
    );
    let m = mlx_message(a.sum(&[3], false).unwrap_err());
    assert!(
        m.contains("Invalid axis 3 for array with 1 dimensions"),
        "{m}"
    );
    assert!(a.transpose(&[1, 0]).is_err());
}

#[test]
fn bad_casts_and_reads() {
    let a = mlx::array![1.0, 2.0];
    // Reading with the wrong element type is refused on the Rust side.
    let e = a.to_vec::<i32>().unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)));
    assert!(
        e.to_string().contains("float32 but int32 was requested"),
        "{e}"
    );
    assert!(a.item::<f32>().is_err(), "two elements have no single item");
    assert!(a.as_slice::<f64>().is_err());
    // MLX refuses negative sizes.
    assert!(ops::zeros(&[-2], Dtype::Float32).is_err());
    assert!(ops::full(&[2], &Array::ones::<f32>(&[3]).unwrap(), Dtype::Float32).is_err());
}

#[test]
fn panicking_operators_carry_the_message() {
    let a = Array::ones::<f32>(&[2]).unwrap();
    let b = Array::ones::<f32>(&[3]).unwrap();
    let payload = std::panic::catch_unwind(|| &a + &b).unwrap_err();
    let text = payload.downcast_ref::<String>().unwrap();
    assert!(
        text.contains("array + failed") && text.contains("cannot be broadcast"),
        "{text}"
    );
}

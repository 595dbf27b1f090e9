//! Compiled evaluation of repeated lazy graphs (`mlx::region`): values equal ordinary
//! evaluation, new inputs flow in, held intermediates are computed, and the cache counts what
//! it did. The counters are process-wide, so everything runs in one test, in order.

mod common;

use common::assert_arrays_close;
use mlx::transforms::{self, CompileMode};
use mlx::{Array, Dtype, Result, Status, random, region};

/// One "training step" on `w`: a few elementwise ops, a matmul, a reduction and a
/// multi-output op, with a per-step scalar (like a learning rate) and per-step random noise.
fn step(w: &Array, x: &Array, lr: f32, key: &Array) -> Result<(Array, Array, Array)> {
    let h = x.matmul(w)?.tanh()?;
    let noise = random::normal(w.shape(), Dtype::Float32, Some(key))?;
    let (q, _r) = mlx::ops::divmod(&(&h * 3.0), &Array::scalar(2.0))?;
    let loss = (h.square()? + q).mean(None, false)?;
    let grad = x.transpose(None)?.matmul(&h)? * 0.01 + noise * 0.001;
    let next = w - &(grad * Array::scalar(lr));
    Ok((next, loss, h))
}

fn inputs() -> Result<(Array, Array)> {
    let k = random::key(7)?;
    let (k1, k2) = random::split(&k)?;
    let w = random::normal(&[16, 16], Dtype::Float32, Some(&k1))?;
    let x = random::normal(&[8, 16], Dtype::Float32, Some(&k2))?;
    mlx::eval([&w, &x])?;
    Ok((w, x))
}

#[test]
fn regions() -> Result<()> {
    repeated_steps_replay_compiled_and_match_ordinary_evaluation()?;
    replays_draw_fresh_random_values_from_their_key_inputs()?;
    a_region_compiled_on_one_thread_replays_on_others()?;
    equal_scalars_are_one_input_and_other_values_flow_in()?;
    kept_scalar_broadcasts_stay_scalars()?;
    compile_modes_apply_to_regions()?;
    held_outputs_outlive_their_internal_siblings()?;
    evaluation_keeps_no_array_alive()
}

/// After a compiled replay the traced graph is released, its internal nodes cut loose first; an
/// intermediate held from outside keeps its value and its place in later graphs, also where
/// the other output of its multi-output op was internal.
fn held_outputs_outlive_their_internal_siblings() -> Result<()> {
    region::set_options(64, 1 << 18, 2)?;
    let x = random::normal(&[64], Dtype::Float32, None)?;
    mlx::eval([&x])?;
    let before = region::stats()?;
    for i in 0..4 {
        let shifted = &x * 3.0 + (i as f64 + 0.25);
        // `quotient` is only read inside the region, `remainder` is held from outside.
        let (quotient, remainder) = mlx::ops::divmod(&shifted, &Array::scalar(2.0))?;
        let y = (&quotient * 2.0).sum(None, false)?;
        drop(quotient);
        region::eval([&y])?;
        assert_eq!(remainder.status(), Status::Available, "step {i}");
        // Built on the held output after the replay, evaluated as usual.
        let later = (&remainder + 1.0).sum(None, false)?;
        let (want_q, want_r) = mlx::ops::divmod(&shifted, &Array::scalar(2.0))?;
        let want_y = (&want_q * 2.0).sum(None, false)?;
        let want_later = (&want_r + 1.0).sum(None, false)?;
        mlx::eval([&later, &want_y, &want_later])?;
        assert_arrays_close(&y, &want_y, 1e-5, 1e-5);
        assert_arrays_close(&remainder, &want_r, 1e-6, 1e-6);
        assert_arrays_close(&later, &want_later, 1e-5, 1e-5);
    }
    // The first sighting ran as usual; the rest replayed.
    assert_eq!(region::stats()?.replays - before.replays, 3);
    Ok(())
}

/// The trace's buffers are reused from one evaluation to the next, but hold no array after it:
/// once the program drops its arrays, their memory is free, whether the region ran compiled,
/// uncompiled, or failed.
fn evaluation_keeps_no_array_alive() -> Result<()> {
    region::set_options(64, 1 << 18, 2)?;
    let x = random::normal(&[1 << 18], Dtype::Float32, None)?;
    mlx::eval([&x])?;
    let baseline = mlx::memory::active_memory();
    for _ in 0..3 {
        // An intermediate held from outside (`h`) and one that is not (`h * 2`).
        let h = x.exp()?;
        let y = ((&h * 2.0) + 1.0).sum(None, false)?;
        region::eval([&y])?;
        assert!(
            h.status() == Status::Available,
            "a held intermediate is computed"
        );
        let expected = h.sum(None, false)?.item::<f32>()? * 2.0 + (1 << 18) as f32;
        let got = y.item::<f32>()?;
        assert!(
            (got - expected).abs() <= 1e-4 * expected.abs(),
            "{got} vs {expected}"
        );
        drop((h, y));
        assert_eq!(mlx::memory::active_memory(), baseline);
    }
    // A region that fails to evaluate (a singular matrix has no inverse) releases its trace too.
    let singular = mlx::ops::zeros(&[512, 512], Dtype::Float32)?;
    let bad = mlx::linalg::inv(&(&singular * &x.reshape(&[512, 512])?))?;
    let err = region::eval([&bad]).expect_err("a singular matrix has no inverse");
    assert!(err.to_string().contains("Inverse"), "{err}");
    drop((bad, singular));
    assert_eq!(mlx::memory::active_memory(), baseline);
    Ok(())
}

/// Host scalars of equal value are one input of a region (a chain of `+ 1.0` reads one array):
/// which scalars are equal is part of the structure, their values are not.
fn equal_scalars_are_one_input_and_other_values_flow_in() -> Result<()> {
    region::set_options(64, 1 << 18, 2)?;
    let x = Array::from_slice(&[0.5f32, -1.0, 2.0], &[3])?;
    let before = region::stats()?;
    // (a, b) per step; (1, 2) and (2, 1) share a structure, (1, 1) is another.
    let steps = [
        (1.0, 1.0),
        (1.0, 1.0),
        (1.0, 1.0),
        (1.0, 2.0),
        (1.0, 2.0),
        (2.0, 1.0),
        (1.0, 1.0),
    ];
    for (a, b) in steps {
        let y = (&x * Array::scalar(a) + Array::scalar(b)) * Array::scalar(b);
        region::eval([&y])?;
        let want: Vec<f32> = [0.5f32, -1.0, 2.0]
            .iter()
            .map(|v| (v * a + b) * b)
            .collect();
        assert_eq!(y.to_vec::<f32>()?, want, "a = {a}, b = {b}");
    }
    let after = region::stats()?;
    // Replayed: the second and third (1, 1), the second (1, 2), (2, 1), the last (1, 1).
    assert_eq!(after.replays - before.replays, 5);
    Ok(())
}

/// A scalar broadcast to a shape and kept between steps (as burn-mlx keeps `x + 1.0`'s operand)
/// is read as its scalar, computed or not: the region replays whether the kept broadcast is
/// computed (a view of one element) or pending, and does not hand a pending one back (it would
/// come back as a full-size array); one evaluated on its own is computed.
fn kept_scalar_broadcasts_stay_scalars() -> Result<()> {
    region::set_options(64, 1 << 18, 2)?;
    let values = [0.5f32, -1.0, 2.0, 4.0];
    let x = Array::from_slice(&values, &[4])?;
    let want =
        |b: f32, c: f32| -> Vec<f32> { values.iter().map(|v| ((v + b) * c + b) * b).collect() };
    let before = region::stats()?;
    // Step 1 runs as usual and computes `b` and `c` (views); steps 2 and 3 read them computed;
    // step 4 has a new `b`, pending, and a new value in it.
    let mut b = mlx::ops::broadcast_to(&Array::scalar(1.5f32), &[4])?;
    let c = mlx::ops::broadcast_to(&Array::scalar(-2.0f32), &[4])?;
    for step in 0..4 {
        let b_value = if step == 3 { 0.25 } else { 1.5 };
        if step == 3 {
            b = mlx::ops::broadcast_to(&Array::scalar(b_value), &[4])?;
        }
        let y = ((&x + &b) * &c + &b) * &b;
        region::eval([&y])?;
        assert_eq!(y.to_vec::<f32>()?, want(b_value, -2.0), "step {step}");
    }
    assert_eq!(region::stats()?.replays - before.replays, 3);
    assert_eq!(b.status(), Status::Unscheduled);
    assert_eq!(b.to_vec::<f32>()?, vec![0.25; 4]);
    // Evaluated beside their reader (the second time compiled): a pending one is computed, a
    // computed one stays as it is.
    let before = region::stats()?;
    for step in 0..2 {
        let b = mlx::ops::broadcast_to(&Array::scalar(0.75f32), &[4])?;
        let y = ((&x + &b) * &c + &b) * &b;
        region::eval([&y, &b, &c])?;
        assert_eq!(y.to_vec::<f32>()?, want(0.75, -2.0), "step {step}");
        assert_eq!(b.status(), Status::Available);
        assert_eq!(b.to_vec::<f32>()?, vec![0.75; 4]);
        assert_eq!(c.to_vec::<f32>()?, vec![-2.0; 4]);
    }
    assert_eq!(region::stats()?.replays - before.replays, 1);
    // Evaluated itself, a pending broadcast is computed.
    let alone = mlx::ops::broadcast_to(&Array::scalar(3i32), &[2, 3])?;
    region::eval([&alone])?;
    assert_eq!(alone.status(), Status::Available);
    assert_eq!(alone.to_vec::<i32>()?, vec![3; 6]);
    Ok(())
}

fn compile_modes_apply_to_regions() -> Result<()> {
    // Without fusion (and so without building kernels), and at the first sighting.
    transforms::set_compile_mode(CompileMode::NoFuse)?;
    region::set_options(64, 1 << 18, 1)?;
    let x = Array::from_slice(&[0.25f32, 0.5, 0.75], &[3])?;
    let before = region::stats()?;
    for k in 0..3 {
        let y = (x.exp()? * 3.0 + k as f64).log()?;
        region::eval([&y])?;
        let want = (x.exp()? * 3.0 + k as f64).log()?;
        assert_arrays_close(&y, &want, 1e-6, 1e-6);
    }
    assert_eq!(region::stats()?.replays - before.replays, 3);
    region::set_options(64, 1 << 18, 2)?;
    transforms::set_compile_mode(CompileMode::Enabled)
}

fn repeated_steps_replay_compiled_and_match_ordinary_evaluation() -> Result<()> {
    region::set_options(64, 1 << 18, 2)?;
    let (w0, x) = inputs()?;
    let before = region::stats()?;

    // Reference: ordinary evaluation.
    let mut w = w0.clone();
    let mut want = Vec::new();
    for i in 0..5 {
        let (next, loss, _) = step(&w, &x, 0.1 * (i + 1) as f32, &random::key(100 + i)?)?;
        mlx::eval([&next, &loss])?;
        want.push((next.clone(), loss));
        w = next;
    }

    let mut w = w0.clone();
    for i in 0..5 {
        let (next, loss, h) = step(&w, &x, 0.1 * (i + 1) as f32, &random::key(100 + i)?)?;
        region::eval([&next, &loss])?;
        // `h` is held here, so it was computed with the region.
        assert_eq!(h.status(), Status::Available, "step {i}: held intermediate");
        assert_eq!(next.status(), Status::Available);
        assert_arrays_close(&next, &want[i as usize].0, 1e-5, 1e-5);
        assert_arrays_close(&loss, &want[i as usize].1, 1e-5, 1e-5);
        w = next;
    }

    let after = region::stats()?;
    assert_eq!(after.regions - before.regions, 5);
    // The first sighting runs as usual, the second compiles, all later ones replay.
    assert_eq!(after.eager - before.eager, 1);
    assert_eq!(after.replays - before.replays, 4);
    assert_eq!(after.compiles - before.compiles, 1);
    assert!(after.compile_seconds > before.compile_seconds);

    // Asynchronous evaluation replays too; reading waits for it. (`_h` keeps the region's
    // outputs those of the loop above: an intermediate nobody holds is not an output.)
    let (next, loss, _h) = step(&w, &x, 0.6, &random::key(105)?)?;
    region::async_eval([&next, &loss])?;
    let (want_next, want_loss, _) = step(&w, &x, 0.6, &random::key(105)?)?;
    assert_arrays_close(&next, &want_next, 1e-5, 1e-5);
    assert_arrays_close(&loss, &want_loss, 1e-5, 1e-5);
    assert_eq!(region::stats()?.replays - after.replays, 1);

    // A different shape is a different region.
    let (w1, x1) = (w0.reshape(&[16, 16])?, x.reshape(&[8, 16])?);
    let x2 = mlx::ops::concatenate(&[x1.clone(), x1], Some(0))?;
    let (next, _, _) = step(&w1, &x2, 0.1, &random::key(1)?)?;
    region::eval([&next])?;
    let s = region::stats()?;
    assert_eq!(s.eager - after.eager, 1);

    // A region with a primitive MLX's compiler cannot compare (a custom vjp) runs as usual.
    let f = mlx::transforms::custom_vjp(
        |x: &[Array]| Ok(vec![x[0].exp()?]),
        |p: &[Array], c: &[Array], _o: &[Array]| Ok(vec![&c[0] * &p[0]]),
    )?;
    for _ in 0..3 {
        let y = f.call(&[&x * 2.0])?.remove(0).sum(None, false)?;
        region::eval([&y])?;
        let want = (&x * 2.0).exp()?.sum(None, false)?;
        assert_arrays_close(&y, &want, 1e-5, 1e-5);
    }
    let t = region::stats()?;
    assert_eq!(t.uncompilable - s.uncompilable, 3);
    assert_eq!(t.replays, s.replays);

    // A full cache drops the least recently used structure.
    region::set_options(1, 1 << 18, 2)?;
    assert_eq!(region::stats()?.cached, 1);
    assert!(region::stats()?.evictions > t.evictions);
    region::clear_cache()?;
    assert_eq!(region::stats()?.cached, 0);
    region::set_options(64, 1 << 18, 2)?;

    // So does one over its node budget (keeping the newest structure).
    for y in [x.exp()?.sum(None, false)?, x.square()?.sum(None, false)?] {
        region::eval([&y])?;
    }
    assert!(region::stats()?.cached >= 2);
    region::set_options(64, 1, 2)?;
    assert_eq!(region::stats()?.cached, 1);
    region::set_options(64, 1 << 18, 2)?;

    // Options are checked.
    assert!(region::set_options(0, 1 << 18, 2).is_err());
    assert!(region::set_options(4, 1 << 18, 0).is_err());
    assert!(region::set_options(4, 0, 2).is_err());
    Ok(())
}

fn replays_draw_fresh_random_values_from_their_key_inputs() -> Result<()> {
    let x = Array::ones::<f32>(&[64])?;
    let mut seen = Vec::new();
    for i in 0..4 {
        let mask = random::bernoulli(&Array::scalar(0.5), Some(&[64]), Some(&random::key(i)?))?;
        let y = mlx::ops::where_(&mask, &x, &(&x * 0.0))?;
        region::eval([&y])?;
        let want = random::bernoulli(&Array::scalar(0.5), Some(&[64]), Some(&random::key(i)?))?
            .astype(Dtype::Float32)?;
        assert_arrays_close(&y, &want, 0.0, 0.0);
        seen.push(y.to_vec::<f32>()?);
    }
    assert_ne!(seen[2], seen[3], "a replay repeated the previous draw");
    Ok(())
}

fn a_region_compiled_on_one_thread_replays_on_others() -> Result<()> {
    let x = Array::from_slice(&[0.5f32, 1.0, 1.5, 2.0], &[4])?;
    let chain = |x: &Array, k: f64| -> Result<Array> {
        let mut y = x.clone();
        for _ in 0..20 {
            y = (y.sin()? + k) * 0.5;
        }
        Ok(y)
    };
    let want = |k: f64| -> Result<Array> {
        let y = chain(&x, k)?;
        y.eval()?;
        Ok(y)
    };
    for k in 0..3 {
        let y = chain(&x, k as f64)?;
        region::eval([&y])?;
        assert_arrays_close(&y, &want(k as f64)?, 1e-6, 1e-6);
    }
    let handles: Vec<_> = (0..2)
        .map(|t| {
            let x = x.clone();
            std::thread::spawn(move || -> Result<Vec<f32>> {
                let mut y = x.clone();
                for _ in 0..20 {
                    y = (y.sin()? + t as f64) * 0.5;
                }
                region::eval([&y])?;
                y.to_vec::<f32>()
            })
        })
        .collect();
    for (t, h) in handles.into_iter().enumerate() {
        let got = h.join().unwrap()?;
        assert_arrays_close(
            &Array::from_slice(&got, &[4])?,
            &want(t as f64)?,
            1e-6,
            1e-6,
        );
    }
    Ok(())
}

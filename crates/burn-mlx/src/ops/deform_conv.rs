//! The deformable 2-D convolution on MLX, forward and backward.
//!
//! The forward pass samples the input bilinearly at each kernel tap's offset position (the four
//! neighbours of every tap in one gather, weighted, times the mask) and multiplies the samples
//! with the weight per weight group. Its backward pass is MLX's VJP of that composition: there the automatic
//! derivative is exactly the hand-written one (scatter-adds into the input, the bilinear
//! weights' derivatives for the offsets, the sampled values for the mask).

use burn_backend::ops::DeformConvOptions;
use mlx::{Array, Dtype, Error, Result, ops};

use super::base::matmul;
use super::conv::{bias_grad, i32s, invalid};
use crate::eval::{op, op_multi};
use crate::tensor::MlxTensor;

/// The deformable convolution without bias, `[N, O, H_out, W_out]`, as MLX ops (differentiable
/// with respect to `x`, `offset`, `weight` and `mask`).
///
/// Every kernel tap of every output position samples the input bilinearly at its regular
/// position plus its offset (zero outside the image), one offset per offset group; the samples,
/// times the mask when there is one, form the im2col matrix, multiplied with the weight per
/// weight group. The four bilinear neighbours of all taps are gathered in one `take_along_axis`.
fn deform_forward(
    x: &Array,
    offset: &Array,
    weight: &Array,
    mask: Option<&Array>,
    options: &DeformConvOptions<2>,
) -> Result<Array> {
    let dims = |a: &Array, what: &str| -> Result<[i32; 4]> {
        a.shape()
            .try_into()
            .map_err(|_| Error::InvalidArgument(format!("deform_conv2d: {what} must have rank 4")))
    };
    let [b, c, h, w] = dims(x, "x")?;
    let [oc, cgw, kh, kw] = dims(weight, "weight")?;
    let [_, _, ho, wo] = dims(offset, "offset")?;
    let [s0, s1] = <[i32; 2]>::try_from(i32s(&options.stride)).expect("2");
    let [p0, p1] = <[i32; 2]>::try_from(i32s(&options.padding)).expect("2");
    let [d0, d1] = <[i32; 2]>::try_from(i32s(&options.dilation)).expect("2");
    let g = i32s(&[options.offset_groups])[0];
    let gw = i32s(&[options.weight_groups])[0];
    let (kk, p) = (kh * kw, ho * wo);
    if c % g != 0 || cgw * gw != c || oc % gw != 0 {
        return invalid(format!(
            "deform_conv2d: {c} input channels do not fit {g} offset groups, or weight {oc}x{cgw} with {gw} weight groups"
        ));
    }
    let cg = c / g;
    // Positions in float32 (float64 for float64 inputs): half precision cannot hold them.
    let pd = if x.dtype() == Dtype::Float64 {
        Dtype::Float64
    } else {
        Dtype::Float32
    };
    let off = offset.astype(pd)?.reshape(&[b, g, kk, 2, p])?;
    let mut base_y = Vec::with_capacity((kk * p) as usize);
    let mut base_x = Vec::with_capacity((kk * p) as usize);
    for t in 0..kk {
        for q in 0..p {
            base_y.push(((q / wo) * s0 + (t / kw) * d0 - p0) as f32);
            base_x.push(((q % wo) * s1 + (t % kw) * d1 - p1) as f32);
        }
    }
    let y = ops::add(
        &ops::take_index(&off, 0, Some(3))?,
        &Array::from_slice(&base_y, &[kk, p])?.astype(pd)?,
    )?;
    let xx = ops::add(
        &ops::take_index(&off, 1, Some(3))?,
        &Array::from_slice(&base_x, &[kk, p])?.astype(pd)?,
    )?;
    let y0 = ops::stop_gradient(&ops::floor(&y)?)?;
    let x0 = ops::stop_gradient(&ops::floor(&xx)?)?;
    let one = ops::weak_scalar(1.0, pd)?;
    let ly = ops::subtract(&y, &y0)?;
    let lx = ops::subtract(&xx, &x0)?;
    let hy = ops::subtract(&one, &ly)?;
    let hx = ops::subtract(&one, &lx)?;
    let zero = ops::weak_scalar(0.0, pd)?;
    let (hmax, wmax) = (ops::weak_scalar(h - 1, pd)?, ops::weak_scalar(w - 1, pd)?);
    let width = ops::weak_scalar(w, pd)?;
    let (mut idx, mut wts) = (Vec::with_capacity(4), Vec::with_capacity(4));
    for (dy, wy) in [(0, &hy), (1, &ly)] {
        for (dx, wx) in [(0, &hx), (1, &lx)] {
            let yi = ops::add(&y0, &ops::weak_scalar(dy, pd)?)?;
            let xi = ops::add(&x0, &ops::weak_scalar(dx, pd)?)?;
            let inside = ops::logical_and(
                &ops::logical_and(
                    &ops::greater_equal(&yi, &zero)?,
                    &ops::less_equal(&yi, &hmax)?,
                )?,
                &ops::logical_and(
                    &ops::greater_equal(&xi, &zero)?,
                    &ops::less_equal(&xi, &wmax)?,
                )?,
            )?;
            let flat = ops::add(
                &ops::multiply(&ops::clip(&yi, Some(&zero), Some(&hmax))?, &width)?,
                &ops::clip(&xi, Some(&zero), Some(&wmax))?,
            )?;
            idx.push(flat.astype(Dtype::Int32)?);
            // MLX differentiates this (see `deform_conv2d_backward`): its own `where`, whose
            // backward pass MLX knows, not the bit form of `pick`.
            wts.push(ops::where_(&inside, &ops::multiply(wy, wx)?, &zero)?);
        }
    }
    // [b, g, 4, kk, p]
    let idx = ops::stack(&idx, 2)?.reshape(&[b, g, 4 * kk * p, 1])?;
    let mut wts = ops::stack(&wts, 2)?.astype(x.dtype())?;
    if let Some(m) = mask {
        wts = ops::multiply(&wts, &m.astype(x.dtype())?.reshape(&[b, g, 1, kk, p])?)?;
    }
    let wts = wts.reshape(&[b, g, 4, kk * p, 1])?;
    let source = x.reshape(&[b, g, cg, h * w])?.swapaxes(2, 3)?;
    let taps = ops::take_along_axis(&source, &idx, Some(2))?.reshape(&[b, g, 4, kk * p, cg])?;
    let samples = ops::sum(&ops::multiply(&taps, &wts)?, Some(&[2]), false)?;
    // im2col matrix per weight group: rows (batch, position), columns (channel, tap).
    let cols = samples
        .reshape(&[b, g, kk, p, cg])?
        .transpose(Some(&[0, 3, 1, 4, 2]))?
        .reshape(&[b * p, gw, cgw * kk])?
        .swapaxes(0, 1)?;
    let wm = weight.reshape(&[gw, oc / gw, cgw * kk])?.swapaxes(1, 2)?;
    let out = matmul(&cols, &wm)?;
    out.swapaxes(0, 1)?
        .reshape(&[b, ho, wo, oc])?
        .transpose(Some(&[0, 3, 1, 2]))
}

pub(crate) fn deform_conv2d(
    x: MlxTensor,
    offset: MlxTensor,
    weight: MlxTensor,
    mask: Option<MlxTensor>,
    bias: Option<MlxTensor>,
    options: &DeformConvOptions<2>,
) -> MlxTensor {
    let mut inputs = vec![&x, &offset, &weight];
    inputs.extend(mask.as_ref());
    inputs.extend(bias.as_ref());
    op(&inputs, "deform_conv2d", || {
        let y = deform_forward(
            &x.array,
            &offset.array,
            &weight.array,
            mask.as_ref().map(|m| &*m.array),
            options,
        )?;
        match &bias {
            Some(b) => ops::add(&y, &b.array.reshape(&[1, -1, 1, 1])?),
            None => Ok(y),
        }
    })
}

/// Gradients of [`deform_conv2d`]: `(x, offset, weight, mask, bias)`, the mask and bias ones
/// when those were given. MLX's VJP of [`deform_forward`]; the bias gradient is a sum.
pub(crate) type DeformGrads = (
    MlxTensor,
    MlxTensor,
    MlxTensor,
    Option<MlxTensor>,
    Option<MlxTensor>,
);

pub(crate) fn deform_conv2d_backward(
    x: MlxTensor,
    offset: MlxTensor,
    weight: MlxTensor,
    mask: Option<MlxTensor>,
    bias: Option<MlxTensor>,
    output_grad: MlxTensor,
    options: &DeformConvOptions<2>,
) -> DeformGrads {
    let mut inputs = vec![&x, &offset, &weight, &output_grad];
    inputs.extend(mask.as_ref());
    let has_mask = mask.is_some();
    let mut grads = op_multi(&inputs, "deform_conv2d_backward", || {
        // MLX's vjp copies each primal on the stream of the op that made it, or, for an
        // evaluated array, on the default device's: a GPU's, which refuses the float64 this op
        // then runs on the CPU stream. A copy made here carries this op's stream.
        let mut primals = vec![
            ops::copy(&x.array)?,
            ops::copy(&offset.array)?,
            ops::copy(&weight.array)?,
        ];
        if let Some(m) = &mask {
            primals.push(ops::copy(&m.array)?);
        }
        let (_, mut grads) = mlx::transforms::vjp(
            |a: &[Array]| {
                Ok(vec![deform_forward(
                    &a[0],
                    &a[1],
                    &a[2],
                    a.get(3),
                    options,
                )?])
            },
            &primals,
            std::slice::from_ref(&*output_grad.array),
        )?;
        if bias.is_some() {
            grads.push(bias_grad(&output_grad.array, false)?);
        }
        Ok(grads)
    })
    .into_iter();
    let mut next = || grads.next().expect("one gradient per input");
    let (gx, goffset, gweight) = (next(), next(), next());
    let gmask = has_mask.then(&mut next);
    let gbias = bias.is_some().then(&mut next);
    (gx, goffset, gweight, gmask, gbias)
}

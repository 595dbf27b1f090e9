//! Recurrent layers: Elman RNN, GRU and LSTM over `[..., T, features]` sequences.

use crate::Parameters;
use crate::array::Array;
use crate::error::Result;
use crate::nn::Module;
use crate::nn::linear::{check_positive, uniform_init};
use crate::ops::{self, addmm};
use crate::params::ModuleState;

/// `x Wᵀ + b` over every step at once (the input projection is not recurrent).
fn project(x: &Array, w: &Array, b: Option<&Array>) -> Result<Array> {
    match b {
        Some(b) => addmm(b, x, &w.t()?, 1.0, 1.0),
        None => x.matmul(&w.t()?),
    }
}

/// Step `t` of a projected sequence `[..., T, F]`.
fn step(x: &Array, t: i32) -> Result<Array> {
    ops::take_index(x, t, Some(-2))
}

fn scale_of(what: &str, input_size: i32, hidden_size: i32) -> Result<f64> {
    check_positive(
        what,
        &[("input_size", input_size), ("hidden_size", hidden_size)],
    )?;
    Ok(1.0 / f64::from(hidden_size).sqrt())
}

/// An Elman RNN, `h_t = σ(x_t W_xhᵀ + h_{t-1} W_hhᵀ + b)` with `σ = tanh` by default (MLX's
/// `nn.RNN`; every parameter starts `uniform(-k, k)`, `k = 1/√hidden_size`).
#[derive(Parameters, Clone, Debug)]
pub struct RNN {
    /// `[hidden_size, input_size]`.
    #[param(rename = "Wxh")]
    pub wxh: Array,
    /// `[hidden_size, hidden_size]`.
    #[param(rename = "Whh")]
    pub whh: Array,
    /// `[hidden_size]`, when the layer has a bias.
    pub bias: Option<Array>,
    #[param(skip)]
    nonlinearity: fn(&Array) -> Result<Array>,
    #[param(state)]
    state: ModuleState,
}

impl RNN {
    /// An RNN with a bias and `tanh`.
    pub fn new(input_size: i32, hidden_size: i32) -> Result<RNN> {
        RNN::with_options(input_size, hidden_size, true, ops::tanh)
    }

    /// An RNN with or without a bias, and the given nonlinearity.
    pub fn with_options(
        input_size: i32,
        hidden_size: i32,
        bias: bool,
        nonlinearity: fn(&Array) -> Result<Array>,
    ) -> Result<RNN> {
        let k = scale_of("RNN", input_size, hidden_size)?;
        Ok(RNN {
            wxh: uniform_init(&[hidden_size, input_size], k)?,
            whh: uniform_init(&[hidden_size, hidden_size], k)?,
            bias: bias.then(|| uniform_init(&[hidden_size], k)).transpose()?,
            nonlinearity,
            state: ModuleState::new(),
        })
    }

    /// The hidden states `[..., T, hidden_size]` of the sequence `x` `[..., T, input_size]`,
    /// starting from `hidden` (zero when `None`).
    pub fn forward_with(&self, x: &Array, hidden: Option<&Array>) -> Result<Array> {
        let x = project(x, &self.wxh, self.bias.as_ref())?;
        let whh_t = self.whh.t()?;
        let mut hidden = hidden.cloned();
        let mut all = Vec::new();
        for t in 0..x.shape()[x.ndim() - 2] {
            let pre = match &hidden {
                Some(h) => addmm(&step(&x, t)?, h, &whh_t, 1.0, 1.0)?,
                None => step(&x, t)?,
            };
            let h = (self.nonlinearity)(&pre)?;
            all.push(h.clone());
            hidden = Some(h);
        }
        ops::stack(&all, -2)
    }
}

impl Module for RNN {
    fn forward(&self, x: &Array) -> Result<Array> {
        self.forward_with(x, None)
    }
}

/// A gated recurrent unit (MLX's `nn.GRU`): gates `r, z` and candidate `n` from `Wx`
/// `[3·hidden, input]` and `Wh` `[3·hidden, hidden]`, with `b` `[3·hidden]` on the input side
/// and `bhn` `[hidden]` on the candidate's recurrent side.
#[derive(Parameters, Clone, Debug)]
pub struct GRU {
    /// `[3·hidden_size, input_size]` (r, z, n).
    #[param(rename = "Wx")]
    pub wx: Array,
    /// `[3·hidden_size, hidden_size]`.
    #[param(rename = "Wh")]
    pub wh: Array,
    /// `[3·hidden_size]`, when the layer has biases.
    pub b: Option<Array>,
    /// `[hidden_size]`, when the layer has biases.
    pub bhn: Option<Array>,
    #[param(skip)]
    hidden_size: i32,
    #[param(state)]
    state: ModuleState,
}

impl GRU {
    /// A GRU, with biases or not.
    pub fn new(input_size: i32, hidden_size: i32, bias: bool) -> Result<GRU> {
        let k = scale_of("GRU", input_size, hidden_size)?;
        Ok(GRU {
            wx: uniform_init(&[3 * hidden_size, input_size], k)?,
            wh: uniform_init(&[3 * hidden_size, hidden_size], k)?,
            b: bias
                .then(|| uniform_init(&[3 * hidden_size], k))
                .transpose()?,
            bhn: bias.then(|| uniform_init(&[hidden_size], k)).transpose()?,
            hidden_size,
            state: ModuleState::new(),
        })
    }

    /// The hidden states `[..., T, hidden_size]` of the sequence `x`, starting from `hidden`
    /// (zero when `None`).
    pub fn forward_with(&self, x: &Array, hidden: Option<&Array>) -> Result<Array> {
        let hs = self.hidden_size;
        let x = project(x, &self.wx, self.b.as_ref())?;
        let last = x.ndim() as i32 - 1;
        let parts = ops::split_indices(&x, &[2 * hs], last)?;
        let (x_rz, x_n) = (&parts[0], &parts[1]);
        let wh_t = self.wh.t()?;
        let mut hidden = hidden.cloned();
        let mut all = Vec::new();
        for t in 0..x.shape()[x.ndim() - 2] {
            let mut rz = step(x_rz, t)?;
            let mut h_n = None;
            if let Some(h) = &hidden {
                let proj = h.matmul(&wh_t)?;
                let p = ops::split_indices(&proj, &[2 * hs], proj.ndim() as i32 - 1)?;
                rz = &rz + &p[0];
                h_n = Some(match &self.bhn {
                    Some(bhn) => &p[1] + bhn,
                    None => p[1].clone(),
                });
            }
            let rz = rz.sigmoid()?;
            let gates = rz.split(2, rz.ndim() as i32 - 1)?;
            let (r, z) = (&gates[0], &gates[1]);
            let mut n = step(x_n, t)?;
            match (&h_n, &self.bhn) {
                (Some(hn), _) => n = &n + &(r * hn),
                (None, Some(bhn)) => n = &n + &(r * bhn),
                (None, None) => {}
            }
            let n = n.tanh()?;
            let keep_new = &(-z) + 1.0;
            let h = match &hidden {
                Some(h) => &(&keep_new * &n) + &(z * h),
                None => &keep_new * &n,
            };
            all.push(h.clone());
            hidden = Some(h);
        }
        ops::stack(&all, -2)
    }
}

impl Module for GRU {
    fn forward(&self, x: &Array) -> Result<Array> {
        self.forward_with(x, None)
    }
}

/// A long short-term memory layer (MLX's `nn.LSTM`): gates `i, f, g, o` from `Wx`
/// `[4·hidden, input]`, `Wh` `[4·hidden, hidden]` and `bias` `[4·hidden]`.
#[derive(Parameters, Clone, Debug)]
pub struct LSTM {
    /// `[4·hidden_size, input_size]` (i, f, g, o).
    #[param(rename = "Wx")]
    pub wx: Array,
    /// `[4·hidden_size, hidden_size]`.
    #[param(rename = "Wh")]
    pub wh: Array,
    /// `[4·hidden_size]`, when the layer has a bias.
    pub bias: Option<Array>,
    #[param(state)]
    state: ModuleState,
}

impl LSTM {
    /// An LSTM, with a bias or not.
    pub fn new(input_size: i32, hidden_size: i32, bias: bool) -> Result<LSTM> {
        let k = scale_of("LSTM", input_size, hidden_size)?;
        Ok(LSTM {
            wx: uniform_init(&[4 * hidden_size, input_size], k)?,
            wh: uniform_init(&[4 * hidden_size, hidden_size], k)?,
            bias: bias
                .then(|| uniform_init(&[4 * hidden_size], k))
                .transpose()?,
            state: ModuleState::new(),
        })
    }

    /// The hidden and cell states, each `[..., T, hidden_size]`, of the sequence `x`, starting
    /// from `hidden` and `cell` (zero when `None`).
    pub fn forward_with(
        &self,
        x: &Array,
        hidden: Option<&Array>,
        cell: Option<&Array>,
    ) -> Result<(Array, Array)> {
        let x = project(x, &self.wx, self.bias.as_ref())?;
        let wh_t = self.wh.t()?;
        let (mut hidden, mut cell) = (hidden.cloned(), cell.cloned());
        let (mut hs, mut cs) = (Vec::new(), Vec::new());
        for t in 0..x.shape()[x.ndim() - 2] {
            let ifgo = match &hidden {
                Some(h) => addmm(&step(&x, t)?, h, &wh_t, 1.0, 1.0)?,
                None => step(&x, t)?,
            };
            let g = ifgo.split(4, ifgo.ndim() as i32 - 1)?;
            let (i, f, gg, o) = (
                g[0].sigmoid()?,
                g[1].sigmoid()?,
                g[2].tanh()?,
                g[3].sigmoid()?,
            );
            let c = match &cell {
                Some(c) => &(&f * c) + &(&i * &gg),
                None => &i * &gg,
            };
            let h = &o * &c.tanh()?;
            hs.push(h.clone());
            cs.push(c.clone());
            hidden = Some(h);
            cell = Some(c);
        }
        Ok((ops::stack(&hs, -2)?, ops::stack(&cs, -2)?))
    }
}

impl Module for LSTM {
    /// The hidden states (see [`LSTM::forward_with`] for the cell states too).
    fn forward(&self, x: &Array) -> Result<Array> {
        Ok(self.forward_with(x, None, None)?.0)
    }
}

//! Drawing choices: the source of every random decision, and the inputs built from it.

use std::io::Write;

use mlx::{Array, Dtype, Result};

/// Where choices come from: a seeded generator (recording what it draws) or a recorded list.
pub(super) struct Src {
    state: u64,
    replay: Option<Vec<u64>>,
    pos: usize,
    recorded: Vec<u64>,
}

/// Writes and flushes at once: what a child wrote must survive its death.
pub(super) fn emit(text: &str) {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes()).ok();
    out.flush().ok();
}

impl Src {
    pub(super) fn seeded(seed: u64, index: u64) -> Src {
        let mut s = Src {
            state: seed ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15),
            replay: None,
            pos: 0,
            recorded: Vec::new(),
        };
        s.next();
        s
    }

    pub(super) fn replaying(choices: Vec<u64>) -> Src {
        Src {
            state: 0,
            replay: Some(choices),
            pos: 0,
            recorded: Vec::new(),
        }
    }

    pub(super) fn next(&mut self) -> u64 {
        // splitmix64
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A choice in `0..n`.
    pub(super) fn draw(&mut self, n: u64) -> u64 {
        let n = n.max(1);
        let v = match &self.replay {
            Some(list) => list.get(self.pos).copied().unwrap_or(0) % n,
            None => self.next() % n,
        };
        self.pos += 1;
        self.recorded.push(v);
        // Each choice goes out as it is made: if the call kills the process, the parent still
        // has every choice made up to then, which replays the same call.
        emit(&format!("{v},"));
        v
    }

    pub(super) fn flag(&mut self) -> bool {
        self.draw(2) == 1
    }

    pub(super) fn pick<T: Copy>(&mut self, options: &[T]) -> T {
        options[self.draw(options.len() as u64) as usize]
    }
}

pub(super) const DTYPES: [Dtype; 14] = [
    Dtype::Float32,
    Dtype::Int32,
    Dtype::Bool,
    Dtype::Uint8,
    Dtype::Int8,
    Dtype::Int16,
    Dtype::Uint16,
    Dtype::Uint32,
    Dtype::Uint64,
    Dtype::Int64,
    Dtype::Float16,
    Dtype::Bfloat16,
    Dtype::Float64,
    Dtype::Complex64,
];

pub(super) fn dtype(s: &mut Src) -> Dtype {
    s.pick(&DTYPES)
}

/// An integer argument: mostly small, sometimes negative or huge.
pub(super) fn int(s: &mut Src) -> i32 {
    match s.draw(10) {
        0..=5 => s.draw(4) as i32,
        6 => -(s.draw(3) as i32) - 1,
        7 => s.draw(70) as i32,
        8 => s.pick(&[1 << 20, 1 << 30, i32::MAX, i32::MIN, -(1 << 20)]),
        _ => s.draw(9) as i32 - 4,
    }
}

/// A dimension for shapes given to creation ops: mostly small, sometimes 0, negative or huge.
pub(super) fn dim(s: &mut Src) -> i32 {
    match s.draw(12) {
        0..=8 => s.draw(5) as i32,
        9 => s.pick(&[-1, -2, -(1 << 20)]),
        10 => s.pick(&[1 << 16, 1 << 20, 1 << 30, i32::MAX]),
        _ => s.draw(40) as i32,
    }
}

pub(super) fn shape_arg(s: &mut Src) -> Vec<i32> {
    let rank = s.draw(5) as usize;
    (0..rank).map(|_| dim(s)).collect()
}

pub(super) fn axis(s: &mut Src, ndim: usize) -> i32 {
    let n = ndim as i64;
    match s.draw(8) {
        7 => s.pick(&[i32::MIN, i32::MAX, 1 << 20]),
        _ => (s.draw(2 * ndim as u64 + 3) as i64 - (n + 1)) as i32,
    }
}

pub(super) fn axes(s: &mut Src, ndim: usize) -> Vec<i32> {
    let k = s.draw(ndim as u64 + 2) as usize;
    (0..k).map(|_| axis(s, ndim)).collect()
}

/// An `axes: Option<&[i32]>` argument: `None` (all axes) or a list, sometimes empty (no axes).
pub(super) fn opt_axes(s: &mut Src, ndim: usize) -> Option<Vec<i32>> {
    if s.draw(4) == 0 {
        None
    } else {
        Some(axes(s, ndim))
    }
}

/// A value for an element: ordinary numbers and the edge values of every type.
pub(super) fn value(s: &mut Src) -> f64 {
    s.pick(&[
        0.0,
        1.0,
        -1.0,
        2.0,
        0.5,
        3.0,
        -7.0,
        100.0,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
        i32::MIN as f64,
        i32::MAX as f64,
        1e30,
        -0.0,
        255.0,
        -128.0,
    ])
}

pub(super) fn int_value(s: &mut Src) -> i64 {
    s.pick(&[
        0,
        1,
        -1,
        2,
        3,
        -7,
        100,
        i32::MIN as i64,
        i32::MAX as i64,
        i64::MIN,
        i64::MAX,
        255,
        -128,
        4,
        5,
    ])
}

/// An input array: a small shape (0-d, empty, up to 5 per axis), any dtype, edge values.
pub(super) fn array(s: &mut Src) -> Array {
    let rank = s.draw(5) as usize;
    let shape: Vec<i32> = (0..rank).map(|_| s.draw(6) as i32).collect();
    array_of(s, &shape)
}

pub(super) fn array_of(s: &mut Src, shape: &[i32]) -> Array {
    let d = dtype(s);
    array_typed(s, shape, d)
}

pub(super) fn array_typed(s: &mut Src, shape: &[i32], d: Dtype) -> Array {
    let n: usize = shape.iter().map(|&x| x.max(0) as usize).product();
    let made = if d.is_integer() {
        let v: Vec<i64> = (0..n).map(|_| int_value(s)).collect();
        Array::from_slice(&v, shape).and_then(|a| a.astype(d))
    } else if d == Dtype::Bool {
        let v: Vec<bool> = (0..n).map(|_| s.flag()).collect();
        Array::from_slice(&v, shape)
    } else {
        let v: Vec<f32> = (0..n).map(|_| value(s) as f32).collect();
        Array::from_slice(&v, shape).and_then(|a| a.astype(d))
    };
    made.expect("input arrays are always valid")
}

pub(super) fn float_array(s: &mut Src) -> Array {
    let rank = s.draw(5) as usize;
    let shape: Vec<i32> = (0..rank).map(|_| s.draw(6) as i32).collect();
    let d = s.pick(&[
        Dtype::Float32,
        Dtype::Float16,
        Dtype::Float64,
        Dtype::Bfloat16,
    ]);
    array_typed(s, &shape, d)
}

pub(super) fn matrix(s: &mut Src) -> Array {
    let (m, n) = (s.draw(5) as i32, s.draw(5) as i32);
    let mut shape = vec![m, n];
    if s.draw(4) == 0 {
        shape.insert(0, s.draw(3) as i32);
    }
    let d = s.pick(&[Dtype::Float32, Dtype::Float64, Dtype::Float16, Dtype::Int32]);
    array_typed(s, &shape, d)
}

pub(super) fn index_array(s: &mut Src) -> Array {
    let rank = s.draw(3) as usize;
    let shape: Vec<i32> = (0..rank).map(|_| s.draw(4) as i32).collect();
    let d = s.pick(&[
        Dtype::Int32,
        Dtype::Uint32,
        Dtype::Int64,
        Dtype::Uint8,
        Dtype::Float32,
    ]);
    array_typed(s, &shape, d)
}

pub(super) fn one(r: Result<Array>) -> Result<Vec<Array>> {
    r.map(|a| vec![a])
}

pub(super) fn two(r: Result<(Array, Array)>) -> Result<Vec<Array>> {
    r.map(|(a, b)| vec![a, b])
}

pub(super) fn describe(a: &Array) -> String {
    format!("{}{:?}", a.dtype().name(), a.shape())
}

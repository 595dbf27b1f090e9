//! Comparisons, `where`, `isclose`/`allclose`, `array_equal`.

//! End-to-end tests across the workspace's crates (see `tests/`), and the README's code,
//! compiled and run as doctests so it stays true.

#[doc = include_str!("../../README.md")]
mod readme {}

//! Cross-crate end-to-end tests live in `tests/tests/`.
//!
//! This crate also doc-tests the workspace README, whose examples use every crate.

/// The workspace README's examples are doc-tested here, where every crate is in scope.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

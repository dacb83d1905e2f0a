//! Typed async client for kandji: implemented in its own issue.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

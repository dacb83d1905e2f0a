//! Typed async client for abm: implemented in its own issue.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

//! Typed async client for jamf: implemented in its own issue.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

//! The `mdm` binary's library: the vendor simulator and the SQLite store.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

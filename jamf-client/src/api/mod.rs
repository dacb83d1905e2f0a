//! The API calls, by area. Each area adds methods to [`Client`](crate::Client);
//! the query builders and section enums live here.

pub mod classic;
pub mod computers;
pub mod mobile;
pub mod org;

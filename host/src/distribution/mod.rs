//! Policy distribution: references to modules (path, pinned https URL, OCI
//! registry) and the downloads and pushes behind them.

mod credentials;
mod fetch;
mod http;
mod reference;
#[cfg(test)]
mod tests;

pub use credentials::Credentials;
pub use fetch::{ANNOTATION_WIT, FetchError, Fetched, Fetcher, OCI_MANIFEST, WASM_CONFIG, WASM_LAYER, sha256_hex};
pub(crate) use fetch::{CappedRead, describe, read_capped};
pub(crate) use http::status_line;
pub use reference::{OciRef, PolicyRef};

//! Generators of the book's reference pages (see `tests/references.rs`).

pub mod cli;
pub mod crds;
pub mod schema;
pub mod snapshot_json;
pub mod values;
pub mod wit;

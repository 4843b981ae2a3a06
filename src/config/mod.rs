//! Typed configuration: TOML with an embedded default, validation that names every bad key.

//! The results schema (one serde row type) and its CSV / JSON files.

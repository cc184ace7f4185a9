//! One module per command: its arguments (clap) and its `execute`.

pub mod grad;
pub mod list;
pub mod verify;

//! One module per command: its arguments (clap) and its `execute`.

pub mod check;
pub mod compare;
pub mod completions;
pub mod count_instructions;
pub mod grad;
pub mod gradbench;
pub mod gradbench_worker;
pub mod hvp;
pub mod list;
pub mod man;
pub mod merge;
pub mod plot;
pub mod run;
pub mod run_case;
pub mod verify;

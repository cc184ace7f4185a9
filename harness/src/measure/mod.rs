//! Measuring cases: timing, heap accounting, isolation in a child process per case, and the
//! machine the numbers come from.
//!
//! - [`schedule`]: a (workload, size) group's cases, interleaved in rounds, with budgets;
//! - [`isolate`]: the parent side of a case's child process, and how its end maps to a status;
//! - [`child`]: the child side (`dualbench run-case`): setup, memory pass, warm-up, samples;
//! - [`protocol`]: the JSON lines between the two;
//! - [`alloc`]: the counting global allocator (accounting for the threads of a memory pass,
//!   memory cap);
//! - [`instructions`]: instructions per gradient under callgrind (`run --instructions`);
//! - [`stats`]: median and its confidence interval;
//! - [`machine`]: machine fingerprint and build metadata;
//! - [`settings`]: how cases are measured, from a suite and the user's overrides;
//! - [`thread`]: evaluation threads and pools with large stacks, and panics as errors.

pub mod alloc;
pub mod child;
pub mod instructions;
pub mod isolate;
pub mod machine;
pub mod protocol;
pub mod schedule;
pub mod settings;
pub mod stats;
pub mod thread;

//! Measuring one case: timing, memory, isolation in a child process, machine metadata.

//! The `dualbench` binary: parse the command line, run the command, map the outcome to an exit
//! code (0 ok, 1 a verdict failed, 2 usage or input error, 3 regression; each command's
//! `--help` lists its own, from [`dualbench::cli::exit_codes`]).

use std::process::ExitCode;

use dualbench::measure::alloc::CountingAllocator;

/// Counts heap bytes per thread for the memory pass of `run`, and enforces `--memory-limit-mib`.
#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

fn main() -> ExitCode {
    let width = dualbench::output::terminal_width();
    let cli = match dualbench::cli::parse(std::env::args_os(), width) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            // Help and version go to stdout, usage errors to stderr; neither can fail usefully.
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match dualbench::cli::execute(cli) {
        Ok(outcome) => outcome.exit_code(),
        Err(e) => {
            dualbench::output::note(&format!("error: {e}"));
            e.exit_code()
        }
    }
}

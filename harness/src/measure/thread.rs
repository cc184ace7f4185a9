//! Evaluation threads: every evaluation of a program runs on a thread with a large stack, and
//! a panic inside one can be turned into an error message.

use std::cell::Cell;
use std::panic::AssertUnwindSafe;
use std::sync::Once;

/// Run `f` on a new thread with a stack of `stack_bytes` and return its result. Closure-based
/// strategies (naive) recurse through their graph when calling and dropping it, so the harness
/// runs every evaluation on a thread with a large stack; a panic inside is resumed here.
pub fn with_stack<T: Send>(stack_bytes: usize, f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| {
        let handle = std::thread::Builder::new()
            .name("evaluation".into())
            .stack_size(stack_bytes)
            .spawn_scoped(scope, f)
            .expect("spawning the evaluation thread");
        match handle.join() {
            Ok(v) => v,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

/// The stack given to evaluation threads: 1 GiB of address space (only touched pages are
/// backed), deep enough for closure chains of ~10^6 nodes.
pub const EVALUATION_STACK_BYTES: usize = 1 << 30;

thread_local! {
    /// Set while a [`guarded`] evaluation runs on this thread: its panics are reported as
    /// errors, so the panic hook stays quiet for them.
    static QUIET_PANICS: Cell<bool> = const { Cell::new(false) };
}

/// Run `evaluation` on a thread with [`EVALUATION_STACK_BYTES`] of stack and return its
/// result, or the panic message if it panicked (an unimplemented strategy, a failed assertion,
/// a program's domain error). The panic is not printed: a process-wide hook, installed once,
/// defers to the previous hook except on threads inside `guarded`.
pub fn guarded<T: Send>(evaluation: impl FnOnce() -> T + Send) -> std::result::Result<T, String> {
    static QUIET_HOOK: Once = Once::new();
    QUIET_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET_PANICS.with(Cell::get) {
                previous(info);
            }
        }));
    });
    with_stack(EVALUATION_STACK_BYTES, || {
        QUIET_PANICS.with(|q| q.set(true));
        let result = std::panic::catch_unwind(AssertUnwindSafe(evaluation));
        QUIET_PANICS.with(|q| q.set(false));
        result.map_err(|payload| {
            payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panicked with a non-text payload".to_string())
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guarded_turns_a_panic_into_its_message() {
        let r: std::result::Result<(), String> = guarded(|| panic!("domain error: ln of {}", -1));
        assert_eq!(r.unwrap_err(), "domain error: ln of -1");
        assert_eq!(guarded(|| 41 + 1), Ok(42));
    }
}

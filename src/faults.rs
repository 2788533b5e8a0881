//! Failure points for the crash tests: `CLERK_FAIL_AT=<point>` makes the process abort (as a
//! kill -9 would leave it) the first time it reaches that point, so a test can prove that no
//! mail is lost or doubled across a crash at exactly the worst moment. Unset, a point costs
//! one environment lookup.

/// Aborts the process if `CLERK_FAIL_AT` names this point.
pub fn point(name: &str) {
    if std::env::var_os("CLERK_FAIL_AT").is_some_and(|v| v == name) {
        eprintln!("clerk: CLERK_FAIL_AT={name}: aborting here");
        std::process::abort();
    }
}

/// Panics if `CLERK_PANIC_AT` names this point: how a test stands in for input that makes a
/// parser panic, to show that such a message is quarantined once and not read again.
pub fn panic_point(name: &str) {
    if std::env::var_os("CLERK_PANIC_AT").is_some_and(|v| v == name) {
        panic!("CLERK_PANIC_AT={name}: panicking here");
    }
}

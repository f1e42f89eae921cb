//! The one test harness of the workspace's network-namespace tests (`tcp-tun`,
//! `tcp-tokio` and `tun-proxy` integration tests, each a `harness = false` test file).
//!
//! Such a test moves its thread into a private network namespace (`unshare(CLONE_NEWNET)`)
//! and makes TUN devices there, so it needs root (or `CAP_NET_ADMIN` + `CAP_SYS_ADMIN`),
//! `/dev/net/tun` and `ip` from iproute2. [`run`] runs the tests like libtest does (name
//! filters, `--list`, `--test-threads`, the same output) through `libtest-mimic`, each in
//! a fresh thread, after one probe: when the probe fails, every test is reported as
//! *ignored* with the reason, never as passed; under CI (`CI` set) the probe is skipped,
//! so the tests run and fail: CI must never pass by skipping.

/// A test: its name (as libtest would print it) and its function.
pub type Test = (&'static str, fn());

/// Runs `tests` as described in the crate documentation and exits with libtest's status.
/// `probe` (run in a thread of its own, outside CI) says whether this machine can run
/// them: `Err(reason)` reports them all as ignored with `reason`.
pub fn run(tests: &[Test], probe: impl FnOnce() -> Result<(), String> + Send + 'static) -> ! {
    let args = libtest_mimic::Arguments::from_args();
    let skip = if std::env::var_os("CI").is_some() {
        None
    } else {
        match std::thread::spawn(probe).join() {
            Ok(r) => r.err(),
            Err(_) => Some("the probe panicked".to_string()),
        }
    };
    let trials = tests
        .iter()
        .map(|&(name, test)| {
            let skip = skip.clone();
            libtest_mimic::Trial::ignorable_test(name, move || {
                if let Some(why) = skip {
                    return Ok(libtest_mimic::Completion::ignored_with(why));
                }
                match std::thread::spawn(test).join() {
                    Ok(()) => Ok(libtest_mimic::Completion::Completed),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            })
        })
        .collect();
    libtest_mimic::run(&args, trials).exit()
}

/// The reason a probe gives when the namespace or device could not be made: what the
/// tests need, and the error.
pub fn cannot_make_namespace(e: impl std::fmt::Display) -> String {
    format!(
        "needs root (CAP_NET_ADMIN + CAP_SYS_ADMIN), /dev/net/tun and `ip` (iproute2): \
         cannot create a network namespace with a TUN device: {e}"
    )
}

/// The first of `commands` that does not start (`CMD --version`), as a probe's reason.
pub fn missing_command(commands: &[&str]) -> Result<(), String> {
    match commands.iter().find(|cmd| {
        std::process::Command::new(cmd)
            .arg("--version")
            .output()
            .is_err()
    }) {
        Some(cmd) => Err(format!("needs `{cmd}` (scripts/setup installs it)")),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_that_does_not_exist_is_named_as_missing() {
        let r = missing_command(&["sh", "no-such-command-xyz"]);
        assert_eq!(
            r,
            Err("needs `no-such-command-xyz` (scripts/setup installs it)".to_string())
        );
        assert_eq!(missing_command(&["sh"]), Ok(()));
    }
}

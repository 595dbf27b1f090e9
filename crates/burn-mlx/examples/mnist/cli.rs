//! The `main` of the digit examples: parse the command line, then run.

use std::fmt::Display;
use std::process::ExitCode;

/// `parsed` is the command line: `Ok(None)` when help was asked (print `usage`, succeed), an
/// error to print beside `usage` (exit code 2), or the arguments to `run`, whose error is
/// printed (exit code 1).
pub fn main<A, E: Display>(
    usage: &str,
    parsed: Result<Option<A>, String>,
    run: impl FnOnce(A) -> Result<(), E>,
) -> ExitCode {
    let args = match parsed {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{usage}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("error: {message}\n\n{usage}");
            return ExitCode::from(2);
        }
    };
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

//! `concur-token`: a Concur access token on the command line, for designing and testing.
//!
//! Secrets never come from the command line, where `ps` and shell history would show them:
//! each is read from standard input (its `--…-stdin` flag, one per run), else from its
//! environment variable, else from a prompt that does not echo.
//!
//! `concur-token native|refresh|revoke` are the legacy Native Flow and its companions;
//! `concur-token oauth2 …` is Concur's current Authentication API (oauth2/v0);
//! `concur-token vault …` keeps many connections alive in one store.

mod args;
mod commands;
mod output;
mod secrets;
mod vault;

use std::process::ExitCode;

use clap::Parser;
use concur_native::ErrorKind;

use crate::args::Cli;
use crate::commands::run;

fn exit_code(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::InvalidArgument => 2,
        ErrorKind::Unauthorized => 3,
        ErrorKind::HttpStatus => 4,
        ErrorKind::Timeout => 5,
        ErrorKind::Connect => 6,
        ErrorKind::Tls => 7,
        ErrorKind::Protocol => 8,
        ErrorKind::Store => 9,
        ErrorKind::NotBuiltIn => 10,
        ErrorKind::UnknownConnection => 11,
        _ => 1,
    }
}

fn main() -> ExitCode {
    // Rust ignores SIGPIPE, so `concur-token … | head -c0` would make println! panic (an
    // "internal error", exit 1). A command-line tool ends quietly on a closed pipe, as cat does.
    // SAFETY: resetting a signal to its default disposition before any thread is started.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    // A bug must not end in Rust's exit status 101 with a panic message (which could quote
    // what it was working on): one fixed line, and the documented "anything else" status.
    std::panic::set_hook(Box::new(|_| {
        eprintln!(
            "concur-token: internal error: a bug in concur-native was caught; please report it"
        );
    }));
    match std::panic::catch_unwind(|| run(cli)) {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(e)) => {
            eprintln!("concur-token: {e}");
            ExitCode::from(exit_code(e.kind()))
        }
        Err(_) => ExitCode::from(1),
    }
}

//! Minimal driver for `signature::cli` (the real command is
//! `socorro signature`): `cargo run -p signature --example signify --
//! [--json] [--debug] [--dir SIGLIST_DIR] [FILE...]`.

use std::process::ExitCode;

use signature::cli::{self, OutputFormat, SignatureArgs};

fn main() -> ExitCode {
    let mut args = SignatureArgs::default();
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--json" => args.format = OutputFormat::Json,
            "--debug" => args.debug = true,
            "--different-only" => args.different_only = true,
            "--dir" => args.signature_list_dir = it.next().map(Into::into),
            _ => args.inputs.push(arg.into()),
        }
    }
    match cli::run(&args, &mut std::io::stdin(), &mut std::io::stdout()) {
        Ok(0) => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

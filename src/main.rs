//! The `voice-api` binary: parses the command line and hands over to [`voice_api::cli`].

use clap::Parser;
use std::process::ExitCode;

// The request path allocates many small short-lived buffers (rows, strings, bodies); glibc's
// malloc showed up at several per cent of the server's CPU in profiles, mimalloc far less.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // A missing .env is normal; the environment and defaults then apply.
    let _ = dotenvy::dotenv();
    let cli = voice_api::cli::Cli::parse();
    let runtime = match voice_api::cli::runtime(&cli) {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(voice_api::cli::run(cli));
    // The lines this thread still holds (see `voice_api::logging`), with those its tasks log
    // as the runtime drops them.
    drop(runtime);
    voice_api::logging::flush();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // `{:#}` includes the causes on the same line (e.g. why a file cannot be read).
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

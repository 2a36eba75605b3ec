//! The `voice-api` binary: parses the command line and hands over to [`voice_api::cli`].

use clap::Parser;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    // A missing .env is normal; the environment and defaults then apply.
    let _ = dotenvy::dotenv();
    let cli = voice_api::cli::Cli::parse();
    match voice_api::cli::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // `{:#}` includes the causes on the same line (e.g. why a file cannot be read).
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

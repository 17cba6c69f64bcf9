//! The `chat-tokio-stream` binary: parse flags, set up logging and the process, run the
//! server until SIGINT or SIGTERM, then let it say goodbye and exit 0.
//!
//! Try it: `cargo run --release`, then `nc localhost 8080` in two other terminals.

use std::process::ExitCode;

use clap::Parser;
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use chat_tokio_stream::cli::Args;
use chat_tokio_stream::server;
use chat_tokio_stream::sys;

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let args = Args::parse();
    match sys::raise_open_file_limit() {
        Ok(limit) => log::info!("open file limit: {limit}"),
        Err(e) => log::warn!("could not raise the open file limit: {e}"),
    }
    match serve(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::error!("{e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the server until a termination signal, then stops it gracefully.
fn serve(args: &Args) -> std::io::Result<()> {
    let mut signals = Signals::new([SIGINT, SIGTERM])?;
    let backend = args.backend();
    let handle = server::start(backend, args.config())?;
    log::info!(
        "{} server listening on {}",
        backend.name(),
        handle.local_addr()
    );
    let shutdown = handle.shutdown_trigger();
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            if let Some(signal) = signals.forever().next() {
                log::info!("received signal {signal}; shutting down");
                shutdown.trigger();
            }
        })?;
    handle.wait()
}

//! The `chat-tokio-stream` binary: parse flags, set up logging and the process, run the
//! server until SIGINT, SIGTERM or SIGHUP, then let it say goodbye and exit 0.
//!
//! Try it: `cargo run --release`, then `nc localhost 8080` in two other terminals.

mod cli;

use std::process::ExitCode;

use clap::Parser;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGUSR1, SIGUSR2};
use signal_hook::iterator::Signals;

use chat_tokio_stream::server;
use chat_tokio_stream::sys;
use cli::Args;

fn main() -> ExitCode {
    // First of all, so that a signal sent while the server starts is not lost: it is held
    // until the server can act on it.
    let signals = match Signals::new([SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2]) {
        Ok(signals) => signals,
        Err(e) => {
            eprintln!("chat-tokio-stream: cannot handle signals: {e}");
            return ExitCode::FAILURE;
        }
    };
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let args = Args::parse();
    log::info!("starting");
    match sys::raise_open_file_limit() {
        Ok(limit) => log::info!("open file limit: {limit}"),
        Err(e) => log::warn!("could not raise the open file limit: {e}"),
    }
    match serve(&args, signals) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::error!("{e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the server until a termination signal, then stops it gracefully.
fn serve(args: &Args, mut signals: Signals) -> std::io::Result<()> {
    let backend = args.backend;
    let handle = server::start(backend, args.config())?;
    if let Some(tls_addr) = handle.tls_addr() {
        log::info!("serving TLS on {tls_addr}");
    }
    if let Some(https_addr) = handle.https_addr() {
        log::info!(
            "serving the web over TLS on {https_addr}: open https://{https_addr} in a browser"
        );
    }
    match handle.http_addr() {
        Some(http_addr) => {
            log::info!("serving the web on {http_addr}: open http://{http_addr} in a browser");
        }
        None if args.http_addr.is_none() => log::info!(
            "the {} server serves no web page; --backend mio serves one on --http-addr",
            backend.name()
        ),
        None => {}
    }
    log::info!(
        "{} server listening on {}",
        backend.name(),
        handle.local_addr()
    );
    let shutdown = handle.shutdown_trigger();
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for signal in signals.forever() {
                match signal {
                    SIGUSR1 | SIGUSR2 => {
                        log::info!("received signal {signal}, which means nothing here; ignored");
                    }
                    _ => {
                        log::info!("received signal {signal}; shutting down");
                        shutdown.trigger();
                    }
                }
            }
        })?;
    handle.wait()
}

//! Password hashing, on a small pool of threads of its own: hashing is slow by design (tens
//! of milliseconds), and must never run on a driver's thread.
//!
//! argon2id (RustCrypto's `argon2`) with OWASP's minimum parameters: 19 MiB of memory, two
//! passes, one lane. Hashes are PHC strings (`$argon2id$v=19$m=19456,t=2,p=1$...`), and a
//! password is checked with the parameters its hash records, so the parameters can be
//! raised later and every old hash still verifies. The pool has one thread per core but
//! one, which the event loop keeps. Its queue is short: when it is full, an attempt is
//! answered "busy" at once instead of waiting, so a crowd guessing passwords cannot make a
//! real user wait long, nor make the server hold their passwords in memory.

use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use argon2::password_hash::{Error as HashError, PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

use super::mailbox::Mailbox;
use crate::protocol::{AuthRequest, Completion, Ticket};

/// Attempts waiting per hashing thread at most, besides those being worked on.
const QUEUE_PER_THREAD: usize = 4;

/// The pool, as the drivers see it.
#[derive(Debug)]
pub struct Hashing {
    jobs: Option<SyncSender<AuthRequest>>,
    threads: Vec<JoinHandle<()>>,
    mailbox: Mailbox,
}

impl Hashing {
    /// Starts the pool, answering through `mailbox`.
    pub fn start(mailbox: Mailbox) -> std::io::Result<Hashing> {
        let size = std::thread::available_parallelism()
            .map_or(1, |cores| cores.get().saturating_sub(1).max(1));
        let (jobs, receiver) = mpsc::sync_channel(size * QUEUE_PER_THREAD);
        let receiver = Arc::new(Mutex::new(receiver));
        let threads = (0..size)
            .map(|n| {
                let (receiver, mailbox) = (Arc::clone(&receiver), mailbox.clone());
                std::thread::Builder::new()
                    .name(format!("hashing-{n}"))
                    .spawn(move || work(&receiver, &mailbox))
            })
            .collect::<std::io::Result<Vec<_>>>()?;
        log::info!("password hashing: argon2id m=19456 KiB t=2 p=1 on {size} thread(s)");
        Ok(Hashing {
            jobs: Some(jobs),
            threads,
            mailbox,
        })
    }

    /// Hands `request` to the pool, or answers "busy" at once if its queue is full. Never
    /// blocks.
    pub fn submit(&self, request: AuthRequest) {
        let Some(jobs) = &self.jobs else {
            return;
        };
        if let Err(TrySendError::Full(request) | TrySendError::Disconnected(request)) =
            jobs.try_send(request)
        {
            self.mailbox.post(Completion::Failed {
                ticket: ticket(&request),
                reason: "the server is busy checking passwords; try again in a moment".into(),
            });
        }
    }

    /// Lets the threads finish what is queued, then stops them.
    pub fn stop(mut self) {
        self.jobs = None;
        for thread in self.threads.drain(..) {
            if thread.join().is_err() {
                log::error!("a password-hashing thread panicked");
            }
        }
    }
}

/// A hashing thread: one request at a time, until the pool stops.
fn work(receiver: &Mutex<Receiver<AuthRequest>>, mailbox: &Mailbox) {
    loop {
        let request = receiver
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .recv();
        let Ok(request) = request else {
            return;
        };
        mailbox.post(answer(request));
    }
}

/// Does what `request` asks.
fn answer(request: AuthRequest) -> Completion {
    match request {
        AuthRequest::Hash { ticket, password } => {
            let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::default());
            match argon2.hash_password(password.expose().as_bytes()) {
                Ok(hash) => Completion::Hashed {
                    ticket,
                    hash: hash.to_string().into(),
                },
                Err(e) => {
                    log::error!("cannot hash a password: {e}");
                    Completion::Failed {
                        ticket,
                        reason: "the password could not be hashed".into(),
                    }
                }
            }
        }
        AuthRequest::Verify {
            ticket,
            password,
            hash,
        } => match Argon2::default().verify_password(password.expose().as_bytes(), &*hash) {
            Ok(()) => Completion::Verified {
                ticket,
                matches: true,
            },
            Err(HashError::PasswordInvalid) => Completion::Verified {
                ticket,
                matches: false,
            },
            Err(e) => {
                log::warn!("an account's password hash cannot be used: {e}");
                Completion::Failed {
                    ticket,
                    reason: "the account's password cannot be checked".into(),
                }
            }
        },
    }
}

fn ticket(request: &AuthRequest) -> Ticket {
    match request {
        AuthRequest::Hash { ticket, .. } | AuthRequest::Verify { ticket, .. } => *ticket,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{ClientId, Secret};
    use crate::services::Delivery;

    fn ticket() -> Ticket {
        Ticket {
            client: ClientId(1),
            number: 1,
        }
    }

    fn hash(password: &str) -> Box<str> {
        let request = AuthRequest::Hash {
            ticket: ticket(),
            password: Secret::new(password),
        };
        match answer(request) {
            Completion::Hashed { hash, .. } => hash,
            other => panic!("{other:?}"),
        }
    }

    fn verify(password: &str, hash: &str) -> Completion {
        answer(AuthRequest::Verify {
            ticket: ticket(),
            password: Secret::new(password),
            hash: hash.into(),
        })
    }

    #[test]
    fn hashes_are_argon2id_phc_strings_with_owasp_parameters_and_a_salt_each() {
        let first = hash("correct horse");
        assert!(
            first.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{first}"
        );
        assert_ne!(first, hash("correct horse"), "salted");
        assert!(!first.contains("correct horse"));
    }

    #[test]
    fn the_right_password_matches_and_a_wrong_one_does_not() {
        let stored = hash("correct horse");
        assert!(matches!(
            verify("correct horse", &stored),
            Completion::Verified { matches: true, .. }
        ));
        assert!(matches!(
            verify("wrong horse", &stored),
            Completion::Verified { matches: false, .. }
        ));
    }

    #[test]
    fn a_hash_made_with_other_parameters_still_verifies() {
        let cheaper = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8 * 1024, 1, 1, None).unwrap(),
        )
        .hash_password(b"old password")
        .unwrap()
        .to_string();
        assert!(matches!(
            verify("old password", &cheaper),
            Completion::Verified { matches: true, .. }
        ));
        assert!(matches!(
            verify("x", "not a hash"),
            Completion::Failed { .. }
        ));
    }

    #[test]
    fn a_full_queue_is_answered_busy_at_once() {
        let (mailbox, inbox) = Mailbox::new(|| {});
        let (jobs, _receiver) = mpsc::sync_channel(0);
        let pool = Hashing {
            jobs: Some(jobs),
            threads: Vec::new(),
            mailbox,
        };
        pool.submit(AuthRequest::Hash {
            ticket: ticket(),
            password: Secret::new("whatever1"),
        });
        match inbox.next() {
            Some(Delivery::Completion(Completion::Failed { reason, .. })) => {
                assert!(reason.contains("busy"));
            }
            other => panic!("{other:?}"),
        }
    }
}

//! Accounts (contract item 12): a registered nickname is only given with its password, at
//! the nickname prompt and on `/nick`; `/register` and `/passwd`; private messages kept for
//! an account that is away and delivered when it next logs in.
//!
//! A nickname being claimed is reserved for the claimant while the store is asked whether an
//! account owns it, while its password is asked for, and while the password is checked (by
//! the hashing pool, off the loop). A password line is taken straight from the input: it is
//! never echoed, relayed, kept in history or logged. Guessing is throttled per account and
//! per address (see [`crate::protocol::account`]).

use std::sync::Arc;
use std::time::Instant;

use super::{member_of, plural, Hub, Prompt, Purpose, Then};
use crate::protocol::account::{check_password, LOCKOUT};
use crate::protocol::nick;
use crate::protocol::request::{Account, AuthRequest, Offline, Request, Secret, StoreRequest};
use crate::protocol::room::LOBBY;
use crate::protocol::sink::{ClientId, Sink};

/// Private messages an account may have waiting at most; past it, senders are told.
pub const OFFLINE_LIMIT: usize = 100;

impl Hub {
    /// Client `id` wants `nick` (free here, well-formed, its folded form `folded`), to log in
    /// with or to rename to: reserves it, and asks the store to claim it across servers and
    /// say whether an account owns it.
    pub(super) fn claim(&mut self, id: ClientId, nick: Arc<str>, folded: Box<str>, then: Then) {
        self.reserve(id, folded);
        let name = nick.as_ref().into();
        let room = match member_of(&self.clients, id) {
            Some(member) => Arc::clone(self.rooms[member.room.0].name()),
            None => LOBBY.into(),
        };
        self.ask(id, Purpose::LookUp { nick, then }, |ticket| {
            Request::Store(StoreRequest::Claim { ticket, name, room })
        });
    }

    /// The store's answer about `nick`: taken on another server; no account, and it is the
    /// client's; an account, and its password is asked for (unless too many wrong ones
    /// locked it).
    #[allow(clippy::too_many_arguments)] // One answer's three parts and the hub's context.
    pub(super) fn looked_up(
        &mut self,
        id: ClientId,
        nick: Arc<str>,
        then: Then,
        taken: bool,
        account: Option<Account>,
        now: Instant,
        sink: &mut impl Sink,
    ) {
        if taken {
            self.error(
                id,
                format_args!("{nick} is taken by someone on another server"),
                sink,
            );
            return self.unclaim(id, then, sink);
        }
        let Some(account) = account else {
            return self.claimed(id, nick, then, None, sink);
        };
        if self.refuse_locked(id, &account, now, sink) {
            return self.unclaim(id, then, sink);
        }
        self.notice(
            id,
            format_args!(
                "{} is a registered nickname: type its password",
                account.name
            ),
            sink,
        );
        self.prompts.insert(id, Prompt { account, then });
    }

    /// The line a client typed when asked for a password.
    pub(super) fn password_line(
        &mut self,
        id: ClientId,
        prompt: Prompt,
        password: &str,
        now: Instant,
        sink: &mut impl Sink,
    ) {
        if self.client_mut(id).is_none() {
            return;
        }
        if password.is_empty() {
            self.error(id, format_args!("no password given"), sink);
            return self.unclaim(id, prompt.then, sink);
        }
        if self.refuse_attempt(id, &prompt.account, now, sink) {
            return self.unclaim(id, prompt.then, sink);
        }
        let Prompt { account, then } = prompt;
        let hash = account.hash.clone();
        let password = Secret::new(password);
        self.ask(id, Purpose::Verify { account, then }, |ticket| {
            Request::Auth(AuthRequest::Verify {
                ticket,
                password,
                hash,
            })
        });
    }

    /// The hashing pool's verdict on the password typed for `account`.
    pub(super) fn verified(
        &mut self,
        id: ClientId,
        account: Account,
        then: Then,
        matches: bool,
        now: Instant,
        sink: &mut impl Sink,
    ) {
        let folded = nick::fold(&account.name);
        if matches {
            self.throttle.succeeded(&folded);
            let nick = account.name.as_ref().into();
            return self.claimed(id, nick, then, Some(account), sink);
        }
        self.counters.login_failures += 1;
        let locked = match self.throttle.failed(&folded, now) {
            Some(_) => format!(
                "; {} is locked for {} minutes",
                account.name,
                LOCKOUT.as_secs() / 60
            ),
            None => String::new(),
        };
        self.error(
            id,
            format_args!("wrong password for {}{locked}", account.name),
            sink,
        );
        self.unclaim(id, then, sink);
    }

    /// The claim of `nick` succeeded (logged in to `account`, if it has one).
    fn claimed(
        &mut self,
        id: ClientId,
        nick: Arc<str>,
        then: Then,
        account: Option<Account>,
        sink: &mut impl Sink,
    ) {
        match account {
            Some(account) => self.logged_in.insert(id, account),
            None => self.logged_in.remove(&id),
        };
        match then {
            Then::LogIn => self.enter_lobby(id, nick, sink),
            Then::Rename => self.rename_to(id, nick, sink),
        }
    }

    /// The claim failed: the nickname is let go; at the prompt, another is asked for; on
    /// `/nick`, the old one is kept.
    pub(super) fn unclaim(&mut self, id: ClientId, then: Then, sink: &mut impl Sink) {
        self.release(id);
        match then {
            Then::LogIn => sink.send(id, &self.canned.nick_prompt),
            Then::Rename => {
                if let Some(member) = member_of(&self.clients, id) {
                    let nick = Arc::clone(&member.nick);
                    self.notice(id, format_args!("You are still {nick}"), sink);
                }
            }
        }
    }

    /// True if client `id` may not try a password for `account` now: its address has used
    /// its attempts, or the account is locked. The client is told which.
    fn refuse_attempt(
        &mut self,
        id: ClientId,
        account: &Account,
        now: Instant,
        sink: &mut impl Sink,
    ) -> bool {
        let Some(client) = self.clients.get(id.0).and_then(Option::as_ref) else {
            return true;
        };
        if !self.throttle.attempt(client.addr, now) {
            self.error(
                id,
                format_args!(
                    "too many password attempts from your address; wait a minute and try again"
                ),
                sink,
            );
            return true;
        }
        self.refuse_locked(id, account, now, sink)
    }

    /// True if `account` is locked after too many wrong passwords; then client `id` is told.
    fn refuse_locked(
        &mut self,
        id: ClientId,
        account: &Account,
        now: Instant,
        sink: &mut impl Sink,
    ) -> bool {
        let Some(until) = self.throttle.locked_until(&nick::fold(&account.name), now) else {
            return false;
        };
        let minutes = until.saturating_duration_since(now).as_secs().div_ceil(60);
        self.error(
            id,
            format_args!(
                "too many wrong passwords for {}; try again in {minutes} minute{}",
                account.name,
                plural(minutes as usize)
            ),
            sink,
        );
        true
    }

    /// `/register PASSWORD`: the member's nickname becomes an account.
    pub(super) fn register_account(&mut self, id: ClientId, password: &str, sink: &mut impl Sink) {
        let Some(member) = member_of(&self.clients, id) else {
            return;
        };
        if self.logged_in.contains_key(&id) {
            let nick = Arc::clone(&member.nick);
            self.error(
                id,
                format_args!("{nick} is registered already: it is yours"),
                sink,
            );
            return;
        }
        if let Err(why) = check_password(password) {
            self.error(id, format_args!("{why}"), sink);
            return;
        }
        let password = Secret::new(password);
        self.ask(id, Purpose::HashForAccount, |ticket| {
            Request::Auth(AuthRequest::Hash { ticket, password })
        });
    }

    /// `/register`, once the password is hashed: the store makes the account.
    pub(super) fn make_account(&mut self, id: ClientId, hash: Box<str>) {
        let Some(member) = member_of(&self.clients, id) else {
            return;
        };
        let name = member.nick.as_ref().into();
        let stored = hash.clone();
        self.ask(id, Purpose::MakeAccount { hash }, |ticket| {
            Request::Store(StoreRequest::Register {
                ticket,
                name,
                hash: stored,
            })
        });
    }

    /// `/register`, answered: the member is logged in to its new account, or the name had one.
    pub(super) fn account_made(
        &mut self,
        id: ClientId,
        hash: Box<str>,
        made: bool,
        sink: &mut impl Sink,
    ) {
        let Some(member) = member_of(&self.clients, id) else {
            return;
        };
        let name: Box<str> = member.nick.as_ref().into();
        if made {
            self.notice(
                id,
                format_args!(
                    "{name} is registered: from now on it is given only with its password"
                ),
                sink,
            );
            self.logged_in.insert(id, Account { name, hash });
        } else {
            self.error(id, format_args!("{name} has an account already"), sink);
        }
    }

    /// `/passwd OLD NEW`: the old password is checked first, throttled like a login, so that
    /// nobody can keep the hashing pool busy with it.
    pub(super) fn change_password(
        &mut self,
        id: ClientId,
        old: &str,
        new: &str,
        now: Instant,
        sink: &mut impl Sink,
    ) {
        let Some(account) = self.logged_in.get(&id).cloned() else {
            self.error(
                id,
                format_args!("you have no account: /register makes one"),
                sink,
            );
            return;
        };
        if let Err(why) = check_password(new) {
            self.error(id, format_args!("{why}"), sink);
            return;
        }
        if self.refuse_attempt(id, &account, now, sink) {
            return;
        }
        let hash = account.hash.clone();
        let (password, new) = (Secret::new(old), Secret::new(new));
        self.ask(id, Purpose::CheckOldPassword { new }, |ticket| {
            Request::Auth(AuthRequest::Verify {
                ticket,
                password,
                hash,
            })
        });
    }

    /// `/passwd`, the old password checked: if right, the new one is hashed.
    pub(super) fn old_password_checked(
        &mut self,
        id: ClientId,
        new: Secret,
        matches: bool,
        now: Instant,
        sink: &mut impl Sink,
    ) {
        if !matches {
            if let Some(account) = self.logged_in.get(&id) {
                let folded = nick::fold(&account.name);
                self.throttle.failed(&folded, now);
            }
            self.error(
                id,
                format_args!("wrong password; the password is unchanged"),
                sink,
            );
            return;
        }
        self.ask(id, Purpose::HashNewPassword, |ticket| {
            Request::Auth(AuthRequest::Hash {
                ticket,
                password: new,
            })
        });
    }

    /// `/passwd`, the new password hashed: the store keeps the hash.
    pub(super) fn store_password(&mut self, id: ClientId, hash: Box<str>) {
        let Some(account) = self.logged_in.get(&id) else {
            return;
        };
        let name = account.name.clone();
        let stored = hash.clone();
        self.ask(id, Purpose::StorePassword { hash }, |ticket| {
            Request::Store(StoreRequest::SetPassword {
                ticket,
                name,
                hash: stored,
            })
        });
    }

    /// `/passwd`, answered.
    pub(super) fn password_stored(
        &mut self,
        id: ClientId,
        hash: Box<str>,
        stored: bool,
        sink: &mut impl Sink,
    ) {
        match self.logged_in.get_mut(&id) {
            Some(account) if stored => {
                account.hash = hash;
                self.notice(id, format_args!("Your password is changed."), sink);
            }
            _ => self.error(id, format_args!("the password could not be changed"), sink),
        }
    }

    /// `/msg` to a name nobody here has: the store is asked whether an account owns it.
    pub(super) fn message_away(&mut self, id: ClientId, to: &str, text: &str) {
        let (name, to, text) = (to.into(), to.into(), text.into());
        self.ask(id, Purpose::MessageLookUp { to, text }, |ticket| {
            Request::Store(StoreRequest::LookUp { ticket, name })
        });
    }

    /// `/msg` to a name nobody here has, answered: kept for the account, or nobody.
    pub(super) fn message_looked_up(
        &mut self,
        id: ClientId,
        to: &str,
        text: Box<str>,
        account: Option<Account>,
        now: Instant,
        sink: &mut impl Sink,
    ) {
        let (Some(account), Some(sender)) = (account, member_of(&self.clients, id)) else {
            self.error(id, format_args!("nobody here is called {to}"), sink);
            return;
        };
        let message = Offline {
            id: 0,
            unix_ms: self.clock.unix_ms(now),
            from: sender.nick.as_ref().into(),
            text,
        };
        let to = account.name;
        let name = to.clone();
        self.ask(id, Purpose::MessageKept { to }, |ticket| {
            Request::Store(StoreRequest::KeepOffline {
                ticket,
                to: name,
                message,
                limit: OFFLINE_LIMIT,
            })
        });
    }

    /// `/msg` to an account that is away, answered.
    pub(super) fn message_kept(
        &mut self,
        id: ClientId,
        to: &str,
        kept: bool,
        sink: &mut impl Sink,
    ) {
        if kept {
            self.notice(
                id,
                format_args!("{to} is away; they will get your message when they log in"),
                sink,
            );
        } else {
            self.error(
                id,
                format_args!("{to} has {OFFLINE_LIMIT} messages waiting already; try again later"),
                sink,
            );
        }
    }

    /// Asks for the private messages that waited for account `name`, which client `id`
    /// just logged in to.
    pub(super) fn take_offline(&mut self, id: ClientId, name: Box<str>) {
        let account = name.clone();
        self.ask(id, Purpose::Offline { name }, |ticket| {
            Request::Store(StoreRequest::TakeOffline {
                ticket,
                name: account,
            })
        });
    }

    /// The private messages that waited for account `name`: delivered, then forgotten.
    pub(super) fn deliver_offline(
        &mut self,
        id: ClientId,
        name: Box<str>,
        messages: Vec<Offline>,
        sink: &mut impl Sink,
    ) {
        let Some(last) = messages.last().map(|message| message.id) else {
            return;
        };
        let count = messages.len();
        self.notice(
            id,
            format_args!(
                "{count} private message{} came while you were away:",
                plural(count)
            ),
            sink,
        );
        for message in &messages {
            let line = self
                .encoder
                .encode(format_args!("*{}* {}", message.from, message.text));
            sink.send(id, &line);
        }
        self.requests
            .push_back(Request::Store(StoreRequest::DropOffline {
                name,
                up_to: last,
            }));
    }
}

//! The store's command thread: it publishes lines (and appends them to history) in batches,
//! does every other request one by one, beats, and rides out Redis going away.

use std::collections::HashMap;
use std::sync::mpsc::{self, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::{Commands, Connection};

use super::queries::{self, Scripts};
use super::subscriber::Order;
use super::wire::{self, SEP};
use super::{BEAT, CONNECT_TIMEOUT, FIRST_BACKOFF, MOST_BACKOFF};

/// How long the command thread waits for the subscriber to listen to a room before it goes
/// on regardless (Redis is slow or going away).
const WATCH_WAIT: Duration = Duration::from_secs(1);
use crate::protocol::{nick, room};
use crate::protocol::{Completion, Kind, Record, Remote, StoreRequest};
use crate::services::mailbox::Mailbox;
use crate::services::queue::{ByteQueue, Taken};

/// The store's command thread.
pub(super) struct Worker {
    client: redis::Client,
    /// `None` while Redis is out of reach.
    con: Option<Connection>,
    id: Box<str>,
    scripts: Scripts,
    queue: Arc<ByteQueue<StoreRequest>>,
    /// For the subscriber: the rooms to listen to.
    orders: Sender<Order>,
    mailbox: Mailbox,
    /// The nicknames this server's clients hold, and their rooms: claimed again after an
    /// outage.
    claims: HashMap<Box<str>, (Box<str>, Arc<str>)>,
    /// When to try Redis again, while it is out of reach.
    retry_at: Instant,
    backoff: Duration,
    /// Redis is out of reach (the clients were told once).
    failing: bool,
}

impl Worker {
    /// A worker for server `id`, connected through `con`, serving `queue`.
    pub(super) fn new(
        client: redis::Client,
        con: Connection,
        id: Box<str>,
        scripts: Scripts,
        queue: Arc<ByteQueue<StoreRequest>>,
        orders: Sender<Order>,
        mailbox: Mailbox,
    ) -> Self {
        Worker {
            client,
            con: Some(con),
            id,
            scripts,
            queue,
            orders,
            mailbox,
            claims: HashMap::new(),
            retry_at: Instant::now(),
            backoff: FIRST_BACKOFF,
            failing: false,
        }
    }

    /// Serves requests until the queue is closed, then frees this server's nicknames.
    pub(super) fn run(mut self) {
        let mut jobs = Vec::new();
        let mut records = Vec::new();
        let mut next_beat = Instant::now() + BEAT;
        loop {
            let wait = next_beat.saturating_duration_since(Instant::now());
            let taken = self.queue.take_all(&mut jobs, wait);
            for job in jobs.drain(..) {
                match job {
                    StoreRequest::Keep(record) => records.push(record),
                    StoreRequest::Watch(room) => self.watch(&room),
                    StoreRequest::Unwatch(room) => {
                        self.order(Order::Unwatch(room.as_ref().into()));
                    }
                    other => {
                        self.say(&mut records);
                        self.handle(other);
                    }
                }
            }
            self.say(&mut records);
            if taken == Taken::Closed {
                return self.leave();
            }
            if Instant::now() >= next_beat {
                next_beat = Instant::now() + BEAT;
                self.beat();
            }
        }
    }

    /// Has the subscriber listen to `room`, and waits until it does (briefly): only then
    /// is anything published about this server's clients in it (their arrival, their
    /// lines), so whoever answers them is heard.
    fn watch(&mut self, room: &str) {
        let (listening, heard) = mpsc::sync_channel(1);
        self.order(Order::Watch {
            room: room.into(),
            listening,
        });
        if heard.recv_timeout(WATCH_WAIT).is_err() {
            log::debug!("redis subscriber: {room} not confirmed within {WATCH_WAIT:?}");
        }
    }

    /// Tells the subscriber to do `order`, and wakes it (it may be waiting for a message)
    /// by publishing to this server's channel, so that it does it at once.
    fn order(&mut self, order: Order) {
        let wake = !matches!(order, Order::Unwatch(_));
        if self.orders.send(order).is_err() || !wake {
            return;
        }
        let channel = wire::server_channel(&self.id);
        let message = wire::wake(&self.id);
        if let Some(con) = self.con.as_mut() {
            if let Err(e) = con.publish::<_, _, ()>(channel, message) {
                self.failed(&e);
            }
        }
    }

    /// The connection, reconnecting first if it is time to try (and telling the clients
    /// when it is back); `None` while Redis is out of reach.
    fn connection(&mut self) -> Option<&mut Connection> {
        if self.con.is_none() && Instant::now() >= self.retry_at {
            match self.client.get_connection_with_timeout(CONNECT_TIMEOUT) {
                Ok(con) => {
                    self.con = Some(con);
                    self.backoff = FIRST_BACKOFF;
                    if let Err(e) = self.rejoin() {
                        self.lost(&e);
                    }
                }
                Err(_) => {
                    self.retry_at = Instant::now() + self.backoff;
                    self.backoff = (self.backoff * 2).min(MOST_BACKOFF);
                }
            }
        }
        self.con.as_mut()
    }

    /// Redis failed: the clients are told once, and the connection is tried again later.
    fn lost(&mut self, error: &redis::RedisError) {
        self.con = None;
        self.retry_at = Instant::now() + self.backoff;
        if !self.failing {
            self.failing = true;
            log::warn!("lost Redis ({error}); chat goes on here, reconnecting");
            self.mailbox.post_remote(Remote::Lost);
        }
    }

    /// Back in contact: listen again (before anything this server publishes can be
    /// answered), beat, claim every nickname held here again, and tell the chat core who is
    /// elsewhere and which nicknames were lost meanwhile.
    fn rejoin(&mut self) -> redis::RedisResult<()> {
        let (listening, heard) = mpsc::sync_channel(1);
        self.order(Order::Listen { listening });
        if heard.recv_timeout(CONNECT_TIMEOUT).is_err() {
            log::debug!("redis subscriber: not listening again within {CONNECT_TIMEOUT:?}");
        }
        let Some(con) = self.con.as_mut() else {
            return Ok(());
        };
        queries::beat(con, &self.id, &self.scripts)?;
        let mut taken = Vec::new();
        for (folded, (nick, room)) in &self.claims {
            if !queries::claim(con, &self.scripts, &self.id, folded, nick, room)? {
                taken.push(nick.clone());
            }
        }
        for nick in &taken {
            self.claims.remove(&nick::fold(nick));
        }
        let others = queries::others(con, &self.id)?;
        if self.failing {
            self.failing = false;
            log::info!(
                "Redis is back; {} nicknames were lost meanwhile",
                taken.len()
            );
            self.mailbox.post_remote(Remote::Back { others, taken });
        }
        Ok(())
    }

    /// Beats, and frees the nicknames of servers that stopped beating.
    fn beat(&mut self) {
        let (id, scripts) = (self.id.clone(), &self.scripts);
        let result = match self.con.as_mut() {
            Some(con) => queries::beat(con, &id, scripts),
            None => {
                self.connection();
                return;
            }
        };
        if let Err(e) = result {
            self.lost(&e);
        }
    }

    /// Publishes `records` (and appends them to their rooms' history) in one round trip.
    /// Lines said while Redis is out of reach are not queued for later: they were shown
    /// here, and the others never see them.
    fn say(&mut self, records: &mut Vec<Record>) {
        if records.is_empty() || self.connection().is_none() {
            records.clear();
            return;
        }
        let mut invocations = Vec::with_capacity(records.len());
        for record in records.drain(..) {
            let folded = room::fold(&record.room);
            let kind = match record.kind {
                Kind::Chat => 0,
                Kind::Action => 1,
            };
            let mut invocation = self.scripts.say.prepare_invoke();
            invocation
                .key(wire::history_stream(&folded))
                .arg(wire::HISTORY_LENGTH)
                .arg(wire::room_channel(&folded))
                .arg(wire::said(&self.id, &record))
                .arg(record.unix_ms)
                .arg(&*record.nick)
                .arg(kind)
                .arg(&*record.text)
                .arg(&*record.room);
            invocations.push(invocation);
        }
        let Some(con) = self.con.as_mut() else {
            return;
        };
        let mut pipe = redis::pipe();
        for invocation in &invocations {
            pipe.invoke_script(invocation);
        }
        let mut result = pipe.query::<()>(con);
        if result.as_ref().is_err_and(is_no_script) {
            result = self
                .scripts
                .say
                .load(con)
                .and_then(|_| pipe.query::<()>(con));
        }
        if let Err(e) = result {
            self.failed(&e);
        }
    }

    /// A request failed with `error`: if the connection is gone, Redis is lost; otherwise
    /// only the request failed.
    fn failed(&mut self, error: &redis::RedisError) {
        if error.is_io_error() || error.is_connection_dropped() || error.is_timeout() {
            self.lost(error);
        } else {
            log::warn!("a Redis request failed: {error}");
        }
    }

    /// Does one request other than publishing a line, and answers it if someone waits.
    fn handle(&mut self, request: StoreRequest) {
        let ticket = request.ticket();
        if self.connection().is_none() {
            if let Some(ticket) = ticket {
                self.mailbox.post(Completion::Failed {
                    ticket,
                    reason: "the other servers are out of reach; try again in a moment".into(),
                });
            }
            return;
        }
        match self.perform(request) {
            Ok(Some(completion)) => self.mailbox.post(completion),
            Ok(None) => {}
            Err(e) => {
                if let Some(ticket) = ticket {
                    self.mailbox.post(Completion::Failed {
                        ticket,
                        reason: "the shared store could not be read or written".into(),
                    });
                }
                self.failed(&e);
            }
        }
    }

    /// Does `request` on Redis; the answer, if it has one.
    fn perform(&mut self, request: StoreRequest) -> redis::RedisResult<Option<Completion>> {
        let id = self.id.clone();
        let Some(con) = self.con.as_mut() else {
            return Ok(None);
        };
        let scripts = &self.scripts;
        Ok(Some(match request {
            StoreRequest::Keep(_) | StoreRequest::Watch(_) | StoreRequest::Unwatch(_) => {
                return Ok(None);
            }
            StoreRequest::History {
                ticket,
                room,
                limit,
            } => Completion::History {
                ticket,
                records: queries::history(con, &room, limit)?,
            },
            StoreRequest::Claim { ticket, name, room } => {
                let folded = nick::fold(&name);
                let claimed = queries::claim(con, scripts, &id, &folded, &name, &room)?;
                let account = if claimed {
                    self.claims.insert(folded.clone(), (name, room));
                    queries::account(con, &folded)?
                } else {
                    None
                };
                Completion::Claimed {
                    ticket,
                    taken: !claimed,
                    account,
                }
            }
            StoreRequest::Release { name } => {
                let folded = nick::fold(&name);
                scripts
                    .release
                    .key(wire::NICKS)
                    .key(wire::server_nicks(&id))
                    .arg(&*folded)
                    .arg(&*id)
                    .arg(wire::PRESENCE)
                    .arg(wire::gone(&id, &name))
                    .invoke::<()>(con)?;
                self.claims.remove(&folded);
                return Ok(None);
            }
            StoreRequest::Moved { name, room } => {
                let folded = nick::fold(&name);
                redis::pipe()
                    .atomic()
                    .hset(wire::NICKS, &*folded, wire::holder(&id, &name, &room))
                    .sadd(wire::server_nicks(&id), &*folded)
                    .publish(wire::PRESENCE, wire::arrived(&id, &name, &room))
                    .query::<()>(con)?;
                self.claims.insert(folded, (name, room));
                return Ok(None);
            }
            StoreRequest::Announce { room, text } => {
                let channel = wire::room_channel(&room::fold(&room));
                con.publish::<_, _, ()>(channel, wire::notice(&id, &room, &text))?;
                return Ok(None);
            }
            StoreRequest::Direct { to, from, text } => {
                if let Some(owner) = queries::owner(con, &to)? {
                    let message = wire::private(&id, &to, &from, &text);
                    con.publish::<_, _, ()>(wire::server_channel(&owner), message)?;
                }
                return Ok(None);
            }
            StoreRequest::Kick { nick, by, reason } => {
                if let Some(owner) = queries::owner(con, &nick)? {
                    let message = wire::kick(&id, &nick, &by, reason.as_deref());
                    con.publish::<_, _, ()>(wire::server_channel(&owner), message)?;
                }
                return Ok(None);
            }
            StoreRequest::LookUp { ticket, name } => Completion::Account {
                ticket,
                account: queries::account(con, &nick::fold(&name))?,
            },
            StoreRequest::Register { ticket, name, hash } => Completion::Done {
                ticket,
                done: con.hset_nx(
                    wire::ACCOUNTS,
                    &*nick::fold(&name),
                    format!("{name}{SEP}{hash}"),
                )?,
            },
            StoreRequest::SetPassword { ticket, name, hash } => {
                let folded = nick::fold(&name);
                let exists: bool = con.hexists(wire::ACCOUNTS, &*folded)?;
                if exists {
                    con.hset::<_, _, _, ()>(
                        wire::ACCOUNTS,
                        &*folded,
                        format!("{name}{SEP}{hash}"),
                    )?;
                }
                Completion::Done {
                    ticket,
                    done: exists,
                }
            }
            StoreRequest::KeepOffline {
                ticket,
                to,
                message,
                limit,
            } => Completion::Done {
                ticket,
                done: scripts
                    .keep_offline
                    .key(wire::offline_list(&nick::fold(&to)))
                    .key(wire::OFFLINE_SEQUENCE)
                    .arg(limit)
                    .arg(message.unix_ms)
                    .arg(&*message.from)
                    .arg(&*message.text)
                    .invoke(con)?,
            },
            StoreRequest::TakeOffline { ticket, name } => {
                let entries: Vec<String> =
                    con.lrange(wire::offline_list(&nick::fold(&name)), 0, -1)?;
                Completion::Offline {
                    ticket,
                    messages: entries
                        .iter()
                        .filter_map(|entry| queries::read_offline(entry))
                        .collect(),
                }
            }
            StoreRequest::DropOffline { name, up_to } => {
                scripts
                    .drop_offline
                    .key(wire::offline_list(&nick::fold(&name)))
                    .arg(up_to)
                    .invoke::<()>(con)?;
                return Ok(None);
            }
            StoreRequest::Ban(ban) => {
                redis::pipe()
                    .hset(wire::BANS, &*ban.name, wire::ban_value(&ban))
                    .publish(wire::SANCTIONS, wire::banned(&id, &ban))
                    .query::<()>(con)?;
                return Ok(None);
            }
            StoreRequest::Unban(name) => {
                redis::pipe()
                    .hdel(wire::BANS, &*name)
                    .publish(wire::SANCTIONS, wire::unbanned(&id, &name))
                    .query::<()>(con)?;
                return Ok(None);
            }
            StoreRequest::Mute(mute) => {
                redis::pipe()
                    .hset(wire::MUTES, &*mute.name, wire::until_value(mute.until))
                    .publish(wire::SANCTIONS, wire::muted(&id, &mute))
                    .query::<()>(con)?;
                return Ok(None);
            }
            StoreRequest::Unmute(name) => {
                redis::pipe()
                    .hdel(wire::MUTES, &*name)
                    .publish(wire::SANCTIONS, wire::unmuted(&id, &name))
                    .query::<()>(con)?;
                return Ok(None);
            }
        }))
    }

    /// Stopping: publishes what is left, then frees this server's nicknames at once, so the
    /// others see its clients leave now rather than when its heartbeat is missed.
    fn leave(&mut self) {
        self.order(Order::Stop);
        let id = self.id.clone();
        let Some(con) = self.con.as_mut() else {
            return;
        };
        let freed = self
            .scripts
            .reap
            .key(wire::SERVERS)
            .key(wire::NICKS)
            .arg(0)
            .arg(wire::PRESENCE)
            .arg(&*id)
            .invoke::<i64>(con);
        if let Err(e) = freed {
            log::warn!("could not free this server's nicknames in Redis: {e}");
        }
    }
}

/// Whether `error` says Redis has not got a script (it restarted since the script was
/// loaded, or its scripts were flushed).
fn is_no_script(error: &redis::RedisError) -> bool {
    error.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript)
}

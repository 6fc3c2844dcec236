//! The sync session in cluster mode: sharded pub/sub through RESP3 pushes.
//!
//! The channel `{prefix}:revocations` lives on the shard that owns the prefix's slot; every
//! replica subscribes there (`SSUBSCRIBE`) whatever seed node it was given, and every write
//! publishes there (`SPUBLISH`), so each message reaches every replica.
//!
//! The staleness proof differs from a single node's: pushes reach this task through the
//! `redis` crate's forwarding task, so a `PING` answer may overtake messages received before
//! it. Instead each replica publishes its own ping message (`["ping", nonce, n]`) on the channel:
//! Redis delivers a channel's messages in order, so once this replica reads its own ping back,
//! it has read everything published before it.
//!
//! A disconnection (the `redis` crate's `Disconnection` push, also after a failover) or a
//! `sunsubscribe` push (the slot moved to another shard) ends the session: the outer loop
//! connects again, subscribes again, and reloads in full, as after any reconnect.

use std::time::Instant;

use ::redis::cluster::ClusterClient;
use ::redis::{PushInfo, PushKind, Value};
use tokio::sync::mpsc::UnboundedReceiver;

use super::{CONNECT_TIMEOUT, RESPONSE_TIMEOUT, Store, SyncError, timed};
use crate::revocation::{unix_now, wire};

/// What a push means for the session.
enum Push<'a> {
    Message(&'a [u8]),
    /// Not for this session (a subscription confirmation, another channel).
    Ignored,
    /// The session must end: connect, subscribe and load again.
    Lost(&'static str),
}

fn classify<'a>(push: &'a PushInfo, channel: &str) -> Push<'a> {
    match push.kind {
        PushKind::SMessage => match push.data.as_slice() {
            [Value::BulkString(name), Value::BulkString(payload)]
                if name.as_slice() == channel.as_bytes() =>
            {
                Push::Message(payload)
            }
            _ => Push::Ignored,
        },
        PushKind::Disconnection => Push::Lost("disconnected"),
        PushKind::SUnsubscribe => Push::Lost("unsubscribed (the slot moved)"),
        _ => Push::Ignored,
    }
}

impl Store {
    /// One subscription's life in cluster mode. `Ok` only when the list was dropped.
    pub(super) async fn cluster_session(
        &self,
        subscriber: &ClusterClient,
        pushes: &mut UnboundedReceiver<PushInfo>,
        synced: &mut bool,
    ) -> Result<(), SyncError> {
        // Left over from the previous connection.
        while pushes.try_recv().is_ok() {}
        let mut sub = timed(
            CONNECT_TIMEOUT,
            "connect",
            subscriber.get_async_connection(),
        )
        .await?;
        // Subscribed before loading: nothing published during the load is missed.
        timed(RESPONSE_TIMEOUT, "subscribe", sub.ssubscribe(&self.channel)).await?;
        let mut con = self.connection().await?;
        let complete_as_of = Instant::now();
        if !self.initial_sync(&mut con, complete_as_of).await? {
            return Ok(());
        }
        *synced = true;
        let mut pings = 0u64;
        loop {
            // Until the next ping is due: apply messages as they come.
            let due = tokio::time::Instant::now() + self.ping_interval;
            while let Ok(push) = tokio::time::timeout_at(due, pushes.recv()).await {
                let Some(push) = push else {
                    return Err(SyncError::Closed);
                };
                let Some(list) = self.list() else {
                    return Ok(());
                };
                match classify(&push, &self.channel) {
                    Push::Message(payload) if wire::decode_ping(payload).is_none() => {
                        self.apply(&list, payload)
                    }
                    Push::Lost(why) => return Err(SyncError::Lost(why)),
                    _ => {}
                }
            }
            let Some(list) = self.list() else {
                return Ok(());
            };
            pings += 1;
            let ping = wire::ping(&self.nonce, pings);
            let sent = Instant::now();
            timed(
                RESPONSE_TIMEOUT,
                "ping",
                ::redis::cmd("SPUBLISH")
                    .arg(&self.channel)
                    .arg(&ping)
                    .query_async::<()>(&mut con),
            )
            .await?;
            // Everything published before the ping comes before it.
            let deadline = tokio::time::Instant::from_std(sent + RESPONSE_TIMEOUT);
            loop {
                let push = match tokio::time::timeout_at(deadline, pushes.recv()).await {
                    Ok(Some(push)) => push,
                    Ok(None) => return Err(SyncError::Closed),
                    Err(_) => return Err(SyncError::Timeout("ping")),
                };
                match classify(&push, &self.channel) {
                    Push::Message(payload) => match wire::decode_ping(payload) {
                        Some((nonce, n)) if nonce == self.nonce && n == pings => break,
                        Some(_) => {}
                        None => self.apply(&list, payload),
                    },
                    Push::Lost(why) => return Err(SyncError::Lost(why)),
                    Push::Ignored => {}
                }
            }
            self.mark_synced(&list, sent);
            list.prune(unix_now());
            self.repair_loss(&list, &mut con).await?;
        }
    }
}

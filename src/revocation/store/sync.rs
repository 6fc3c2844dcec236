//! The background synchronisation of a replica's mirror with the shared store.
//!
//! Each replica runs one background task: subscribe, write back what it holds (Redis may have
//! restarted empty), load the set in full, then apply messages as they come and `PING` on the
//! subscription. A pong arrives after every message published before the ping, so each pong
//! proves the mirror complete as of the ping: that instant is the mirror's age. A second task
//! turns that age into the flag the per-request check reads, so a request pays one atomic load.
//!
//! Redis can lose data while every connection stays up (`FLUSHALL`, eviction, a failover to a
//! replica that missed writes). With each ping the task also compares the store's count of
//! entries with the mirror's (`ZCOUNT`): a store holding fewer than the mirror, once the
//! revocations this replica is still writing are accounted for, lost some, and the mirror is
//! written back. Loss is thus repaired within one ping interval (`max_staleness / 4`).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use ::redis::Client;
use futures_util::{FutureExt, StreamExt};

use super::connect::{Backend, Con};
use super::{
    CONNECT_TIMEOUT, COUNT_SKEW, DOWN, LOAD_PAGE, MAX_BACKOFF, MIN_BACKOFF, RESPONSE_TIMEOUT,
    Store, SyncError, UP, WRITE_BACK_CHUNK, timed,
};
use crate::revocation::{OnStoreUnavailable, Revocations, unix_now, wire};

impl Store {
    /// Reconnects forever (with a capped backoff) until the list is dropped.
    pub(super) async fn sync(self: Arc<Self>) {
        let mut backoff = MIN_BACKOFF;
        let mut pushes = match &self.backend {
            Backend::Cluster(cluster) => cluster
                .pushes
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .take(),
            Backend::Single { .. } => None,
        };
        loop {
            let mut synced = false;
            let outcome = match (&self.backend, pushes.as_mut()) {
                (Backend::Single { client, .. }, _) => self.session(client, &mut synced).await,
                (Backend::Cluster(cluster), Some(pushes)) => {
                    self.cluster_session(&cluster.subscriber, pushes, &mut synced)
                        .await
                }
                // Taken by an earlier sync task of this store: there is only one.
                (Backend::Cluster(_), None) => return,
            };
            match outcome {
                Ok(()) => return,
                Err(err) => {
                    self.backend.forget().await;
                    self.mark_down(&err);
                }
            }
            if self.list.strong_count() == 0 {
                return;
            }
            if synced {
                backoff = MIN_BACKOFF;
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// Once subscribed: writes back, loads in full, and marks the mirror complete as of the
    /// subscription. `Ok(false)` when the list was dropped.
    pub(super) async fn initial_sync(
        &self,
        con: &mut Con,
        complete_as_of: Instant,
    ) -> Result<bool, SyncError> {
        let Some(list) = self.list() else {
            return Ok(false);
        };
        self.write_back(&list, con).await?;
        self.load(&list, con).await?;
        self.mark_synced(&list, complete_as_of);
        Ok(true)
    }

    /// One connection's life (a single node). `Ok` only when the list was dropped.
    async fn session(&self, client: &Client, synced: &mut bool) -> Result<(), SyncError> {
        let pubsub = timed(CONNECT_TIMEOUT, "connect", client.get_async_pubsub()).await?;
        let (mut sink, mut stream) = pubsub.split();
        // Subscribed before loading: nothing published during the load is missed.
        timed(RESPONSE_TIMEOUT, "subscribe", sink.subscribe(&self.channel)).await?;
        let mut con = self.connection().await?;
        let complete_as_of = Instant::now();
        if !self.initial_sync(&mut con, complete_as_of).await? {
            return Ok(());
        }
        *synced = true;
        let mut next_ping = complete_as_of + self.ping_interval;
        loop {
            let deadline = tokio::time::Instant::from_std(next_ping);
            match tokio::time::timeout_at(deadline, stream.next()).await {
                Ok(Some(msg)) => match self.list() {
                    Some(list) => self.apply(&list, msg.get_payload_bytes()),
                    None => return Ok(()),
                },
                Ok(None) => return Err(SyncError::Closed),
                Err(_) => {
                    let Some(list) = self.list() else {
                        return Ok(());
                    };
                    let sent = Instant::now();
                    timed(RESPONSE_TIMEOUT, "ping", sink.ping::<()>()).await?;
                    // Messages published before the ping are queued by now.
                    while let Some(Some(msg)) = stream.next().now_or_never() {
                        self.apply(&list, msg.get_payload_bytes());
                    }
                    self.mark_synced(&list, sent);
                    list.prune(unix_now());
                    self.repair_loss(&list, &mut con).await?;
                    next_ping = sent + self.ping_interval;
                }
            }
        }
    }

    pub(super) fn apply(&self, list: &Revocations, payload: &[u8]) {
        if let Some(tenant) = wire::decode_tenant(payload) {
            list.tenant_revoked(&tenant);
            return;
        }
        let now = unix_now();
        match wire::decode_message(payload, now) {
            Ok(entry) => {
                list.merge([entry], now);
            }
            Err(reason) => tracing::warn!(
                target: "cognito_authz::revocation",
                reason,
                "skipping a malformed revocation message",
            ),
        }
    }

    /// Loads the whole set into the mirror (which only ever grows: an entry missing from the
    /// store is not removed here), page by page in score order.
    ///
    /// Other replicas prune and re-score (`ZADD GT`) meanwhile, so an offset would skip
    /// entries that slid down. Instead each page starts after the last whole second read: a
    /// page ending at second `s` keeps only its entries before `s`, then every entry at `s` is
    /// read in one call, and the next page starts after `s`. An entry present throughout the
    /// load is therefore read; one added or moved later during it comes by pub/sub.
    async fn load(&self, list: &Revocations, con: &mut Con) -> Result<(), SyncError> {
        let now = unix_now();
        let mut from = self.oldest_kept(now).to_string();
        let (mut skipped, mut first_reason) = (0usize, "");
        let mut decode = |page: Vec<(Vec<u8>, f64)>| -> Vec<_> {
            page.into_iter()
                .filter_map(
                    |(member, score)| match wire::decode_member(&member, score, now) {
                        Ok(entry) => Some(entry),
                        Err(reason) => {
                            skipped += 1;
                            first_reason = reason;
                            None
                        }
                    },
                )
                .collect()
        };
        loop {
            let mut page: Vec<(Vec<u8>, f64)> = timed(
                RESPONSE_TIMEOUT,
                "load",
                ::redis::cmd("ZRANGE")
                    .arg(&self.key)
                    .arg(&from)
                    .arg("+inf")
                    .arg("BYSCORE")
                    .arg("LIMIT")
                    .arg(0)
                    .arg(LOAD_PAGE)
                    .arg("WITHSCORES")
                    .query_async(con),
            )
            .await?;
            let full = page.len() >= LOAD_PAGE;
            let last = page.last().map(|(_, score)| *score);
            let (Some(last), true) = (last, full) else {
                list.merge(decode(page), now);
                break;
            };
            // `Display` of an f64 is the shortest text that parses back to it, as Redis does.
            let second = last.to_string();
            page.retain(|(_, score)| *score < last);
            list.merge(decode(page), now);
            let group: Vec<(Vec<u8>, f64)> = timed(
                RESPONSE_TIMEOUT,
                "load",
                ::redis::cmd("ZRANGE")
                    .arg(&self.key)
                    .arg(&second)
                    .arg(&second)
                    .arg("BYSCORE")
                    .arg("WITHSCORES")
                    .query_async(con),
            )
            .await?;
            list.merge(decode(group), now);
            from = format!("({second}");
        }
        if skipped > 0 {
            tracing::warn!(
                target: "cognito_authz::revocation",
                skipped,
                reason = first_reason,
                "skipped malformed entries of the revocation store",
            );
        }
        Ok(())
    }

    /// Writes the mirror back if the store holds fewer entries than the mirror (see the module
    /// documentation). Counted from a little after the oldest kept second, so that pruning by
    /// a replica whose clock runs ahead is not taken for a loss.
    pub(super) async fn repair_loss(
        &self,
        list: &Revocations,
        con: &mut Con,
    ) -> Result<(), SyncError> {
        let since = self.oldest_kept(unix_now()) + COUNT_SKEW;
        // In this order: an entry the mirror holds that is neither in flight nor in the store
        // when counted was lost (messages only bring entries the store already has).
        let held = list.count_since(since);
        if held == 0 {
            return Ok(());
        }
        let in_flight = list.in_flight();
        let stored: usize = timed(
            RESPONSE_TIMEOUT,
            "count",
            ::redis::cmd("ZCOUNT")
                .arg(&self.key)
                .arg(since)
                .arg("+inf")
                .query_async(con),
        )
        .await?;
        if stored + in_flight >= held {
            return Ok(());
        }
        tracing::warn!(
            target: "cognito_authz::revocation",
            store = %self.target,
            held,
            stored,
            "the revocation store lost entries without a disconnect (flushed, evicted, or failed \
             over to a replica that missed writes); writing them back",
        );
        self.write_back(list, con).await
    }

    /// Writes every entry held here back to the store (which keeps the later time of each), and
    /// announces those it did not have: after Redis restarted empty, or revocations recorded
    /// here while it was down, nothing is lost as long as one replica holds it.
    async fn write_back(&self, list: &Revocations, con: &mut Con) -> Result<(), SyncError> {
        // A TTL left by an older version of this crate would make the set evictable.
        timed(
            RESPONSE_TIMEOUT,
            "write back",
            ::redis::cmd("PERSIST")
                .arg(&self.key)
                .query_async::<()>(con),
        )
        .await?;
        let mut announced = 0;
        let mut after = None;
        let oldest_kept = self.oldest_kept(unix_now());
        // A page at a time: the mirror's lock is held for one page only.
        while let Some((mut chunk, last)) = list.entries_page(after, WRITE_BACK_CHUNK) {
            after = Some(last);
            chunk.retain(|entry| entry.at >= oldest_kept);
            if chunk.is_empty() {
                continue;
            }
            let mut add = ::redis::pipe();
            for entry in &chunk {
                add.cmd("ZADD")
                    .arg(&self.key)
                    .arg("GT")
                    .arg("CH")
                    .arg(entry.at)
                    .arg(wire::member(entry));
            }
            let changed: Vec<i64> =
                timed(RESPONSE_TIMEOUT, "write back", add.query_async(con)).await?;
            let mut announce = ::redis::pipe();
            let before = announced;
            for (entry, _) in chunk.iter().zip(&changed).filter(|(_, c)| **c > 0) {
                announce
                    .cmd(self.publish())
                    .arg(&self.channel)
                    .arg(wire::message(entry))
                    .ignore();
                announced += 1;
            }
            if announced == before {
                continue;
            }
            timed(
                RESPONSE_TIMEOUT,
                "write back",
                announce.query_async::<()>(con),
            )
            .await?;
        }
        if announced > 0 {
            tracing::info!(
                target: "cognito_authz::revocation",
                store = %self.target,
                written_back = announced,
                "the revocation store lacked entries held here; wrote them back",
            );
        }
        Ok(())
    }

    pub(super) fn mark_synced(&self, list: &Revocations, complete_as_of: Instant) {
        let ms = complete_as_of
            .saturating_duration_since(self.epoch)
            .as_millis() as u64
            + 1;
        self.synced_at.fetch_max(ms, Ordering::AcqRel);
        if self.health.swap(UP, Ordering::AcqRel) != UP {
            tracing::info!(
                target: "cognito_authz::revocation",
                store = %self.target,
                revocations = list.len(),
                "revocation store loaded; following its changes",
            );
            #[cfg(feature = "metrics")]
            metrics::gauge!("cognito_authz_revocation_store_up").set(1.0);
        }
        // The flag first: whoever `loaded` wakes must find requests served already.
        self.refresh(list);
        self.loaded
            .send_if_modified(|loaded| !std::mem::replace(loaded, true));
    }

    /// Logs the outage, and each new reason while it lasts (a TLS failure after a restart
    /// must be seen, not hidden behind the first "connection closed").
    fn mark_down(&self, err: &SyncError) {
        let mut reason = err.to_string();
        // A TLS-only server resets a plaintext connection: say so, as long as this store never
        // answered (one that worked before did not turn to TLS).
        if self.target.starts_with("redis://")
            && self.synced_at.load(Ordering::Acquire) == 0
            && matches!(err, SyncError::Redis(e) if e.is_io_error() || e.is_connection_dropped())
        {
            reason.push_str(" (if the server requires TLS, use a rediss:// URL)");
        }
        let was_down = self.health.swap(DOWN, Ordering::AcqRel) == DOWN;
        {
            let mut last = self
                .last_error
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if was_down && *last == reason {
                return;
            }
            last.clone_from(&reason);
        }
        tracing::warn!(
            target: "cognito_authz::revocation",
            store = %self.target,
            error = %reason,
            policy = ?self.policy,
            max_staleness_seconds = self.max_staleness.as_secs_f64(),
            "revocation store unavailable; reconnecting",
        );
        #[cfg(feature = "metrics")]
        if !was_down {
            metrics::gauge!("cognito_authz_revocation_store_up").set(0.0);
        }
    }

    /// Time since the mirror was last known complete; `None` before the first full load.
    fn mirror_age(&self) -> Option<Duration> {
        let synced = self.synced_at.load(Ordering::Acquire).checked_sub(1)?;
        let now = Instant::now().saturating_duration_since(self.epoch);
        Some(now.saturating_sub(Duration::from_millis(synced)))
    }

    /// Sets the flag the per-request check reads.
    fn refresh(&self, list: &Revocations) {
        // The sync task and the watcher both update the flag: one at a time, each from an age
        // read under the lock, so that the watcher's older reading ("never loaded") cannot land
        // after the first load's "served" and refuse requests until its next tick.
        let _one_writer = self
            .refresh_lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let age = self.mirror_age();
        #[cfg(feature = "metrics")]
        if let Some(age) = age {
            metrics::gauge!("cognito_authz_revocation_mirror_age_seconds").set(age.as_secs_f64());
        }
        let unavailable = match (age, self.policy) {
            // Never loaded: there is no last known state to serve.
            (None, _) => true,
            (Some(age), OnStoreUnavailable::Refuse) => age > self.max_staleness,
            (Some(_), _) => false,
        };
        let was = list.set_unavailable(unavailable);
        if unavailable && !was {
            tracing::error!(
                target: "cognito_authz::revocation",
                store = %self.target,
                "revocation mirror older than max_staleness; refusing requests (503) until the store is back",
            );
        } else if was && !unavailable && age.is_some() {
            tracing::info!(target: "cognito_authz::revocation", "revocation mirror current; serving requests");
        }
    }

    /// Keeps the flag current while the session task is stuck waiting on Redis.
    pub(super) async fn watch(self: Arc<Self>) {
        let tick =
            (self.max_staleness / 8).clamp(Duration::from_millis(10), Duration::from_millis(250));
        loop {
            tokio::time::sleep(tick).await;
            let Some(list) = self.list() else {
                return;
            };
            self.refresh(&list);
        }
    }
}

//! How revocations are written in Redis: sorted-set members and pub/sub messages.
//!
//! Tenant ids, `sub`s and `origin_jti`s may hold any character, so they are never joined with
//! a separator: a member is the JSON array `["u", tenant, sub]` (or `"s"` for a session) and a
//! message is `["u", tenant, sub, unix_seconds]`. JSON escaping makes both unambiguous. Data
//! that does not decode is skipped with a reason (never the data itself) in the log.

use super::{Entry, Kind};

/// Longest tenant id or user/session id accepted from the store: Cognito's `sub` is 36
/// characters and `origin_jti` about the same; anything far longer is not ours.
const MAX_FIELD_BYTES: usize = 1024;

fn kind_tag(kind: Kind) -> &'static str {
    match kind {
        Kind::User => "u",
        Kind::Session => "s",
    }
}

/// The sorted-set member of `entry` (its score is `entry.at`).
pub(super) fn member(entry: &Entry) -> String {
    serde_json::json!([kind_tag(entry.kind), entry.tenant, entry.id]).to_string()
}

/// The pub/sub message announcing `entry`.
pub(super) fn message(entry: &Entry) -> String {
    serde_json::json!([kind_tag(entry.kind), entry.tenant, entry.id, entry.at]).to_string()
}

/// A replica's sync ping on the channel (cluster mode): `["ping", nonce, n]`. Not a
/// revocation: every replica skips the others' pings silently.
pub(super) fn ping(nonce: &str, n: u64) -> String {
    serde_json::json!(["ping", nonce, n]).to_string()
}

/// The nonce and number of a sync ping; `None` for anything else.
pub(super) fn decode_ping(payload: &[u8]) -> Option<(String, u64)> {
    if !payload.starts_with(b"[\"ping\"") {
        return None;
    }
    let (tag, nonce, n): (String, String, u64) = serde_json::from_slice(payload).ok()?;
    (tag == "ping").then_some((nonce, n))
}

/// The message announcing that `tenant` was revoked (offboarded): `["t", tenant]`.
pub(super) fn tenant_message(tenant: &str) -> String {
    serde_json::json!(["t", tenant]).to_string()
}

/// The tenant of a tenant message; `None` for anything else.
pub(super) fn decode_tenant(payload: &[u8]) -> Option<String> {
    if !payload.starts_with(b"[\"t\"") {
        return None;
    }
    let (tag, tenant): (String, String) = serde_json::from_slice(payload).ok()?;
    (tag == "t" && !tenant.is_empty() && tenant.len() <= MAX_FIELD_BYTES).then_some(tenant)
}

/// A member read back with its score. A revocation time ahead of `now` (this replica's clock)
/// is clamped to `now`: dropping it would un-revoke the user on this replica, and keeping it
/// would also refuse sign-ins that happen after it.
pub(super) fn decode_member(member: &[u8], score: f64, now: u64) -> Result<Entry, &'static str> {
    let (kind, tenant, id): (String, String, String) =
        serde_json::from_slice(member).map_err(|_| "member is not a [kind, tenant, id] array")?;
    if !(score.is_finite() && score >= 0.0) {
        return Err("score is not a time");
    }
    // Scores are written as whole seconds; `as` saturates, and the bound below catches it.
    entry(&kind, tenant, id, score as u64, now)
}

/// A pub/sub message.
pub(super) fn decode_message(payload: &[u8], now: u64) -> Result<Entry, &'static str> {
    let (kind, tenant, id, at): (String, String, String, u64) = serde_json::from_slice(payload)
        .map_err(|_| "message is not a [kind, tenant, id, time] array")?;
    entry(&kind, tenant, id, at, now)
}

fn entry(kind: &str, tenant: String, id: String, at: u64, now: u64) -> Result<Entry, &'static str> {
    let kind = match kind {
        "u" => Kind::User,
        "s" => Kind::Session,
        _ => return Err("unknown kind"),
    };
    if tenant.is_empty() || id.is_empty() {
        return Err("empty tenant or id");
    }
    if tenant.len() > MAX_FIELD_BYTES || id.len() > MAX_FIELD_BYTES {
        return Err("tenant or id too long");
    }
    Ok(Entry {
        kind,
        tenant,
        id,
        at: at.min(now),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(kind: Kind, tenant: &str, id: &str, at: u64) -> Entry {
        Entry {
            kind,
            tenant: tenant.to_owned(),
            id: id.to_owned(),
            at,
        }
    }

    #[test]
    fn any_characters_round_trip_and_stay_unambiguous() {
        let now = 1_800_000_000;
        let tricky = [
            e(Kind::User, "a:b", "c", now),
            e(Kind::User, "a", "b:c", now),
            e(Kind::Session, "t\",\"x", "]\n\u{0}é🦀", now - 5),
            e(Kind::User, "[\"u\"", "\\", 0),
        ];
        let members: Vec<String> = tricky.iter().map(member).collect();
        // Different (kind, tenant, id) never share a member.
        assert_ne!(members[0], members[1]);
        for (entry, member) in tricky.iter().zip(&members) {
            assert_eq!(
                decode_member(member.as_bytes(), entry.at as f64, now).as_ref(),
                Ok(entry)
            );
            assert_eq!(
                decode_message(message(entry).as_bytes(), now).as_ref(),
                Ok(entry)
            );
        }
    }

    #[test]
    fn malformed_store_data_is_refused_with_a_reason() {
        let now = 1_800_000_000;
        let cases: [(&[u8], f64); 9] = [
            (b"", 1.0),
            (b"u:acme:sub", 1.0),
            (b"[\"u\",\"acme\"]", 1.0),
            (b"[\"x\",\"acme\",\"sub\"]", 1.0),
            (b"[\"u\",\"\",\"sub\"]", 1.0),
            (b"[\"u\",\"acme\",\"sub\"]", f64::NAN),
            (b"[\"u\",\"acme\",\"sub\"]", -1.0),
            (b"[\"u\",\"acme\",\"sub\"]", f64::INFINITY),
            (b"\xff\xfe", 1.0),
        ];
        for (member, score) in cases {
            assert!(
                decode_member(member, score, now).is_err(),
                "{member:?} {score}"
            );
        }
        let long = "x".repeat(MAX_FIELD_BYTES + 1);
        let m = serde_json::json!(["u", "acme", long]).to_string();
        assert_eq!(
            decode_member(m.as_bytes(), 1.0, now),
            Err("tenant or id too long")
        );
        for bad in [
            "[\"u\",\"acme\",\"sub\"]",
            "[\"u\",\"acme\",\"sub\",-1]",
            "[\"u\",\"acme\",\"sub\",\"1\"]",
            "{\"kind\":\"u\"}",
        ] {
            assert!(decode_message(bad.as_bytes(), now).is_err(), "{bad}");
        }
    }

    #[test]
    fn tenant_messages_round_trip_and_are_not_revocations() {
        let m = tenant_message("a\"c]me");
        assert_eq!(decode_tenant(m.as_bytes()), Some("a\"c]me".to_owned()));
        assert!(decode_message(m.as_bytes(), 1).is_err());
        assert_eq!(decode_tenant(br#"["t",""]"#), None);
        assert_eq!(
            decode_tenant(message(&e(Kind::User, "t", "x", 1)).as_bytes()),
            None
        );
    }

    #[test]
    fn pings_are_told_from_revocations() {
        let p = ping("00ff", 7);
        assert_eq!(decode_ping(p.as_bytes()), Some(("00ff".to_owned(), 7)));
        let now = 1_800_000_000;
        assert!(decode_message(p.as_bytes(), now).is_err());
        let revocation = message(&e(Kind::User, "ping", "x", now));
        assert_eq!(decode_ping(revocation.as_bytes()), None);
    }

    #[test]
    fn a_time_ahead_of_this_clock_is_clamped_and_applied_never_dropped() {
        let now = 1_800_000_000;
        for ahead in [1, 301, 10_000_000] {
            let future = e(Kind::User, "acme", "sub", now + ahead);
            let clamped = e(Kind::User, "acme", "sub", now);
            assert_eq!(
                decode_message(message(&future).as_bytes(), now),
                Ok(clamped.clone())
            );
            assert_eq!(
                decode_member(member(&future).as_bytes(), future.at as f64, now),
                Ok(clamped)
            );
        }
    }
}

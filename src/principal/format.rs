//! How a principal is written out: its JSON (`Serialize`) and its `Debug` form.

use std::fmt;

use serde::Serialize;

use super::Principal;

impl Serialize for Principal {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("Principal", 12)?;
        s.serialize_field("tenant", self.tenant())?;
        s.serialize_field("kind", &self.kind())?;
        s.serialize_field("subject", self.subject())?;
        s.serialize_field("username", &self.username_if_user())?;
        s.serialize_field("client_id", self.client_id())?;
        s.serialize_field("token_use", &self.token_use())?;
        s.serialize_field("roles", &Seq(|| self.roles()))?;
        s.serialize_field("groups", &Seq(|| self.groups()))?;
        s.serialize_field("scopes", &Seq(|| self.scopes()))?;
        s.serialize_field("expires_at", &self.expires_at())?;
        s.serialize_field("jti", &self.jti())?;
        s.serialize_field("origin_jti", &self.origin_jti())?;
        s.end()
    }
}

/// Serializes an iterator of strings as a JSON array without collecting it first.
struct Seq<F>(F);

impl<'a, F, I> Serialize for Seq<F>
where
    F: Fn() -> I,
    I: Iterator<Item = &'a str>,
{
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq((self.0)())
    }
}

// Debug shows who, never token material (there is none stored) nor the full scope list.
impl fmt::Debug for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Principal")
            .field("tenant", &self.tenant())
            .field("kind", &self.kind())
            .field("subject", &self.subject())
            .field("username", &self.username())
            .field("token_use", &self.token_use())
            .field("roles", &self.roles().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

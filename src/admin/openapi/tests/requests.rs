//! The request bodies against the handlers' `Json<T>` types: the documented properties are the
//! fields the type asks for (read through a probing `Deserializer`, not a copy), unknown fields
//! are refused, a field is required in the document exactly when the type refuses a body
//! without it, each example is accepted, and the `MfaSetting` enum has the type's variants.

use std::collections::BTreeSet;

use serde::de::{self, Deserialize, Visitor};
use serde_json::{Value, json};

use super::{document, keys, operation, resolve, routes, strings};
use crate::admin::audit::Action;
use crate::admin::router::{AttributesBody, GroupBody};
use crate::admin::{
    EnrollmentWindowRequest, MfaPreference, MfaSetting, NewUser, PasswordChange,
    TotpEnrollmentStart, TotpVerification,
};

/// Records the field names a `Deserialize` type asks for (struct fields, enum variants),
/// so that documented schemas are compared with the real types, not with a copy.
struct FieldProbe(Option<&'static [&'static str]>);

#[derive(Debug)]
struct Probed;

impl std::fmt::Display for Probed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("probed")
    }
}

impl std::error::Error for Probed {}

impl de::Error for Probed {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        Probed
    }
}

impl<'de> de::Deserializer<'de> for &mut FieldProbe {
    type Error = Probed;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Probed> {
        Err(Probed)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Probed> {
        self.0 = Some(fields);
        Err(Probed)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        variants: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Probed> {
        self.0 = Some(variants);
        Err(Probed)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map identifier
        ignored_any
    }
}

fn names_of<'de, T: Deserialize<'de>>() -> BTreeSet<&'static str> {
    let mut probe = FieldProbe(None);
    let _ = T::deserialize(&mut probe);
    probe
        .0
        .expect("a struct or an enum")
        .iter()
        .copied()
        .collect()
}

/// The request body type of each route's handler, by action (the handlers' `Json<T>`).
fn body_fields(action: Action) -> Option<BTreeSet<&'static str>> {
    match action {
        Action::SetMfaPreference => Some(names_of::<MfaPreference>()),
        Action::UpdateAttributes | Action::UpdateOwnAttributes => {
            Some(names_of::<AttributesBody>())
        }
        Action::AddToGroup => Some(names_of::<GroupBody>()),
        Action::ChangeOwnPassword => Some(names_of::<PasswordChange>()),
        Action::CreateUser => Some(names_of::<NewUser>()),
        Action::OpenMfaEnrollment => Some(names_of::<EnrollmentWindowRequest>()),
        Action::StartTotpEnrollment => Some(names_of::<TotpEnrollmentStart>()),
        Action::VerifyTotpEnrollment => Some(names_of::<TotpVerification>()),
        Action::CloseMfaEnrollment
        | Action::GetUser
        | Action::ListUsers
        | Action::RemoveFromGroup
        | Action::DisableUser
        | Action::EnableUser
        | Action::GlobalSignOut
        | Action::GetOwnAttributes
        | Action::GetOwnMfa
        | Action::SignOutSelf
        | Action::ListOwnDevices
        | Action::ForgetOwnDevice
        | Action::DeleteUser
        | Action::ResetPassword
        | Action::ListUserGroups
        | Action::ListGroups => None,
    }
}

/// Deserializes `example` into the handler's body type.
fn accepts(action: Action, example: &Value) -> Result<(), serde_json::Error> {
    match action {
        Action::SetMfaPreference => MfaPreference::deserialize(example).map(drop),
        Action::AddToGroup => GroupBody::deserialize(example).map(drop),
        Action::ChangeOwnPassword => PasswordChange::deserialize(example).map(drop),
        Action::CreateUser => NewUser::deserialize(example).map(drop),
        Action::OpenMfaEnrollment => EnrollmentWindowRequest::deserialize(example).map(drop),
        Action::StartTotpEnrollment => TotpEnrollmentStart::deserialize(example).map(drop),
        Action::VerifyTotpEnrollment => TotpVerification::deserialize(example).map(drop),
        _ => AttributesBody::deserialize(example).map(drop),
    }
}

#[test]
fn request_bodies_are_the_handlers_types() {
    let doc = document();
    for spec in routes() {
        let op = operation(&doc, spec);
        let Some(fields) = body_fields(spec.action) else {
            assert!(op.get("requestBody").is_none(), "{}", spec.path);
            continue;
        };
        let content = &op["requestBody"]["content"]["application/json"];
        let schema = resolve(&doc, &content["schema"]);
        assert_eq!(keys(&schema["properties"]), fields, "{}", spec.path);
        assert_eq!(schema["additionalProperties"], false, "deny_unknown_fields");
        // Required fields are really required; optional ones really optional.
        for field in &fields {
            let mut example = content["example"].clone();
            example.as_object_mut().expect("object").remove(*field);
            let required = strings(&schema["required"]).contains(field);
            let refused = accepts(spec.action, &example).is_err();
            assert_eq!(refused, required, "{} without {field}", spec.path);
        }
        accepts(spec.action, &content["example"]).expect("the example is accepted");
        let mut unknown = content["example"].clone();
        unknown["user_pool_id"] = json!("us-east-1_Other");
        assert!(accepts(spec.action, &unknown).is_err(), "{}", spec.path);
    }
    let setting = &document()["components"]["schemas"]["MfaSetting"];
    assert_eq!(strings(&setting["enum"]), names_of::<MfaSetting>());
}

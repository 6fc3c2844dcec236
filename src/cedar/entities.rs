//! From a verified [`Principal`] to Cedar entities and context, in Amazon Verified Permissions'
//! convention for a Cognito identity source, plus the application's own resources.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;

use cedar_policy::{Context, Entity, EntityId, EntityTypeName, EntityUid, RestrictedExpression};
use futures_util::future::BoxFuture;

use crate::principal::{Principal, TokenUse};

/// The entity types of one namespace.
#[derive(Debug, Clone)]
pub(crate) struct Names {
    user: EntityTypeName,
    group: EntityTypeName,
    action: EntityTypeName,
    /// `NS::Application::"NS"`, the resource when the application names none.
    pub(crate) application: EntityUid,
}

impl Names {
    /// Fails if `namespace` is not a Cedar namespace (`App`, `Acme::Orders`).
    pub(crate) fn new(namespace: &str) -> Result<Self, String> {
        let ty = |name: &str| {
            EntityTypeName::from_str(&format!("{namespace}::{name}"))
                .map_err(|_| format!("`{namespace}` is not a Cedar namespace (for example `App`)"))
        };
        Ok(Names {
            user: ty("User")?,
            group: ty("UserGroup")?,
            action: ty("Action")?,
            application: EntityUid::from_type_name_and_id(
                ty("Application")?,
                EntityId::new(namespace),
            ),
        })
    }

    /// `NS::Action`.
    pub(crate) fn action_type(&self) -> &EntityTypeName {
        &self.action
    }

    /// `NS::User::"<userPoolId>|<sub>"`.
    pub(crate) fn principal_uid(&self, principal: &Principal) -> EntityUid {
        let id = format!("{}|{}", principal.user_pool_id(), principal.subject());
        EntityUid::from_type_name_and_id(self.user.clone(), EntityId::new(id))
    }

    /// The principal, a member of `NS::UserGroup::"<userPoolId>|<group>"` for each
    /// `cognito:groups` entry, with the attribute `kind`: `"user"`, or `"machine"` for an app
    /// client with a client-credentials token (whose `sub` is its client id, as AVP sees it).
    pub(crate) fn principal_entity(
        &self,
        principal: &Principal,
        uid: EntityUid,
    ) -> Result<Entity, &'static str> {
        let pool = principal.user_pool_id();
        let parents: HashSet<EntityUid> = principal
            .groups()
            .map(|group| {
                EntityUid::from_type_name_and_id(
                    self.group.clone(),
                    EntityId::new(format!("{pool}|{group}")),
                )
            })
            .collect();
        let attrs = HashMap::from([("kind".to_owned(), string(principal.kind().as_str()))]);
        Entity::new(uid, attrs, parents).map_err(|_| "the principal entity could not be built")
    }

    /// `NS::Action::"<METHOD> <route template>"`.
    pub(crate) fn action(&self, method: &str, route: &str) -> EntityUid {
        EntityUid::from_type_name_and_id(
            self.action.clone(),
            EntityId::new(format!("{method} {route}")),
        )
    }
}

fn string(value: &str) -> RestrictedExpression {
    RestrictedExpression::new_string(value.to_owned())
}

fn strings<'a>(values: impl Iterator<Item = &'a str>) -> RestrictedExpression {
    RestrictedExpression::new_set(values.map(string))
}

fn long(value: u64) -> RestrictedExpression {
    RestrictedExpression::new_long(i64::try_from(value).unwrap_or(i64::MAX))
}

/// `context.token` (the verified claims, as AVP puts an access token's claims),
/// `context.tenant` and `context.roles`: all of the context but `path`, the same for every
/// request of a principal.
pub(crate) fn fixed_context(
    principal: &Principal,
) -> Result<[(String, RestrictedExpression); 3], &'static str> {
    let mut token = vec![
        ("sub".to_owned(), string(principal.subject())),
        ("username".to_owned(), string(principal.username())),
        ("client_id".to_owned(), string(principal.client_id())),
        ("scope".to_owned(), strings(principal.scopes())),
        (
            "token_use".to_owned(),
            string(match principal.token_use() {
                TokenUse::Access => "access",
                TokenUse::Id => "id",
            }),
        ),
        ("exp".to_owned(), long(principal.expires_at())),
    ];
    // Present only when the token has them, as in the token (Cognito omits an empty group list).
    if principal.groups().len() > 0 {
        token.push(("cognito:groups".to_owned(), strings(principal.groups())));
    }
    if let Some(iat) = principal.issued_at() {
        token.push(("iat".to_owned(), long(iat)));
    }
    if let Some(jti) = principal.jti() {
        token.push(("jti".to_owned(), string(jti)));
    }
    if let Some(origin_jti) = principal.origin_jti() {
        token.push(("origin_jti".to_owned(), string(origin_jti)));
    }
    let token = RestrictedExpression::new_record(token)
        .map_err(|_| "the request context could not be built")?;
    Ok([
        ("token".to_owned(), token),
        ("tenant".to_owned(), string(principal.tenant())),
        ("roles".to_owned(), strings(principal.roles())),
    ])
}

/// The whole context: [`fixed_context`] plus `context.path`, the matched path parameters.
pub(crate) fn context(
    fixed: &[(String, RestrictedExpression); 3],
    path: &[(String, String)],
) -> Result<Context, &'static str> {
    let invalid = |_| "the request context could not be built";
    let params = path
        .iter()
        .map(|(name, value)| (name.clone(), string(value)));
    let path = RestrictedExpression::new_record(params).map_err(invalid)?;
    let pairs = fixed.iter().cloned().chain([("path".to_owned(), path)]);
    Context::from_pairs(pairs).map_err(|_| "the request context could not be built")
}

/// What an [`EntityProvider`] is asked: who calls which route with which path parameters.
#[derive(Debug)]
pub struct ResourceQuery<'a> {
    pub(crate) principal: &'a Principal,
    pub(crate) principal_uid: &'a EntityUid,
    pub(crate) method: &'a str,
    pub(crate) route: &'a str,
    pub(crate) path: &'a [(String, String)],
}

impl<'a> ResourceQuery<'a> {
    /// The verified caller.
    pub fn principal(&self) -> &'a Principal {
        self.principal
    }

    /// The caller's Cedar entity (`NS::User::"<userPoolId>|<sub>"`), for owner attributes.
    pub fn principal_uid(&self) -> &'a EntityUid {
        self.principal_uid
    }

    /// The HTTP method (`GET`).
    pub fn method(&self) -> &'a str {
        self.method
    }

    /// The matched route template (`/orders/{order}`).
    pub fn route(&self) -> &'a str {
        self.route
    }

    /// A matched path parameter by name.
    pub fn param(&self, name: &str) -> Option<&'a str> {
        self.path
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The resource of a request, with the entities policies need to reason about it (its parents,
/// its owner).
#[derive(Debug, Clone)]
pub struct Resource {
    pub(crate) uid: EntityUid,
    pub(crate) entities: Vec<Entity>,
}

impl Resource {
    /// `uid` is the request's resource; `entities` should include it (with its attributes and
    /// parents) and whatever else the policies look at. An entity with the principal's uid is
    /// ignored: the principal always comes from the verified token. So is an action entity
    /// (type `...::Action`): action groups are the schema's alone.
    pub fn new(uid: EntityUid, entities: impl IntoIterator<Item = Entity>) -> Self {
        Resource {
            uid,
            entities: entities.into_iter().collect(),
        }
    }
}

/// An error of an [`EntityProvider`]; the request is refused (403), never let through.
pub type ProviderError = Box<dyn std::error::Error + Send + Sync>;

/// Loads the resource of a request, asynchronously (from a database, a cache ...).
///
/// Without a provider, every request's resource is `NS::Application::"NS"`. With one, the
/// provider decides per request; `Ok(None)` keeps that default.
///
/// ```
/// use cognito_authz::cedar::{EntityProvider, ProviderError, Resource, ResourceQuery};
/// use cognito_authz::cedar::cedar_policy::{Entity, EntityUid, RestrictedExpression};
/// use futures_util::future::BoxFuture;
///
/// /// Orders and their owners; a real one would query a database.
/// struct Orders;
///
/// impl EntityProvider for Orders {
///     fn resource<'a>(
///         &'a self,
///         query: &'a ResourceQuery<'a>,
///     ) -> BoxFuture<'a, Result<Option<Resource>, ProviderError>> {
///         Box::pin(async move {
///             let Some(order) = query.param("order") else { return Ok(None) };
///             let uid: EntityUid = format!(r#"App::Order::"{}""#, order.escape_default()).parse()?;
///             let owner = RestrictedExpression::new_entity_uid(query.principal_uid().clone());
///             let entity = Entity::new(uid.clone(), [("owner".to_owned(), owner)].into(), [].into())?;
///             Ok(Some(Resource::new(uid, [entity])))
///         })
///     }
/// }
/// ```
pub trait EntityProvider: Send + Sync + 'static {
    /// The resource of this request, or `None` for the default application resource.
    fn resource<'a>(
        &'a self,
        query: &'a ResourceQuery<'a>,
    ) -> BoxFuture<'a, Result<Option<Resource>, ProviderError>>;
}

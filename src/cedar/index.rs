//! A tenant's policies sliced by action, built once per policy load: what a request is
//! evaluated against, found by its method and route template.

use std::collections::HashMap;
use std::sync::Arc;

use cedar_policy::{ActionConstraint, EntityTypeName, EntityUid, PolicySet};

/// A tenant's policies, sliced by action.
///
/// Cedar evaluates every policy it is given, and most policies name their action, so a request
/// is evaluated only against the policies that name its action plus those for any action. This
/// decides the same as the whole set: the request carries no action entities, so
/// `action in [A, B]` holds exactly when the action is `A` or `B`, and a policy naming other
/// actions can neither permit nor forbid (nor err: the action test comes before its conditions).
/// A policy scoped to a schema action group was rewritten at load to list every action of the
/// group (see `actions`), so it is filed under each of them.
///
/// Filed by method, then route template, with the action's uid and id built once per load: a
/// request finds its action and its policies by the two strings it has, without building
/// `NS::Action::"<METHOD> <route>"` (every named action is a request action of the engine's
/// namespace, `actions` checks it at load, and a method has no space, so the id splits at its
/// first space).
pub(crate) struct ActionIndex {
    by_action: FastMap<FastMap<Action>>,
    /// The policies for any action: all that applies to actions no policy names.
    any_action: PolicySet,
}

/// foldhash rather than SipHash: looked up on every evaluated request, by keys from the
/// configuration and the application's route templates.
pub(crate) type FastMap<V> = HashMap<Box<str>, V, foldhash::fast::RandomState>;

/// An action some policy names, and the policies that can apply to it.
pub(crate) struct Action {
    /// `NS::Action::"<METHOD> <route>"`.
    pub(crate) uid: EntityUid,
    /// `<METHOD> <route>`, shared with every decision on it.
    pub(crate) id: Arc<str>,
    pub(crate) policies: PolicySet,
}

impl ActionIndex {
    /// `action_type` is the engine's `NS::Action`: the only type a request's action has.
    pub(crate) fn new(set: &PolicySet, action_type: &EntityTypeName) -> Result<Self, String> {
        let add = |set: &mut PolicySet, policy: &cedar_policy::Policy| {
            set.add(policy.clone()).map_err(|e| e.to_string())
        };
        let mut any_action = PolicySet::new();
        let mut named: HashMap<EntityUid, Vec<&cedar_policy::Policy>> = HashMap::new();
        for policy in set.policies() {
            match policy.action_constraint() {
                ActionConstraint::Any => add(&mut any_action, policy)?,
                ActionConstraint::Eq(action) => named.entry(action).or_default().push(policy),
                ActionConstraint::In(actions) => {
                    for action in actions {
                        named.entry(action).or_default().push(policy);
                    }
                }
            }
        }
        let mut by_action = FastMap::<FastMap<Action>>::default();
        for (uid, policies) in named {
            let mut slice = any_action.clone();
            for policy in policies {
                // `action in [A, A]` lists a policy twice.
                if slice.policy(policy.id()).is_none() {
                    add(&mut slice, policy)?;
                }
            }
            // Refused at load (see `actions`); were one let through, no request has it.
            if uid.type_name() != action_type {
                continue;
            }
            let id: Arc<str> = uid.id().unescaped().into();
            // An action group, listed next to its members by the rewrite (see `actions`): no
            // request has it, a request's action id always has a space.
            let Some((method, route)) = id.split_once(' ') else {
                continue;
            };
            let action = Action {
                uid: uid.clone(),
                id: id.clone(),
                policies: slice,
            };
            by_action
                .entry(method.into())
                .or_default()
                .insert(route.into(), action);
        }
        Ok(ActionIndex {
            by_action,
            any_action,
        })
    }

    /// The action `<method> <route>` if some policy names it (with the policies that can apply
    /// to it); `None`: only [`any_action`](Self::any_action) can.
    pub(crate) fn action(&self, method: &str, route: &str) -> Option<&Action> {
        self.by_action.get(method)?.get(route)
    }

    /// The policies for any action.
    pub(crate) fn any_action(&self) -> &PolicySet {
        &self.any_action
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::str::FromStr;

    use cedar_policy::{Authorizer, Context, Entities, Request, Response};

    use super::*;
    use crate::cedar::entities::Names;

    /// Named actions (one, a list with a repeat), any action, an erring policy, and conditions
    /// on the context, so that every outcome shows up.
    const POLICIES: &str = r#"
        @id("a") permit(principal, action == App::Action::"GET /a", resource)
            when { context.ok };
        @id("ab") permit(principal, action in [App::Action::"GET /a", App::Action::"POST /b/{id}", App::Action::"GET /a"], resource)
            when { context.both };
        @id("err") permit(principal, action == App::Action::"POST /b/{id}", resource)
            when { context.missing == 1 };
        @id("c") forbid(principal, action == App::Action::"DELETE /c d", resource);
        @id("other") forbid(principal, action == Other::Action::"GET /other", resource);
        @id("group") permit(principal, action in [App::Action::"writes", App::Action::"POST /b/{id}"], resource)
            when { context.ok && context.both };
        @id("any") forbid(principal, action, resource) when { context.suspended };
        @id("anyone") permit(principal, action, resource) when { context.everything };
    "#;

    /// What a decision shows: the decision, the policies behind it, the ones that erred.
    fn seen(response: &Response) -> (bool, BTreeSet<String>, BTreeSet<String>) {
        let diagnostics = response.diagnostics();
        (
            response.decision() == cedar_policy::Decision::Allow,
            diagnostics.reason().map(ToString::to_string).collect(),
            diagnostics
                .errors()
                .map(
                    |cedar_policy::AuthorizationError::PolicyEvaluationError(e)| {
                        e.policy_id().to_string()
                    },
                )
                .collect(),
        )
    }

    #[test]
    fn the_index_decides_as_the_whole_set_with_the_action_built_per_request() {
        let set = PolicySet::from_str(POLICIES).unwrap();
        let names = Names::new("App").unwrap();
        let index = ActionIndex::new(&set, names.action_type()).unwrap();
        let principal = EntityUid::from_str(r#"App::User::"p|s""#).unwrap();
        let authorizer = Authorizer::new();
        let entities = Entities::empty();
        let actions = [
            ("GET", "/a"),
            ("POST", "/b/{id}"),
            ("DELETE", "/c d"),
            ("GET", "/unnamed"),
            ("GET", "/other"),
            ("POST", "/a"),
            ("PURGE", "/a"),
        ];
        let mut outcomes = BTreeSet::new();
        for (method, route) in actions {
            let built = names.action(method, route);
            let (uid, slice) = match index.action(method, route) {
                Some(named) => {
                    assert_eq!(named.uid, built, "{method} {route}");
                    assert_eq!(&*named.id, format!("{method} {route}"));
                    (named.uid.clone(), &named.policies)
                }
                None => (built.clone(), index.any_action()),
            };
            for flags in 0..16u8 {
                let context = |flags: u8| {
                    Context::from_json_value(
                        serde_json::json!({
                            "ok": flags & 1 != 0,
                            "both": flags & 2 != 0,
                            "suspended": flags & 4 != 0,
                            "everything": flags & 8 != 0,
                        }),
                        None,
                    )
                    .unwrap()
                };
                let request = |action: &EntityUid| {
                    Request::new(
                        principal.clone(),
                        action.clone(),
                        names.application.clone(),
                        context(flags),
                        None,
                    )
                    .unwrap()
                };
                let sliced = seen(&authorizer.is_authorized(&request(&uid), slice, &entities));
                let whole = seen(&authorizer.is_authorized(&request(&built), &set, &entities));
                assert_eq!(sliced, whole, "{method} {route} with flags {flags:04b}");
                outcomes.insert((sliced.0, sliced.1.len(), !sliced.2.is_empty()));
            }
        }
        // Allowed and refused, by one policy and by several, with and without an error.
        assert!(outcomes.len() >= 5, "{outcomes:?}");
    }

    #[test]
    fn only_named_actions_are_filed_by_method_then_route() {
        let set = PolicySet::from_str(POLICIES).unwrap();
        let names = Names::new("App").unwrap();
        let index = ActionIndex::new(&set, names.action_type()).unwrap();
        assert!(index.action("GET", "/a").is_some());
        assert!(
            index.action("GET", "/other").is_none(),
            "another namespace's action"
        );
        assert!(
            index.action("DELETE", "/c d").is_some(),
            "a route with a space"
        );
        assert!(index.action("DELETE /c", "d").is_none());
        assert!(index.action("GET", "/unnamed").is_none());
        assert!(index.action("get", "/a").is_none());
        assert_eq!(index.any_action().policies().count(), 2);
        let slice = &index.action("GET", "/a").unwrap().policies;
        let ids: BTreeSet<String> = slice.policies().map(|p| p.id().to_string()).collect();
        assert!(
            index.action("writes", "").is_none(),
            "a group is no request's action"
        );
        // Parsed without the folder's renaming: ids are positions (`a`, `ab`, `any`, `anyone`).
        let expected = ["policy0", "policy1", "policy6", "policy7"].map(String::from);
        assert_eq!(ids, BTreeSet::from(expected));
    }
}

//! Actions: the action of a request, the schema's action groups, and the load-time rule that
//! keeps a policy from naming an action no request can have.
//!
//! A request's action is `NS::Action::"<METHOD> <route template>"`. **HEAD is decided as GET**:
//! axum answers HEAD with the GET handler (same status, same headers), so a forbid written for
//! `"GET /r"` must hold for `HEAD /r` too.
//!
//! **Action groups** come from the schema (`action "writes"; action "POST /orders" in
//! ["writes"] ...`), the hierarchy Amazon Verified Permissions evaluates `action in` with. At
//! load, every group on the right of `in` (`action in NS::Action::"writes"` in the scope, in a
//! condition, or inside a list) is replaced by the list of the group and every action under it,
//! taken from [`Schema::action_entities`]. Requests carry no action entities, so `action in [A,
//! B]` holds exactly when the action is one of them: the rewritten policy decides as Cedar does
//! with the schema's action entities passed in, and costs nothing per request (passing them
//! would mean a copy of the hierarchy next to every cached principal, or an entity set built
//! per request). The action index then files the policy under each of those actions.
//!
//! **Every action a policy names must be reachable.** A policy naming an action no request has
//! never applies, and for a forbid that fails open. So each action literal of a policy must be
//! - a request action: `<METHOD> /<route>`, the method in capitals and not HEAD;
//! - or a group of the schema with at least one request action under it (without a schema
//!   there are no groups), named with `in`: `action == NS::Action::"writes"` in the scope is
//!   refused, a group is never a request's action;
//! - and of the engine's namespace (`NS::Action`).
//!
//! Anything else fails the load (and a reload keeps the last good set).

use std::collections::HashMap;

use cedar_policy::{ActionConstraint, EntityTypeName, EntityUid, Policy, Schema};
use serde_json::{Map, Value};

/// The method a request is decided with: HEAD as GET, any other as it is.
pub(crate) fn decided_method(method: &str) -> &str {
    if method == "HEAD" { "GET" } else { method }
}

/// True for an action id a request can have: `<METHOD> /<route>`, the method an HTTP token in
/// capitals, not HEAD (decided as GET).
fn is_request_action(id: &str) -> bool {
    let Some((method, route)) = id.split_once(' ') else {
        return false;
    };
    !method.is_empty()
        && http::Method::from_bytes(method.as_bytes()).is_ok()
        && !method.bytes().any(|b| b.is_ascii_lowercase())
        && method != "HEAD"
        && route.starts_with('/')
}

/// The schema's action groups: each group and every action under it, at any depth.
#[derive(Default)]
pub(crate) struct ActionGroups {
    members: HashMap<EntityUid, Vec<EntityUid>>,
}

impl ActionGroups {
    pub(crate) fn from_schema(schema: &Schema) -> Result<Self, String> {
        let entities = schema.action_entities().map_err(|e| e.to_string())?;
        let mut members: HashMap<EntityUid, Vec<EntityUid>> = HashMap::new();
        for entity in entities.iter() {
            let uid = entity.uid();
            // The schema's action entities carry their ancestors transitively closed.
            for group in entities.ancestors(&uid).into_iter().flatten() {
                members.entry(group.clone()).or_default().push(uid.clone());
            }
        }
        for list in members.values_mut() {
            list.sort();
        }
        Ok(ActionGroups { members })
    }

    /// Whether no action of the schema is in a group (nothing to rewrite).
    pub(crate) fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    fn members(&self, group: &EntityUid) -> Option<&[EntityUid]> {
        self.members.get(group).map(Vec::as_slice)
    }

    /// Checks every action `policy` names (see the [module docs](self)).
    pub(crate) fn check(
        &self,
        policy: &Policy,
        action_type: &EntityTypeName,
    ) -> Result<(), String> {
        if let ActionConstraint::Eq(uid) = policy.action_constraint()
            && self.members.contains_key(&uid)
        {
            return Err(format!(
                "`action == {uid}` names an action group, which is never a request's action: \
                 write `action in {uid}`"
            ));
        }
        for uid in policy.entity_literals() {
            if uid.type_name().basename() != "Action" {
                continue;
            }
            if uid.type_name() != action_type {
                return Err(format!(
                    "action {uid} is not of this engine's namespace: a request's action is \
                     {action_type}::\"<METHOD> <route template>\", so the policy never applies"
                ));
            }
            let id = uid.id().unescaped();
            if let Some(route) = id.strip_prefix("HEAD ") {
                return Err(format!(
                    "action {uid}: HEAD requests are decided as GET; name \
                     {action_type}::\"GET {route}\""
                ));
            }
            if is_request_action(id) {
                continue;
            }
            let reachable = self
                .members(&uid)
                .is_some_and(|m| m.iter().any(|a| is_request_action(a.id().unescaped())));
            if !reachable {
                let why = if self.members.contains_key(&uid) {
                    "is an action group with no request action under it"
                } else {
                    "is neither a request's action (\"<METHOD> <route template>\") nor a \
                     schema action group with one under it (without a schema there are no groups)"
                };
                return Err(format!("action {uid} {why}, so the policy never applies"));
            }
        }
        Ok(())
    }

    /// `policy` with each group on the right of `in` replaced by the group and every action
    /// under it; `policy` itself when it names no group.
    pub(crate) fn expand(&self, policy: &Policy) -> Result<Policy, String> {
        if self.is_empty()
            || !policy
                .entity_literals()
                .iter()
                .any(|uid| self.members.contains_key(uid))
        {
            return Ok(policy.clone());
        }
        let mut json = policy.to_json().map_err(|e| e.to_string())?;
        if let Some(Value::Object(scope)) = json.get_mut("action") {
            self.expand_scope(scope);
        }
        if let Some(conditions) = json.get_mut("conditions") {
            self.expand_expressions(conditions);
        }
        Policy::from_json(Some(policy.id().clone()), json).map_err(|e| e.to_string())
    }

    /// The action scope: `{"op": "in", "entity": E}` or `{"op": "in", "entities": [E, ...]}`.
    fn expand_scope(&self, scope: &mut Map<String, Value>) {
        if scope.get("op").and_then(Value::as_str) != Some("in") {
            return;
        }
        let mut listed = match (scope.remove("entity"), scope.remove("entities")) {
            (Some(one), _) => vec![one],
            (None, Some(Value::Array(many))) => many,
            (None, other) => {
                if let Some(other) = other {
                    scope.insert("entities".to_owned(), other);
                }
                return;
            }
        };
        listed = self.with_members(listed, uid_json, |v| Some(v.clone()));
        scope.insert("entities".to_owned(), Value::Array(listed));
    }

    /// Every expression of the conditions: the right of each `in`, and of `is ... in`.
    fn expand_expressions(&self, value: &mut Value) {
        match value {
            Value::Object(map) => {
                if let Some(Value::Object(op)) = map.get_mut("in")
                    && op.len() == 2
                    && op.contains_key("left")
                    && let Some(right) = op.get_mut("right")
                {
                    self.expand_operand(right);
                }
                if let Some(Value::Object(is)) = map.get_mut("is")
                    && is.contains_key("entity_type")
                    && let Some(operand) = is.get_mut("in")
                {
                    self.expand_operand(operand);
                }
                for nested in map.values_mut() {
                    self.expand_expressions(nested);
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.expand_expressions(v)),
            _ => {}
        }
    }

    /// An operand of `in`: an entity literal, or a set literal of them.
    fn expand_operand(&self, operand: &mut Value) {
        let literal =
            |uid: &EntityUid| serde_json::json!({ "Value": { "__entity": uid_json(uid) } });
        let entity_of = |v: &Value| v.get("Value").cloned();
        if let Some(entity) = operand.get("Value").cloned()
            && self.group_of(&entity).is_some()
        {
            let listed =
                self.with_members(vec![operand.clone()], literal, |_| Some(entity.clone()));
            *operand = serde_json::json!({ "Set": listed });
        } else if let Some(Value::Array(items)) = operand.get_mut("Set") {
            let listed = self.with_members(std::mem::take(items), literal, entity_of);
            *items = listed;
        }
    }

    /// `items` with the members of each group among them added after it. `entity` finds an
    /// item's entity reference (`{"type", "id"}` or `{"__entity": ...}`), `make` writes a member.
    fn with_members<F, G>(&self, items: Vec<Value>, make: F, entity: G) -> Vec<Value>
    where
        F: Fn(&EntityUid) -> Value,
        G: Fn(&Value) -> Option<Value>,
    {
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let members = entity(&item).and_then(|e| self.group_of(&e));
            out.push(item);
            if let Some(members) = members {
                out.extend(members.iter().map(&make));
            }
        }
        out
    }

    fn group_of(&self, entity: &Value) -> Option<&[EntityUid]> {
        let uid = EntityUid::from_json(entity.clone()).ok()?;
        self.members(&uid)
    }
}

fn uid_json(uid: &EntityUid) -> Value {
    serde_json::json!({ "type": uid.type_name().to_string(), "id": uid.id().unescaped() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use cedar_policy::{Authorizer, Context, Decision, Entities, PolicySet, Request};

    const SCHEMA: &str = r#"namespace App {
      entity User;
      entity Application;
      action "all";
      action "writes" in ["all"];
      action "empty";
      action "POST /orders", "DELETE /orders/{order}" in ["writes"]
        appliesTo { principal: User, resource: Application };
      action "GET /orders" appliesTo { principal: User, resource: Application };
    }"#;

    fn schema() -> Schema {
        Schema::from_cedarschema_str(SCHEMA).unwrap().0
    }

    fn action_type() -> EntityTypeName {
        "App::Action".parse().unwrap()
    }

    fn uid(text: &str) -> EntityUid {
        text.parse().unwrap()
    }

    /// Decides `action` with `policies` as Cedar does with the schema's action entities, and
    /// as this module does, with the rewritten policies and no action entities.
    fn both(policies: &str, action: &str) -> (Decision, Decision) {
        let schema = schema();
        let groups = ActionGroups::from_schema(&schema).unwrap();
        let set: PolicySet = policies.parse().unwrap();
        let mut rewritten = PolicySet::new();
        for policy in set.policies() {
            groups.check(policy, &action_type()).unwrap();
            rewritten.add(groups.expand(policy).unwrap()).unwrap();
        }
        let request = Request::new(
            uid(r#"App::User::"u""#),
            uid(&format!(r#"App::Action::"{action}""#)),
            uid(r#"App::Application::"App""#),
            Context::empty(),
            None,
        )
        .unwrap();
        let with_entities = Authorizer::new()
            .is_authorized(&request, &set, &schema.action_entities().unwrap())
            .decision();
        let rewritten = Authorizer::new()
            .is_authorized(&request, &rewritten, &Entities::empty())
            .decision();
        (with_entities, rewritten)
    }

    #[test]
    fn rewritten_groups_decide_as_cedar_with_the_schemas_action_entities() {
        let policies = [
            r#"permit(principal, action in App::Action::"writes", resource);"#,
            r#"permit(principal, action in App::Action::"all", resource);"#,
            r#"permit(principal, action in [App::Action::"GET /orders", App::Action::"writes"], resource);"#,
            r#"permit(principal, action, resource) when { action in App::Action::"all" };"#,
            r#"permit(principal, action, resource) when { action is App::Action in App::Action::"writes" };"#,
            r#"permit(principal, action, resource) when { action in [App::Action::"writes"] || false };"#,
            r#"permit(principal, action, resource) unless { action in App::Action::"writes" };"#,
            r#"permit(principal, action == App::Action::"GET /orders", resource);"#,
        ];
        for policy in policies {
            for action in ["POST /orders", "DELETE /orders/{order}", "GET /orders"] {
                let (cedar, ours) = both(policy, action);
                assert_eq!(cedar, ours, "{policy} on {action}");
            }
        }
        // And the groups do reach their members.
        assert_eq!(both(policies[1], "POST /orders").1, Decision::Allow);
        assert_eq!(both(policies[1], "GET /orders").1, Decision::Deny);
    }

    #[test]
    fn the_rewritten_scope_lists_every_action_of_the_group() {
        let groups = ActionGroups::from_schema(&schema()).unwrap();
        let policy = Policy::parse(
            None,
            r#"forbid(principal, action in App::Action::"all", resource);"#,
        )
        .unwrap();
        let ActionConstraint::In(actions) = groups.expand(&policy).unwrap().action_constraint()
        else {
            panic!("an `in` scope");
        };
        let mut ids: Vec<String> = actions
            .iter()
            .map(|a| a.id().unescaped().to_owned())
            .collect();
        ids.sort();
        assert_eq!(
            ids,
            ["DELETE /orders/{order}", "POST /orders", "all", "writes"]
        );
    }

    #[test]
    fn actions_no_request_has_are_refused() {
        let groups = ActionGroups::from_schema(&schema()).unwrap();
        let none = ActionGroups::default();
        let check = |groups: &ActionGroups, text: &str| {
            groups.check(&Policy::parse(None, text).unwrap(), &action_type())
        };
        let ok = [
            r#"forbid(principal, action in App::Action::"writes", resource);"#,
            r#"forbid(principal, action == App::Action::"GET /orders", resource);"#,
            r#"forbid(principal, action, resource) when { action in App::Action::"all" };"#,
            r#"permit(principal, action, resource);"#,
        ];
        for text in ok {
            assert_eq!(check(&groups, text), Ok(()), "{text}");
        }
        for (groups, text, why) in [
            (
                &none,
                r#"forbid(principal, action in App::Action::"writes", resource);"#,
                "neither",
            ),
            (
                &none,
                r#"forbid(principal, action, resource) when { action == App::Action::"writes" };"#,
                "neither",
            ),
            (
                &groups,
                r#"forbid(principal, action == App::Action::"writes", resource);"#,
                "write `action in",
            ),
            (
                &groups,
                r#"forbid(principal, action in App::Action::"empty", resource);"#,
                "neither",
            ),
            (
                &groups,
                r#"forbid(principal, action in App::Action::"HEAD /orders", resource);"#,
                "decided as GET",
            ),
            (
                &none,
                r#"forbid(principal, action == App::Action::"get /orders", resource);"#,
                "neither",
            ),
            (
                &none,
                r#"forbid(principal, action == App::Action::"GET orders", resource);"#,
                "neither",
            ),
            (
                &none,
                r#"forbid(principal, action == Shop::Action::"GET /orders", resource);"#,
                "namespace",
            ),
        ] {
            let err = check(groups, text).expect_err(text);
            assert!(err.contains(why), "{text}: {err}");
        }
    }

    #[test]
    fn head_is_decided_as_get() {
        assert_eq!(decided_method("HEAD"), "GET");
        assert_eq!(decided_method("GET"), "GET");
        assert_eq!(decided_method("POST"), "POST");
        assert!(is_request_action("GET /x") && is_request_action("PROPFIND /"));
        assert!(!is_request_action("HEAD /x") && !is_request_action("writes"));
    }

    #[test]
    fn a_schema_without_groups_rewrites_nothing() {
        let (schema, _) = Schema::from_cedarschema_str(
            r#"namespace App { entity U; action "GET /x" appliesTo { principal: U, resource: U }; }"#,
        )
        .unwrap();
        let groups = ActionGroups::from_schema(&schema).unwrap();
        assert!(groups.is_empty());
        let policy = Policy::parse(
            None,
            r#"permit(principal, action == App::Action::"GET /x", resource);"#,
        )
        .unwrap();
        assert_eq!(
            groups.expand(&policy).unwrap().to_json().unwrap(),
            policy.to_json().unwrap()
        );
    }
}

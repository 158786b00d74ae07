//! Delivery filters, as FastHook's connection filters: per installation, named filters on a
//! delivery's headers and JSON body, evaluated at ingest without any GitHub call. With filters set,
//! a delivery no filter admits is recorded `ignored` with a reason starting `filtered:`.
//!
//! A condition is a value to equal, or an object: each field names a sub-condition on that field
//! (all must hold), and the operators `$in` (one of a list), `$and` / `$or` (lists of conditions),
//! `$starts_with` (a string prefix). `{"pull_request": {"base": {"ref": {"$starts_with":
//! "release/"}}}}` admits pull requests into `release/*`.

use serde_json::{Map, Value};

/// Filters one installation may have, at most.
pub const MAX_FILTERS: usize = 20;
/// How deep a condition may nest.
const MAX_DEPTH: usize = 16;

/// One named filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryFilter {
    pub name: String,
    /// Header name (any case) → condition on its value.
    pub headers: Map<String, Value>,
    /// Condition on the JSON body.
    pub body: Value,
}

/// Reads and checks `{"filters": [...]}`'s list: each a `name` (unique, non-empty), and `headers`
/// and `body` objects of valid conditions.
///
/// # Errors
/// A message naming the filter and where its problem is.
pub fn parse_filters(list: &[Value]) -> Result<Vec<DeliveryFilter>, String> {
    if list.len() > MAX_FILTERS {
        return Err(format!("at most {MAX_FILTERS} filters, got {}", list.len()));
    }
    let mut filters: Vec<DeliveryFilter> = Vec::new();
    for (i, item) in list.iter().enumerate() {
        let object = item
            .as_object()
            .ok_or_else(|| format!("filter {i} is not an object"))?;
        for key in object.keys() {
            if !["name", "headers", "body", "type"].contains(&key.as_str()) {
                return Err(format!(
                    "filter {i}: unknown key '{key}' (name, headers, body)"
                ));
            }
        }
        let name = object
            .get("name")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|n| !n.is_empty() && n.chars().count() <= 100)
            .ok_or_else(|| format!("filter {i} needs a name (1 to 100 characters)"))?
            .to_owned();
        if filters.iter().any(|f| f.name == name) {
            return Err(format!("two filters are named '{name}'"));
        }
        let headers = match object.get("headers") {
            None => Map::new(),
            Some(Value::Object(h)) => h.clone(),
            Some(_) => return Err(format!("filter '{name}': headers must be an object")),
        };
        for (header, condition) in &headers {
            check(condition, &format!("headers.{header}"), 0)
                .map_err(|e| format!("filter '{name}': {e}"))?;
        }
        let body = object
            .get("body")
            .cloned()
            .unwrap_or(Value::Object(Map::new()));
        if !body.is_object() {
            return Err(format!("filter '{name}': body must be an object"));
        }
        check(&body, "body", 0).map_err(|e| format!("filter '{name}': {e}"))?;
        filters.push(DeliveryFilter {
            name,
            headers,
            body,
        });
    }
    Ok(filters)
}

fn check(condition: &Value, at: &str, depth: usize) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err(format!("{at}: nested more than {MAX_DEPTH} deep"));
    }
    let Some(object) = condition.as_object() else {
        return Ok(());
    };
    for (key, value) in object {
        let here = format!("{at}.{key}");
        match key.as_str() {
            "$in" if value.is_array() => {}
            "$in" => return Err(format!("{here} must be a list")),
            "$starts_with" if value.is_string() => {}
            "$starts_with" => return Err(format!("{here} must be a string")),
            "$and" | "$or" => {
                let items = value
                    .as_array()
                    .filter(|items| !items.is_empty())
                    .ok_or_else(|| format!("{here} must be a non-empty list of conditions"))?;
                for (i, item) in items.iter().enumerate() {
                    check(item, &format!("{here}[{i}]"), depth + 1)?;
                }
            }
            other if other.starts_with('$') => {
                return Err(format!(
                    "{here}: unknown operator (use $in, $and, $or, $starts_with)"
                ));
            }
            _ => check(value, &here, depth + 1)?,
        }
    }
    Ok(())
}

/// Whether `actual` satisfies `condition`.
fn matches(condition: &Value, actual: &Value) -> bool {
    let Some(object) = condition.as_object() else {
        return condition == actual;
    };
    object.iter().all(|(key, value)| match key.as_str() {
        "$in" => value
            .as_array()
            .is_some_and(|items| items.iter().any(|i| i == actual)),
        "$starts_with" => match (actual.as_str(), value.as_str()) {
            (Some(a), Some(prefix)) => a.starts_with(prefix),
            _ => false,
        },
        "$and" => value
            .as_array()
            .is_some_and(|items| items.iter().all(|c| matches(c, actual))),
        "$or" => value
            .as_array()
            .is_some_and(|items| items.iter().any(|c| matches(c, actual))),
        field => matches(value, actual.get(field).unwrap_or(&Value::Null)),
    })
}

impl DeliveryFilter {
    /// Whether this filter admits a delivery with these headers and body.
    pub fn admits(&self, headers: &[(&str, &str)], body: &Value) -> bool {
        let headers_hold = self.headers.iter().all(|(name, condition)| {
            let value = headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map_or(Value::Null, |(_, v)| Value::String(v.trim().to_owned()));
            matches(condition, &value)
        });
        headers_hold && matches(&self.body, body)
    }
}

/// `None` when `filters` admit the delivery (or there are none), else the `ignored` reason:
/// `filtered: no filter admits it (main-only, releases)`.
pub fn filtered(
    filters: &[DeliveryFilter],
    headers: &[(&str, &str)],
    body: &Value,
) -> Option<String> {
    if filters.is_empty() || filters.iter().any(|f| f.admits(headers, body)) {
        return None;
    }
    let names: Vec<&str> = filters.iter().map(|f| f.name.as_str()).collect();
    Some(format!(
        "filtered: no filter admits it ({})",
        names.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// FastHook's "main or release branch" filter.
    fn main_or_release() -> Value {
        json!({
            "name": "main-or-release",
            "headers": {"x-github-event": "pull_request"},
            "body": {"$and": [
                {"repository": {"full_name": "acme/payments-api"}},
                {"action": {"$in": ["opened", "reopened", "synchronize", "ready_for_review"]}},
                {"$or": [
                    {"pull_request": {"base": {"ref": "main"}}},
                    {"pull_request": {"base": {"ref": {"$starts_with": "release/"}}}}
                ]},
                {"pull_request": {"draft": false}}
            ]}
        })
    }

    fn delivery(action: &str, base: &str) -> Value {
        json!({"action": action, "repository": {"full_name": "acme/payments-api"},
               "pull_request": {"draft": false, "base": {"ref": base}}})
    }

    #[test]
    fn fasthooks_example_admits_main_and_release_branches_only() {
        let filters = parse_filters(&[main_or_release()]).unwrap();
        let headers = [("X-GitHub-Event", "pull_request")];
        assert_eq!(
            filtered(&filters, &headers, &delivery("opened", "main")),
            None
        );
        assert_eq!(
            filtered(&filters, &headers, &delivery("synchronize", "release/2.1")),
            None
        );
        assert_eq!(
            filtered(&filters, &headers, &delivery("opened", "develop")).as_deref(),
            Some("filtered: no filter admits it (main-or-release)")
        );
        assert!(filtered(&filters, &headers, &delivery("closed", "main")).is_some());
        let push = [("X-GitHub-Event", "push")];
        assert!(filtered(&filters, &push, &delivery("opened", "main")).is_some());
        assert_eq!(
            filtered(&[], &push, &json!({})),
            None,
            "no filters: all admitted"
        );
    }

    #[test]
    fn invalid_filters_are_refused_naming_the_problem() {
        for (list, says) in [
            (json!([{"body": {}}]), "needs a name"),
            (
                json!([{"name": "a"}, {"name": "a"}]),
                "two filters are named 'a'",
            ),
            (
                json!([{"name": "a", "body": {"action": {"$regex": "x"}}}]),
                "body.action.$regex: unknown operator",
            ),
            (
                json!([{"name": "a", "body": {"action": {"$in": "opened"}}}]),
                "body.action.$in must be a list",
            ),
            (
                json!([{"name": "a", "body": {"$or": []}}]),
                "body.$or must be a non-empty list",
            ),
            (json!([{"name": "a", "body": []}]), "body must be an object"),
            (json!([{"name": "a", "when": 1}]), "unknown key 'when'"),
        ] {
            let e = parse_filters(list.as_array().unwrap()).unwrap_err();
            assert!(e.contains(says), "{says}: {e}");
        }
    }
}

//! `GET /api/openapi.json`: an OpenAPI 3.1 document of every route, whose request and response
//! schemas are generated (JSON Schema 2020-12, as OpenAPI 3.1 takes it) from the API's own serde
//! types in [`crate::api`], so a changed body changes the document. The operations themselves (a
//! method, a path, the types) are listed here once; `tests/tests/openapi.rs` fails when a route the
//! server registers is missing.

use actix_web::{HttpResponse, web};
use schemars::generate::{SchemaGenerator, SchemaSettings};
use schemars::{JsonSchema, Schema, schema_for};
use serde_json::{Map, Value, json};

use crate::api::accounts::{
    CallbackQuery, DisconnectedBody, InstallationBody, MeBody, RepositoriesBody, RotatedBody,
    SubscribedBody,
};
use crate::api::controls::{FiltersBody, SettingsBody, UsageBody};
use crate::api::knowledge::{ExpertsBody, RelatedPullsBody};
use crate::api::manage::{
    DeliveryBody, DeliveryDetailBody, EventBody, EventDetailBody, ListQuery, PageBody, RetriedBody,
    ReviewBody,
};
use crate::api::memory::{MemoriesBody, MemoryBody, MemoryPatchBody, MemoryQuery, NewMemoryBody};
use crate::api::webhooks::WebhookAnswer;
use crate::api::{ErrorBody, HealthBody, ReadyBody};

/// Where the document is served.
pub const OPENAPI_PATH: &str = "/api/openapi.json";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(OPENAPI_PATH, web::get().to(serve));
}

async fn serve() -> HttpResponse {
    HttpResponse::Ok().json(document())
}

/// One operation.
struct Op {
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    tag: &'static str,
    query: Vec<Value>,
    body: Option<Value>,
    status: u16,
    response: Option<Value>,
    /// Signed in (the session cookie) or not.
    session: bool,
}

impl Op {
    fn new(
        method: &'static str,
        path: &'static str,
        tag: &'static str,
        summary: &'static str,
    ) -> Self {
        Self {
            method,
            path,
            summary,
            tag,
            query: Vec::new(),
            body: None,
            status: 200,
            response: None,
            session: tag != "webhooks" && tag != "operations",
        }
    }

    fn json<T: JsonSchema>(mut self, g: &mut SchemaGenerator, status: u16) -> Self {
        self.status = status;
        self.response = Some(g.subschema_for::<T>().to_value());
        self
    }

    fn status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    fn body<T: JsonSchema>(mut self, g: &mut SchemaGenerator) -> Self {
        self.body = Some(g.subschema_for::<T>().to_value());
        self
    }

    fn object_body(mut self, what: &str) -> Self {
        self.body = Some(json!({"type": "object", "description": what}));
        self
    }

    /// Query parameters: the properties of `T`'s schema.
    fn query<T: JsonSchema>(mut self) -> Self {
        let schema: Schema = schema_for!(T);
        let value = schema.to_value();
        let required: Vec<&str> = value["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if let Some(properties) = value["properties"].as_object() {
            for (name, schema) in properties {
                self.query.push(json!({
                    "name": name, "in": "query", "required": required.contains(&name.as_str()),
                    "schema": schema,
                }));
            }
        }
        self
    }

    fn query_param(mut self, name: &str, schema: Value, description: &str) -> Self {
        self.query.push(json!({
            "name": name, "in": "query", "required": false, "schema": schema,
            "description": description,
        }));
        self
    }

    fn operation(&self) -> Value {
        let mut parameters: Vec<Value> = self
            .path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .map(|name| {
                let schema = if matches!(name, "id" | "number") {
                    json!({"type": "integer"})
                } else {
                    json!({"type": "string"})
                };
                json!({"name": name, "in": "path", "required": true, "schema": schema})
            })
            .collect();
        parameters.extend(self.query.iter().cloned());
        let mut responses = Map::new();
        let ok = match &self.response {
            Some(schema) if self.path == "/metrics" => json!({
                "description": self.summary,
                "content": {"text/plain": {"schema": schema}},
            }),
            Some(schema) => json!({
                "description": self.summary,
                "content": {"application/json": {"schema": schema}},
            }),
            None => json!({"description": self.summary}),
        };
        responses.insert(self.status.to_string(), ok);
        let error = json!({
            "description": "Refused or failed: the detail says why",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
        });
        responses.insert("4XX".into(), error.clone());
        responses.insert("5XX".into(), error);
        let id = format!(
            "{}{}",
            self.method,
            self.path
                .split(|c: char| !c.is_ascii_alphanumeric())
                .filter(|s| !s.is_empty())
                .map(|s| {
                    let mut c = s.chars();
                    c.next()
                        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                        .unwrap_or_default()
                })
                .collect::<String>()
        );
        let mut op = json!({
            "operationId": id,
            "summary": self.summary,
            "tags": [self.tag],
            "parameters": parameters,
            "responses": responses,
        });
        if let Some(body) = &self.body {
            op["requestBody"] = json!({
                "required": true,
                "content": {"application/json": {"schema": body}},
            });
        }
        if self.session {
            op["security"] = json!([{"session": []}]);
        }
        op
    }
}

/// Every operation nectr serves.
fn operations(g: &mut SchemaGenerator) -> Vec<Op> {
    vec![
        Op::new(
            "get",
            "/health",
            "operations",
            "The process is up and its database answers",
        )
        .json::<HealthBody>(g, 200),
        Op::new(
            "get",
            "/readyz",
            "operations",
            "The database answers and every migration is applied",
        )
        .json::<ReadyBody>(g, 200),
        Op::new("get", "/livez", "operations", "The process answers"),
        Op::new(
            "get",
            "/metrics",
            "operations",
            "Prometheus's text format (a bearer token when METRICS_TOKEN is set)",
        )
        .status(200),
        Op::new("get", OPENAPI_PATH, "operations", "This document").status(200),
        Op::new(
            "post",
            "/api/v1/webhooks/github",
            "webhooks",
            "A GitHub delivery (X-GitHub-Event, X-GitHub-Delivery, X-Hub-Signature-256)",
        )
        .object_body("GitHub's webhook payload, signed")
        .json::<WebhookAnswer>(g, 200),
        Op::new(
            "post",
            "/api/v1/webhooks/linear",
            "webhooks",
            "A Linear delivery (Linear-Signature, Linear-Delivery)",
        )
        .object_body("Linear's webhook payload, signed")
        .json::<WebhookAnswer>(g, 200),
        Op::new(
            "get",
            "/auth/github",
            "auth",
            "Sign in: redirects to GitHub",
        )
        .status(302),
        Op::new(
            "get",
            "/auth/github/callback",
            "auth",
            "GitHub's redirect back: starts the session",
        )
        .query::<CallbackQuery>()
        .status(302),
        Op::new("get", "/auth/me", "auth", "The signed-in user").json::<MeBody>(g, 200),
        Op::new("post", "/auth/logout", "auth", "Ends the session").status(204),
        Op::new(
            "get",
            "/api/v1/repos",
            "repositories",
            "The user's GitHub repositories",
        )
        .json::<RepositoriesBody>(g, 200),
        Op::new(
            "post",
            "/api/v1/repos/{owner}/{repo}/install",
            "repositories",
            "Connects a repository (its webhook)",
        )
        .json::<InstallationBody>(g, 201),
        Op::new(
            "delete",
            "/api/v1/repos/{owner}/{repo}/install",
            "repositories",
            "Disconnects a repository",
        )
        .json::<DisconnectedBody>(g, 200),
        Op::new(
            "post",
            "/api/v1/repos/{owner}/{repo}/rotate-secret",
            "repositories",
            "Gives the webhook a fresh secret",
        )
        .json::<RotatedBody>(g, 200),
        Op::new(
            "post",
            "/api/v1/repos/{owner}/{repo}/webhook/events",
            "repositories",
            "Subscribes the webhook to every event nectr reads",
        )
        .json::<SubscribedBody>(g, 200),
        Op::new(
            "get",
            "/api/v1/events",
            "management",
            "Events of the user's repositories",
        )
        .query::<ListQuery>()
        .json::<PageBody<EventBody>>(g, 200),
        Op::new(
            "get",
            "/api/v1/events/{id}",
            "management",
            "One event with its runs",
        )
        .json::<EventDetailBody>(g, 200),
        Op::new(
            "post",
            "/api/v1/events/{id}/retry",
            "management",
            "Queues a failed or skipped event again",
        )
        .json::<RetriedBody>(g, 200),
        Op::new("get", "/api/v1/reviews", "management", "Reviews posted")
            .query::<ListQuery>()
            .json::<PageBody<ReviewBody>>(g, 200),
        Op::new(
            "get",
            "/api/v1/deliveries",
            "management",
            "The delivery log",
        )
        .query::<ListQuery>()
        .json::<PageBody<DeliveryBody>>(g, 200),
        Op::new(
            "get",
            "/api/v1/deliveries/{id}",
            "management",
            "One delivery with its redacted headers",
        )
        .json::<DeliveryDetailBody>(g, 200),
        Op::new(
            "get",
            "/api/v1/repos/{owner}/{repo}/experts",
            "knowledge",
            "Who knows these files",
        )
        .query_param(
            "path",
            json!({"type": "array", "items": {"type": "string"}}),
            "a file; repeat for more",
        )
        .query_param(
            "limit",
            json!({"type": "integer", "minimum": 1, "maximum": 50}),
            "answers at most",
        )
        .json::<ExpertsBody>(g, 200),
        Op::new(
            "get",
            "/api/v1/repos/{owner}/{repo}/pulls/{number}/related",
            "knowledge",
            "Pull requests that touched what this one touches",
        )
        .query_param(
            "limit",
            json!({"type": "integer", "minimum": 1, "maximum": 50}),
            "answers at most",
        )
        .json::<RelatedPullsBody>(g, 200),
        Op::new(
            "get",
            "/api/v1/repos/{owner}/{repo}/memories",
            "memory",
            "The repository's memories",
        )
        .query::<MemoryQuery>()
        .json::<MemoriesBody>(g, 200),
        Op::new(
            "post",
            "/api/v1/repos/{owner}/{repo}/memories",
            "memory",
            "Remembers something",
        )
        .body::<NewMemoryBody>(g)
        .json::<MemoryBody>(g, 201),
        Op::new(
            "get",
            "/api/v1/repos/{owner}/{repo}/memories/{id}",
            "memory",
            "One memory",
        )
        .json::<MemoryBody>(g, 200),
        Op::new(
            "patch",
            "/api/v1/repos/{owner}/{repo}/memories/{id}",
            "memory",
            "Accepts, rejects or edits a memory",
        )
        .body::<MemoryPatchBody>(g)
        .json::<MemoryBody>(g, 200),
        Op::new(
            "delete",
            "/api/v1/repos/{owner}/{repo}/memories/{id}",
            "memory",
            "Forgets a memory",
        )
        .status(204),
        Op::new(
            "get",
            "/api/v1/repos/{owner}/{repo}/settings",
            "controls",
            "The installation's default .nectr.toml",
        )
        .json::<SettingsBody>(g, 200),
        Op::new(
            "put",
            "/api/v1/repos/{owner}/{repo}/settings",
            "controls",
            "Replaces the installation's defaults",
        )
        .object_body(".nectr.toml's sections as JSON")
        .json::<SettingsBody>(g, 200),
        Op::new(
            "get",
            "/api/v1/repos/{owner}/{repo}/filters",
            "controls",
            "The delivery filters in force",
        )
        .json::<FiltersBody>(g, 200),
        Op::new(
            "put",
            "/api/v1/repos/{owner}/{repo}/filters",
            "controls",
            "Replaces the delivery filters",
        )
        .body::<FiltersBody>(g)
        .json::<FiltersBody>(g, 200),
        Op::new(
            "get",
            "/api/v1/repos/{owner}/{repo}/usage",
            "controls",
            "Reviews, tokens and dollars per month",
        )
        .json::<UsageBody>(g, 200),
    ]
}

/// The whole document.
pub fn document() -> Value {
    let mut settings = SchemaSettings::draft2020_12();
    settings.definitions_path = "/components/schemas".into();
    let mut generator = settings.into_generator();
    // Every refusal's body, named by the operations' error responses.
    generator.subschema_for::<ErrorBody>();
    let mut paths = Map::new();
    for op in operations(&mut generator) {
        let item = paths
            .entry(op.path.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        item[op.method] = op.operation();
    }
    let schemas = generator.take_definitions(true);
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "nectr",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Self-hosted pull-request reviews: GitHub and Linear webhooks, the management API scoped to the signed-in user's repositories, the project memory and the team's controls.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "nectr_session",
                            "description": "The session cookie set by signing in (`__Host-nectr_session` in production). State-changing requests also send Content-Type: application/json from nectr's own origin."}
            }
        }
    })
}

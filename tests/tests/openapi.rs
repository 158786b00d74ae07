//! `GET /api/openapi.json`: an OpenAPI 3.1 document with every route the server registers (read
//! from the route files, so a new route without its operation fails here), whose every schema
//! reference resolves.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use nectr_tests::{Backend, StatusCode, TestApp};
use serde_json::Value;

/// Every path literal the route files register (`"/api/…"`, `"/auth/…"`, `"/health"`, ...), in
/// `routes/` and its folders.
fn registered_paths() -> BTreeSet<String> {
    let mut folders = vec![
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/app-server/src/routes"),
    ];
    let mut paths = BTreeSet::new();
    while let Some(dir) = folders.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
                continue;
            }
            let text = std::fs::read_to_string(path).unwrap();
            for piece in text.split('"').skip(1).step_by(2) {
                let routed = [
                    "/api/", "/auth/", "/health", "/readyz", "/livez", "/metrics",
                ]
                .iter()
                .any(|p| piece.starts_with(p));
                if routed && !piece.contains(' ') && !piece.contains("://") {
                    paths.insert(piece.to_owned());
                }
            }
        }
    }
    paths
}

/// Every `$ref` in `value`.
fn refs(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                if key == "$ref" {
                    found.extend(v.as_str().map(str::to_owned));
                }
                refs(v, found);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, found)),
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_names_every_route_and_every_reference_resolves() {
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    let answer = app
        .client
        .get(format!("{}/api/openapi.json", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let doc: Value = answer.json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let documented: BTreeSet<String> = doc["paths"].as_object().unwrap().keys().cloned().collect();
    let registered = registered_paths();
    assert!(registered.len() >= 27, "{registered:?}");
    let missing: Vec<&String> = registered.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "routes missing from the OpenAPI document: {missing:?}"
    );

    let mut found = Vec::new();
    refs(&doc, &mut found);
    assert!(found.len() > 20);
    for reference in found {
        let name = reference
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected reference {reference}"));
        assert!(
            doc["components"]["schemas"].get(name).is_some(),
            "{reference} does not resolve"
        );
    }
    let event = &doc["components"]["schemas"]["EventBody"];
    assert!(event["properties"]["status"].is_object(), "{event}");
    let list = &doc["paths"]["/api/v1/events"]["get"];
    assert!(
        list["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "status" && p["in"] == "query")
    );
}

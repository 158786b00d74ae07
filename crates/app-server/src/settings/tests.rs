//! Settings: defaults, production rules, malformed values, and that secrets never show.

use std::collections::HashMap;

use super::*;

fn settings(vars: &[(&str, &str)]) -> Result<Settings, SettingsError> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Settings::from_vars(|k| map.get(k).cloned())
}

#[test]
fn nothing_set_gives_a_development_server_on_sqlite() {
    let s = settings(&[]).unwrap();
    assert_eq!(s.env, AppEnv::Development);
    assert_eq!((s.server.host.as_str(), s.server.port), ("127.0.0.1", 8000));
    assert_eq!(s.database.url.expose_secret(), DEFAULT_DATABASE_URL);
    assert!(!s.github.allow_unsigned_webhooks && !s.server.log_json);
    assert!(s.ingest_policy().global_secret.is_none());
}

#[test]
fn production_refuses_unsigned_webhooks_and_weak_secrets() {
    let err = settings(&[
        ("APP_ENV", "production"),
        ("ALLOW_UNSIGNED_WEBHOOKS", "true"),
    ])
    .unwrap_err();
    assert_eq!(err.name, "ALLOW_UNSIGNED_WEBHOOKS");
    let err = settings(&[
        ("APP_ENV", "production"),
        ("GITHUB_WEBHOOK_SECRET", "short"),
    ])
    .unwrap_err();
    assert_eq!(err.name, "GITHUB_WEBHOOK_SECRET");
    assert!(
        settings(&[("ALLOW_UNSIGNED_WEBHOOKS", "true")])
            .unwrap()
            .github
            .allow_unsigned_webhooks
    );
    assert!(
        settings(&[("APP_ENV", "production"), SESSION, KEYS])
            .unwrap()
            .server
            .log_json
    );
}

const SESSION: (&str, &str) = ("SESSION_KEY", "0123456789abcdef0123456789abcdef");
const KEYS: (&str, &str) = (
    "ENCRYPTION_KEYS",
    "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
);

#[test]
fn production_refuses_to_start_without_strong_session_and_encryption_keys() {
    let prod = ("APP_ENV", "production");
    assert_eq!(settings(&[prod, KEYS]).unwrap_err().name, "SESSION_KEY");
    assert_eq!(
        settings(&[prod, SESSION]).unwrap_err().name,
        "ENCRYPTION_KEYS"
    );
    assert_eq!(
        settings(&[prod, KEYS, ("SESSION_KEY", "short")])
            .unwrap_err()
            .name,
        "SESSION_KEY"
    );
    assert_eq!(
        settings(&[prod, SESSION, ("ENCRYPTION_KEYS", "k1:c2hvcnQ=")])
            .unwrap_err()
            .name,
        "ENCRYPTION_KEYS",
        "a 5-byte key"
    );
    let s = settings(&[prod, SESSION, KEYS]).unwrap();
    let shown = format!("{s:?}");
    assert!(!shown.contains("0123456789abcdef") && !shown.contains("AAECAwQF"));
    assert!(
        settings(&[]).unwrap().accounts.session_key.is_none(),
        "development generates its own"
    );
}

#[test]
fn malformed_values_are_named() {
    for (name, value) in [
        ("PORT", "eighty"),
        ("APP_ENV", "staging"),
        ("DATABASE_URL", "mysql://x"),
        ("REVIEW_ON_REOPENED", "maybe"),
        ("WORKERS", "0"),
        ("MAX_ATTEMPTS", "many"),
        ("LEASE_SECONDS", "1"),
        ("CLAIM_BATCH", "0"),
        ("WRITE_BATCH_MAX", "5000"),
        ("WRITE_BATCH_WAIT_US", "200000"),
        ("WRITE_BATCH_WRITERS", "0"),
    ] {
        assert_eq!(settings(&[(name, value)]).unwrap_err().name, name);
    }
}

#[test]
fn github_urls_default_to_github_com_and_may_point_elsewhere() {
    let s = settings(&[]).unwrap();
    assert_eq!(
        (s.github.api_url.as_str(), s.github.oauth_url.as_str()),
        ("https://api.github.com", "https://github.com")
    );
    assert_eq!(s.webhook_url(), None);
    let s = settings(&[
        ("GITHUB_API_URL", "https://ghe.example.com/api/v3/"),
        ("GITHUB_OAUTH_URL", "https://ghe.example.com"),
        ("BACKEND_URL", "https://nectr.example.com/"),
        ("GITHUB_PAT", "ghp_x"),
    ])
    .unwrap();
    let config = s.github_config();
    assert_eq!(config.api_url, "https://ghe.example.com/api/v3");
    assert_eq!(config.pat.unwrap().expose(), "ghp_x");
    assert_eq!(
        s.webhook_url().as_deref(),
        Some("https://nectr.example.com/api/v1/webhooks/github")
    );
    assert_eq!(
        settings(&[("GITHUB_API_URL", "api.github.com")])
            .unwrap_err()
            .name,
        "GITHUB_API_URL"
    );
}

#[test]
fn the_reviewer_is_builtin_unless_anthropic_is_configured() {
    assert!(matches!(
        settings(&[]).unwrap().ai.reviewer,
        ReviewerChoice::Builtin
    ));
    assert_eq!(
        settings(&[("AI_PROVIDER", "anthropic")]).unwrap_err().name,
        "ANTHROPIC_API_KEY"
    );
    let s = settings(&[
        ("AI_PROVIDER", "anthropic"),
        ("ANTHROPIC_API_KEY", "sk-ant-secret"),
        ("ANTHROPIC_MODEL", "m"),
    ])
    .unwrap();
    let ReviewerChoice::Anthropic(config) = &s.ai.reviewer else {
        panic!("anthropic expected")
    };
    assert_eq!(
        (config.model.as_str(), config.base_url.as_str()),
        ("m", "https://api.anthropic.com")
    );
    assert!(!format!("{s:?}").contains("sk-ant-secret"));
    assert_eq!(
        settings(&[("AI_PROVIDER", "openai")]).unwrap_err().name,
        "OPENAI_API_KEY",
        "OpenAI itself needs a key"
    );
    let s = settings(&[
        ("AI_PROVIDER", "openai"),
        ("OPENAI_BASE_URL", "http://localhost:11434/v1/"),
        ("OPENAI_MODEL", "qwen2.5-coder"),
    ])
    .unwrap();
    let ReviewerChoice::OpenAi(config) = &s.ai.reviewer else {
        panic!("openai expected")
    };
    assert_eq!(
        (config.base_url.as_str(), config.api_key.is_none()),
        ("http://localhost:11434/v1", true),
        "a local server needs no key"
    );
    assert_eq!(
        settings(&[("AI_PROVIDER", "gemini")]).unwrap_err().name,
        "AI_PROVIDER"
    );
}

#[test]
fn parallel_agents_and_the_review_budget_are_settings() {
    let s = settings(&[]).unwrap();
    assert!(!s.ai.parallel_agents);
    assert_eq!(s.review.budget, domain::review::budget::Budget::default());
    let s = settings(&[
        ("PARALLEL_REVIEW_AGENTS", "true"),
        ("REVIEW_CHUNK_TOKENS", "8000"),
        ("REVIEW_MAX_CHUNKS", "3"),
    ])
    .unwrap();
    assert!(s.ai.parallel_agents);
    assert_eq!(
        (s.review.budget.chunk_tokens, s.review.budget.max_chunks),
        (8000, 3)
    );
    assert_eq!(
        settings(&[("REVIEW_MAX_CHUNKS", "0")]).unwrap_err().name,
        "REVIEW_MAX_CHUNKS"
    );
}

#[test]
fn debug_output_hides_secrets() {
    let s = settings(&[
        ("GITHUB_WEBHOOK_SECRET", "very-secret-value"),
        ("DATABASE_URL", "postgres://u:pw@h/db"),
        ("GITHUB_PAT", "ghp_secretpat"),
        ("GITHUB_CLIENT_SECRET", "oauth-client-secret"),
    ])
    .unwrap();
    let shown = format!("{s:?}");
    for secret in [
        "very-secret-value",
        "pw@",
        "ghp_secretpat",
        "oauth-client-secret",
    ] {
        assert!(!shown.contains(secret), "{shown}");
    }
}

#[test]
fn retention_defaults_to_30_and_7_days_and_zero_keeps_forever() {
    let s = settings(&[]).unwrap();
    assert_eq!(
        s.database.retention.deliveries,
        Some(chrono::Duration::days(30))
    );
    assert_eq!(
        s.database.retention.payloads,
        Some(chrono::Duration::days(7))
    );
    assert_eq!(
        s.database.retention_interval,
        std::time::Duration::from_secs(3600)
    );
    let s = settings(&[
        ("DELIVERY_RETENTION_DAYS", "0"),
        ("PAYLOAD_RETENTION_DAYS", "1"),
    ])
    .unwrap();
    assert_eq!(s.database.retention.deliveries, None);
    assert_eq!(
        s.database.retention.payloads,
        Some(chrono::Duration::days(1))
    );
    for (name, value) in [
        ("DELIVERY_RETENTION_DAYS", "-1"),
        ("DELIVERY_RETENTION_DAYS", "36501"),
        ("PAYLOAD_RETENTION_DAYS", "a week"),
        ("RETENTION_INTERVAL_SECONDS", "0"),
    ] {
        assert_eq!(
            settings(&[(name, value)]).unwrap_err().name,
            name,
            "{value}"
        );
    }
}

#[test]
fn a_local_models_context_window_is_read_when_given() {
    let local = [
        ("AI_PROVIDER", "openai"),
        ("OPENAI_BASE_URL", "http://127.0.0.1:8080/v1"),
    ];
    let context = |extra: &[(&'static str, &'static str)]| {
        let vars: Vec<_> = local.iter().chain(extra).copied().collect();
        settings(&vars).map(|s| match s.ai.reviewer {
            ReviewerChoice::OpenAi(config) => config.context_tokens,
            other => panic!("{other:?}"),
        })
    };
    assert_eq!(context(&[]).unwrap(), None);
    assert_eq!(
        context(&[("OPENAI_CONTEXT_TOKENS", "2048")]).unwrap(),
        Some(2048)
    );
    assert_eq!(
        context(&[("OPENAI_CONTEXT_TOKENS", "100")])
            .unwrap_err()
            .name,
        "OPENAI_CONTEXT_TOKENS"
    );
}

#[test]
fn a_graph_server_is_used_only_when_named_by_a_bolt_url() {
    assert!(settings(&[]).unwrap().review.graph_server.is_none());
    let s = settings(&[
        ("GRAPH_URL", "bolt://graph.internal:7687"),
        ("GRAPH_USER", "nectr"),
        ("GRAPH_PASSWORD", "s3cret-graph-password"),
        ("GRAPH_DATABASE", "reviews"),
    ])
    .unwrap();
    let server = s.review.graph_server.unwrap();
    assert_eq!(
        (
            server.url.as_str(),
            server.user.as_str(),
            server.database.as_deref()
        ),
        ("bolt://graph.internal:7687", "nectr", Some("reviews"))
    );
    assert!(
        !format!("{server:?}").contains("s3cret"),
        "the password never shows"
    );
    for bad in ["http://graph:7474", "graph:7687", "bolt://"] {
        assert_eq!(
            settings(&[("GRAPH_URL", bad)]).unwrap_err().name,
            "GRAPH_URL",
            "{bad}"
        );
    }
}

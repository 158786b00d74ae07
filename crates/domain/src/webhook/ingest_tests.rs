//! Unit tests of the ingest use case with every port mocked.

use std::sync::{Arc, Mutex};

use chrono::{TimeZone, Utc};

use super::*;
use crate::clock::MockClock;
use crate::queue::MockWorkSignal;
use crate::webhook::delivery::RejectionCause;
use crate::webhook::payload::{PayloadPullRequest, PayloadSender};
use crate::webhook::ports::{MockDeliveryLog, MockEventStore, MockInstallationStore};
use crate::webhook::signature::{SignatureError, sign};

/// Reads the GitHub-shaped JSON these tests send (the real reader is the GitHub adapter's).
struct JsonPayloads;

impl PayloadReader for JsonPayloads {
    fn read(&self, body: &[u8]) -> crate::Result<DeliveryPayload> {
        let v: serde_json::Value = serde_json::from_slice(body)
            .map_err(|e| crate::Error::invalid("JSON payload", e.to_string()))?;
        if !v.is_object() {
            return Err(crate::Error::invalid("JSON payload", "not an object"));
        }
        let text = |v: &serde_json::Value| v.as_str().map(str::to_owned);
        Ok(DeliveryPayload {
            action: text(&v["action"]),
            repository: text(&v["repository"]["full_name"]),
            sender: v.get("sender").map(|s| PayloadSender {
                login: text(&s["login"]),
                kind: text(&s["type"]),
            }),
            pull_request: v.get("pull_request").map(|pr| PayloadPullRequest {
                number: pr["number"].as_u64(),
                state: text(&pr["state"]),
                draft: pr["draft"].as_bool(),
                head_sha: text(&pr["head"]["sha"]),
                updated_at: None,
                merged: pr["merged"].as_bool(),
            }),
            hook_id: v["hook_id"].as_i64(),
            zen: text(&v["zen"]),
            ..DeliveryPayload::default()
        })
    }
}

const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

fn pr_body(action: &str) -> String {
    serde_json::json!({
        "action": action,
        "number": 3,
        "pull_request": {"number": 3, "state": "open", "draft": false, "head": {"sha": SHA}},
        "repository": {"full_name": "acme/api"},
        "sender": {"login": "octocat", "type": "User"},
    })
    .to_string()
}

fn secret(s: &str) -> WebhookSecret {
    WebhookSecret::parse(s).unwrap()
}

struct Harness {
    installations: MockInstallationStore,
    events: MockEventStore,
    signal: MockWorkSignal,
    logged: Arc<Mutex<Vec<DeliveryRecord>>>,
    policy: IngestPolicy,
}

impl Harness {
    fn new() -> Self {
        let mut installations = MockInstallationStore::new();
        installations
            .expect_delivery_settings()
            .returning(|_, _| Ok(DeliverySettings::default()));
        Self {
            installations,
            events: MockEventStore::new(),
            signal: MockWorkSignal::new(),
            logged: Arc::default(),
            policy: IngestPolicy {
                global_secret: Some(secret("global")),
                ..IngestPolicy::default()
            },
        }
    }

    fn service(self) -> (IngestService, Arc<Mutex<Vec<DeliveryRecord>>>) {
        let mut log = MockDeliveryLog::new();
        let sink = self.logged.clone();
        log.expect_append().returning(move |r| {
            sink.lock().unwrap().push(r);
            Ok(1)
        });
        let mut clock = MockClock::new();
        clock
            .expect_now()
            .returning(|| Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap());
        let service = IngestService::new(
            IngestPorts {
                installations: Arc::new(self.installations),
                events: Arc::new(self.events),
                log: Arc::new(log),
                payloads: Arc::new(JsonPayloads),
                clock: Arc::new(clock),
                signal: Arc::new(self.signal),
            },
            self.policy,
        );
        (service, self.logged)
    }
}

fn request<'a>(event: &'a str, signature: &'a str, body: &'a [u8]) -> DeliveryRequest<'a> {
    DeliveryRequest {
        headers: vec![
            ("Content-Type", "application/json"),
            ("X-GitHub-Event", event),
            ("X-GitHub-Delivery", "d-1"),
            ("X-Hub-Signature-256", signature),
        ],
        body: RequestBody::Complete(body),
    }
}

#[tokio::test]
async fn a_signed_opened_pull_request_is_queued_for_review() {
    let mut h = Harness::new();
    h.events.expect_record().times(1).returning(|event, _| {
        let Disposition::Queue {
            key,
            window_start,
            kind,
        } = &event.disposition
        else {
            panic!("not queued")
        };
        assert_eq!(*kind, crate::queue::JobKind::Review);
        assert_eq!(key.repository.as_str(), "acme/api");
        assert_eq!(key.pr_number, 3);
        assert_eq!(
            window_start,
            &Utc.with_ymd_and_hms(2026, 11, 22, 11, 0, 0).unwrap()
        );
        Ok(Recorded::Queued {
            event_id: 42,
            superseded: 0,
        })
    });
    // The queued review wakes one idle worker.
    h.signal.expect_work_queued().times(1).return_const(());
    let (service, _) = h.service();
    let body = pr_body("opened");
    let sig = sign(&secret("global"), body.as_bytes());
    let outcome = service
        .ingest(request("pull_request", &sig, body.as_bytes()))
        .await
        .unwrap();
    assert_eq!(
        outcome,
        IngestOutcome::Received {
            event_id: 42,
            event_type: "opened_pull_request".into()
        }
    );
}

#[tokio::test]
async fn the_installation_secret_wins_over_the_global_one() {
    let mut h = Harness::new();
    h.installations = MockInstallationStore::new();
    h.installations
        .expect_delivery_settings()
        .returning(|repo, _| {
            assert_eq!(repo.as_str(), "acme/api");
            Ok(DeliverySettings {
                secrets: vec![secret("per-repo")],
                filters: Vec::new(),
            })
        });
    let (service, logged) = h.service();
    let body = pr_body("opened");
    let signed_with_global = sign(&secret("global"), body.as_bytes());
    let outcome = service
        .ingest(request(
            "pull_request",
            &signed_with_global,
            body.as_bytes(),
        ))
        .await
        .unwrap();
    assert_eq!(
        outcome,
        IngestOutcome::Rejected(RejectionCause::Signature(SignatureError::Mismatch))
    );
    assert_eq!(
        logged.lock().unwrap()[0].cause.as_deref(),
        Some("signature_mismatch")
    );
}

#[tokio::test]
async fn with_no_secret_at_all_deliveries_are_refused() {
    let mut h = Harness::new();
    h.policy.global_secret = None;
    let (service, logged) = h.service();
    let body = pr_body("opened");
    let outcome = service
        .ingest(request("pull_request", "", body.as_bytes()))
        .await
        .unwrap();
    assert_eq!(
        outcome,
        IngestOutcome::Rejected(RejectionCause::NoSecretConfigured)
    );
    assert_eq!(outcome.http_status(), 403);
    assert_eq!(
        logged.lock().unwrap()[0].cause.as_deref(),
        Some("no_secret_configured")
    );
}

#[tokio::test]
async fn the_insecure_setting_accepts_unsigned_deliveries_only_when_no_secret_applies() {
    let mut h = Harness::new();
    h.policy.global_secret = None;
    h.policy.allow_unsigned = true;
    h.events.expect_record().times(1).returning(|_, _| {
        Ok(Recorded::Queued {
            event_id: 1,
            superseded: 0,
        })
    });
    h.signal.expect_work_queued().times(1).return_const(());
    let (service, _) = h.service();
    let body = pr_body("synchronize");
    let outcome = service
        .ingest(request("pull_request", "", body.as_bytes()))
        .await
        .unwrap();
    assert!(matches!(outcome, IngestOutcome::Received { .. }));

    let mut h = Harness::new();
    h.policy.allow_unsigned = true; // a global secret is set: it must still be checked
    let (service, _) = h.service();
    let outcome = service
        .ingest(request("pull_request", "", body.as_bytes()))
        .await
        .unwrap();
    assert_eq!(
        outcome,
        IngestOutcome::Rejected(RejectionCause::Signature(SignatureError::Missing))
    );
}

#[tokio::test]
async fn ping_answers_pong_and_records_no_event() {
    let (service, logged) = Harness::new().service();
    let body = br#"{"zen":"Keep it logically awesome.","hook_id":9,"repository":{"full_name":"acme/api"}}"#;
    let sig = sign(&secret("global"), body);
    let outcome = service.ingest(request("ping", &sig, body)).await.unwrap();
    assert_eq!(
        outcome,
        IngestOutcome::Pong {
            hook_id: Some(9),
            zen: Some("Keep it logically awesome.".into())
        }
    );
    assert_eq!(logged.lock().unwrap()[0].outcome, DeliveryOutcome::Pong);
}

#[tokio::test]
async fn github_app_deliveries_are_ignored_before_anything_else() {
    let (service, logged) = Harness::new().service();
    let mut req = request("pull_request", "", b"not even json");
    req.headers
        .push(("X-GitHub-Hook-Installation-Target-Type", "integration"));
    let outcome = service.ingest(req).await.unwrap();
    assert!(
        matches!(outcome, IngestOutcome::Ignored { .. }),
        "{outcome:?}"
    );
    assert_eq!(
        logged.lock().unwrap()[0].cause.as_deref(),
        Some("github_app_delivery")
    );
}

#[tokio::test]
async fn each_bad_request_is_rejected_and_logged_with_its_cause() {
    let body = pr_body("opened");
    let sig = sign(&secret("global"), body.as_bytes());
    let cases: Vec<(DeliveryRequest<'_>, u16, &str)> = vec![
        (
            DeliveryRequest {
                headers: vec![],
                body: RequestBody::TooLarge { size: 30 << 20 },
            },
            413,
            "payload_too_large",
        ),
        (
            DeliveryRequest {
                headers: vec![("Content-Type", "application/json")],
                body: RequestBody::Complete(b"{}"),
            },
            400,
            "missing_event_header",
        ),
        (
            DeliveryRequest {
                headers: vec![
                    ("X-GitHub-Event", "push"),
                    ("Content-Type", "application/x-www-form-urlencoded"),
                ],
                body: RequestBody::Complete(b"payload=%7B%7D"),
            },
            415,
            "unsupported_media_type",
        ),
        (
            DeliveryRequest {
                headers: vec![
                    ("X-GitHub-Event", "push"),
                    ("Content-Type", "application/json"),
                ],
                body: RequestBody::Complete(b"{}"),
            },
            400,
            "missing_delivery_id",
        ),
        (
            request("pull_request", &sig, b"{\"action\":"),
            400,
            "malformed_json",
        ),
        (
            request("pull_request", "sha1=abc", body.as_bytes()),
            403,
            "signature_wrong_prefix",
        ),
    ];
    for (req, status, cause) in cases {
        let (service, logged) = Harness::new().service();
        let outcome = service.ingest(req).await.unwrap();
        assert_eq!(outcome.http_status(), status, "{cause}");
        let logged = logged.lock().unwrap();
        assert_eq!(logged.len(), 1);
        assert_eq!(logged[0].cause.as_deref(), Some(cause));
        assert_eq!(logged[0].status_code, status);
        assert_eq!(logged[0].outcome, DeliveryOutcome::Rejected);
    }
}

#[tokio::test]
async fn a_signed_pull_request_missing_its_head_sha_is_a_bad_request() {
    let (service, _) = Harness::new().service();
    let body =
        br#"{"action":"opened","pull_request":{"number":1},"repository":{"full_name":"acme/api"}}"#;
    let sig = sign(&secret("global"), body);
    let outcome = service
        .ingest(request("pull_request", &sig, body))
        .await
        .unwrap();
    assert_eq!(outcome.http_status(), 400);
    assert!(matches!(
        outcome,
        IngestOutcome::Rejected(RejectionCause::InvalidPayload(_))
    ));
}

#[tokio::test]
async fn duplicates_are_answered_with_a_detail() {
    let mut h = Harness::new();
    h.events
        .expect_record()
        .returning(|_, _| Ok(Recorded::AlreadyInFlight { event_id: 5 }));
    let (service, _) = h.service();
    let body = pr_body("opened");
    let sig = sign(&secret("global"), body.as_bytes());
    let outcome = service
        .ingest(request("pull_request", &sig, body.as_bytes()))
        .await
        .unwrap();
    assert_eq!(
        outcome,
        IngestOutcome::DuplicateSkipped {
            detail: "Event already exists for acme/api#3".into()
        }
    );
}

#[tokio::test]
async fn a_store_failure_is_an_error_not_an_answer() {
    let mut h = Harness::new();
    h.events
        .expect_record()
        .returning(|_, _| Err(crate::Error::Transient("database is down".into())));
    let (service, _) = h.service();
    let body = pr_body("opened");
    let sig = sign(&secret("global"), body.as_bytes());
    assert!(
        service
            .ingest(request("pull_request", &sig, body.as_bytes()))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_delivery_a_cached_copy_does_not_verify_is_decided_on_a_fresh_read() {
    let mut h = Harness::new();
    h.installations = MockInstallationStore::new();
    // The copy still holds the secret another process has just rotated out.
    h.installations
        .expect_delivery_settings()
        .withf(|_, fresh| !fresh)
        .times(1)
        .returning(|_, _| {
            Ok(DeliverySettings {
                secrets: vec![secret("old")],
                filters: Vec::new(),
            })
        });
    h.installations
        .expect_delivery_settings()
        .withf(|_, fresh| *fresh)
        .times(1)
        .returning(|_, _| {
            Ok(DeliverySettings {
                secrets: vec![secret("new"), secret("old")],
                filters: Vec::new(),
            })
        });
    h.events.expect_record().times(1).returning(|_, _| {
        Ok(Recorded::Queued {
            event_id: 3,
            superseded: 0,
        })
    });
    h.signal.expect_work_queued().times(1).return_const(());
    let (service, _) = h.service();
    let body = pr_body("opened");
    let sig = sign(&secret("new"), body.as_bytes());
    let outcome = service
        .ingest(request("pull_request", &sig, body.as_bytes()))
        .await
        .unwrap();
    assert!(
        matches!(outcome, IngestOutcome::Received { event_id: 3, .. }),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn a_delivery_the_cached_copy_verifies_needs_no_other_read() {
    let mut h = Harness::new();
    h.installations = MockInstallationStore::new();
    h.installations
        .expect_delivery_settings()
        .withf(|_, fresh| !fresh)
        .times(1)
        .returning(|_, _| {
            Ok(DeliverySettings {
                secrets: vec![secret("per-repo")],
                filters: Vec::new(),
            })
        });
    h.events.expect_record().times(1).returning(|_, _| {
        Ok(Recorded::Queued {
            event_id: 4,
            superseded: 0,
        })
    });
    h.signal.expect_work_queued().times(1).return_const(());
    let (service, _) = h.service();
    let body = pr_body("opened");
    let sig = sign(&secret("per-repo"), body.as_bytes());
    let outcome = service
        .ingest(request("pull_request", &sig, body.as_bytes()))
        .await
        .unwrap();
    assert!(matches!(
        outcome,
        IngestOutcome::Received { event_id: 4, .. }
    ));
}

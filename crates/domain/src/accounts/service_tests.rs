//! The accounts use cases against mocked ports: the connect rules (already yours, another user's, the
//! webhook removed again when the store refuses) and retry scoping.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;

use super::*;
use crate::accounts::github::{CreatedHook, MockOAuthClient, MockWebhookManager};
use crate::accounts::model::RetryOutcome;
use crate::accounts::ports::{
    MockInstallationRegistry, MockManagementStore, MockSessionStore, MockUserStore,
};
use crate::queue::MockWorkSignal;
use crate::webhook::values::WebhookSecret;

fn user(id: i64) -> User {
    User {
        id,
        github_id: id * 10,
        login: format!("user{id}"),
        name: None,
        email: None,
        avatar_url: None,
    }
}

fn installation(user_id: i64) -> Installation {
    Installation {
        id: 5,
        user_id,
        repository: RepoFullName::parse("acme/web").unwrap(),
        webhook_id: Some(77),
        active: true,
        created_at: Utc::now(),
        previous_secret_valid_until: None,
    }
}

struct Mocks {
    users: MockUserStore,
    installations: MockInstallationRegistry,
    management: MockManagementStore,
    hooks: MockWebhookManager,
    signal: MockWorkSignal,
}

impl Mocks {
    fn new() -> Self {
        let mut users = MockUserStore::new();
        users
            .expect_user_token()
            .returning(|_| Ok(Some(AccessToken::new("gho_token"))));
        Self {
            users,
            installations: MockInstallationRegistry::new(),
            management: MockManagementStore::new(),
            hooks: MockWebhookManager::new(),
            signal: MockWorkSignal::new(),
        }
    }

    fn service(self) -> AccountService {
        AccountService::new(
            AccountPorts {
                users: Arc::new(self.users),
                sessions: Arc::new(MockSessionStore::new()),
                installations: Arc::new(self.installations),
                management: Arc::new(self.management),
                hooks: Arc::new(self.hooks),
                oauth: Arc::new(MockOAuthClient::new()),
                signal: Arc::new(self.signal),
            },
            AccountPolicy {
                webhook_url: Some("https://nectr.example.com/api/v1/webhooks/github".into()),
                callback_url: None,
                secret_grace: Duration::from_secs(3600),
                session_ttl: Duration::from_secs(3600),
                state_ttl: Duration::from_secs(600),
            },
        )
    }
}

fn repo() -> RepoFullName {
    RepoFullName::parse("acme/web").unwrap()
}

#[tokio::test]
async fn connecting_ones_own_repository_again_changes_nothing() {
    let mut m = Mocks::new();
    m.installations
        .expect_active_installation()
        .returning(|_| Ok(Some(installation(1))));
    m.hooks.expect_install_hook().never();
    let connected = m.service().connect(&user(1), &repo()).await.unwrap();
    assert!(!connected.created);
    assert_eq!(connected.installation.id, 5);
}

#[tokio::test]
async fn another_users_repository_is_a_conflict_without_calling_github() {
    let mut m = Mocks::new();
    m.installations
        .expect_active_installation()
        .returning(|_| Ok(Some(installation(2))));
    m.hooks.expect_install_hook().never();
    let err = m.service().connect(&user(1), &repo()).await.unwrap_err();
    assert!(
        matches!(err, AccountError::ConnectedByAnother(_)),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_store_that_refuses_the_installation_gets_the_new_webhook_removed_again() {
    let mut m = Mocks::new();
    m.installations
        .expect_active_installation()
        .returning(|_| Ok(None));
    m.hooks.expect_install_hook().times(1).returning(|_, _, _| {
        Ok(CreatedHook {
            id: 91,
            secret: WebhookSecret::parse("fresh-secret-0123456789").unwrap(),
        })
    });
    m.installations
        .expect_create_installation()
        .times(1)
        .returning(|_, _, _, _| Err(Error::Duplicate("ux_installations_active_repo".into())));
    m.hooks
        .expect_uninstall_hook()
        .withf(|_, _, id| *id == 91)
        .times(1)
        .returning(|_, _, _| Ok(()));
    let err = m.service().connect(&user(1), &repo()).await.unwrap_err();
    assert!(
        matches!(err, AccountError::ConnectedByAnother(_)),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_event_outside_the_callers_scope_is_not_retried() {
    let mut m = Mocks::new();
    m.management.expect_event().returning(|_, _| Ok(None));
    m.management.expect_requeue().never();
    m.signal.expect_work_queued().never();
    let err = m
        .service()
        .retry_event(&Scope::default(), 3, Utc::now())
        .await
        .unwrap_err();
    assert!(matches!(err, AccountError::NoSuchEvent), "{err:?}");
}

#[tokio::test]
async fn a_retried_event_wakes_a_worker() {
    let mut m = Mocks::new();
    m.management.expect_event().returning(|_, id| {
        Ok(Some(crate::accounts::model::EventView {
            id,
            delivery_id: "d".into(),
            event: "pull_request".into(),
            action: None,
            event_type: "opened_pull_request".into(),
            repository: Some("acme/web".into()),
            pr_number: Some(1),
            head_sha: None,
            sender: None,
            status: "failed".into(),
            reason: None,
            attempts: 5,
            last_error: None,
            run_at: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
            processed_at: None,
        }))
    });
    m.management
        .expect_requeue()
        .times(1)
        .returning(|_, _| Ok(RetryOutcome::Queued));
    m.signal.expect_work_queued().times(1).return_const(());
    m.service()
        .retry_event(&Scope::default(), 3, Utc::now())
        .await
        .unwrap();
}

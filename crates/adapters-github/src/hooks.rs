//! `WebhookManager` on GitHub: the user's repositories, and nectr's webhook on one of them with secrets
//! from the system's CSPRNG.

use async_trait::async_trait;
use domain::accounts::github::{CreatedHook, HOOK_EVENTS, Repository, WebhookManager};
use domain::codehost::{AccessToken, CodeHostError, CodeHostResult};
use domain::webhook::values::{RepoFullName, WebhookSecret};
use http::Method;
use ring::rand::{SecureRandom, SystemRandom};
use serde_json::json;

use crate::client::{GitHub, JSON};
use crate::codehost::encode_path;
use crate::wire;

/// 32 random bytes from the operating system's generator, as 64 hex characters.
pub fn generate_secret() -> CodeHostResult<WebhookSecret> {
    let mut bytes = [0u8; 32];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| CodeHostError::Permanent("the system random generator failed".into()))?;
    WebhookSecret::parse(&hex::encode(bytes)).map_err(|e| CodeHostError::Permanent(e.to_string()))
}

fn hooks_path(repo: &RepoFullName) -> String {
    format!(
        "/repos/{}/{}/hooks",
        encode_path(repo.owner()),
        encode_path(repo.name())
    )
}

fn secret_text(secret: &WebhookSecret) -> String {
    String::from_utf8_lossy(secret.expose()).into_owned()
}

#[async_trait]
impl WebhookManager for GitHub {
    async fn install_hook(
        &self,
        token: Option<AccessToken>,
        repo: &RepoFullName,
        url: &str,
    ) -> CodeHostResult<CreatedHook> {
        let secret = generate_secret()?;
        let body = json!({
            "name": "web",
            "active": true,
            "events": HOOK_EVENTS,
            "config": {
                "url": url,
                "content_type": "json",
                "insecure_ssl": "0",
                "secret": secret_text(&secret),
            },
        });
        let reply = self
            .call(
                "create webhook",
                token.as_ref(),
                Method::POST,
                &hooks_path(repo),
                Some(&body),
                JSON,
            )
            .await?;
        let created: wire::Created = reply.json("create webhook")?;
        tracing::info!(repository = %repo, hook_id = created.id, "webhook installed");
        Ok(CreatedHook {
            id: created.id,
            secret,
        })
    }

    async fn uninstall_hook(
        &self,
        token: Option<AccessToken>,
        repo: &RepoFullName,
        hook_id: u64,
    ) -> CodeHostResult<()> {
        let path = format!("{}/{hook_id}", hooks_path(repo));
        match self
            .call(
                "delete webhook",
                token.as_ref(),
                Method::DELETE,
                &path,
                None,
                JSON,
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(CodeHostError::NotFound(_)) => {
                tracing::info!(repository = %repo, hook_id, "webhook already gone");
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    async fn rotate_hook_secret(
        &self,
        token: Option<AccessToken>,
        repo: &RepoFullName,
        hook_id: u64,
    ) -> CodeHostResult<WebhookSecret> {
        let secret = generate_secret()?;
        let body =
            json!({ "content_type": "json", "insecure_ssl": "0", "secret": secret_text(&secret) });
        let path = format!("{}/{hook_id}/config", hooks_path(repo));
        self.call(
            "update webhook secret",
            token.as_ref(),
            Method::PATCH,
            &path,
            Some(&body),
            JSON,
        )
        .await?;
        Ok(secret)
    }

    async fn subscribe_events(
        &self,
        token: Option<AccessToken>,
        repo: &RepoFullName,
        hook_id: u64,
    ) -> CodeHostResult<()> {
        let body = json!({ "add_events": HOOK_EVENTS });
        let path = format!("{}/{hook_id}", hooks_path(repo));
        self.call(
            "update webhook events",
            token.as_ref(),
            Method::PATCH,
            &path,
            Some(&body),
            JSON,
        )
        .await?;
        Ok(())
    }

    async fn user_repositories(
        &self,
        token: Option<AccessToken>,
    ) -> CodeHostResult<Vec<Repository>> {
        let path = "/user/repos?affiliation=owner,collaborator,organization_member&sort=full_name";
        self.list::<wire::Repo, _>("list repositories", token.as_ref(), path)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::generate_secret;

    #[test]
    fn secrets_are_64_hex_characters_and_differ() {
        let a = String::from_utf8(generate_secret().unwrap().expose().to_vec()).unwrap();
        let b = String::from_utf8(generate_secret().unwrap().expose().to_vec()).unwrap();
        assert_eq!(a.len(), 64);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}

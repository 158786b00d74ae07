//! `OAuthClient` on GitHub's web flow: exchange a code for a token, then read the user.

use async_trait::async_trait;
use domain::accounts::github::{GitHubUser, OAuthClient, OAuthGrant};
use domain::codehost::{AccessToken, CodeHostError, CodeHostResult};
use http::Method;
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::json;

use crate::client::{GitHub, JSON};
use crate::codehost::encode_value;
use crate::wire;

/// GitHub answers 200 with either a token or an `error`.
#[derive(Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    scope: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

#[async_trait]
impl OAuthClient for GitHub {
    fn authorize_url(
        &self,
        state: &str,
        scopes: &str,
        redirect_uri: Option<String>,
    ) -> Option<String> {
        let client_id = self.config.client_id.as_deref()?;
        let mut url = format!(
            "{}/login/oauth/authorize?client_id={}&scope={}&state={}",
            self.config.oauth_url.trim_end_matches('/'),
            encode_value(client_id),
            encode_value(scopes),
            encode_value(state)
        );
        if let Some(redirect_uri) = redirect_uri {
            url.push_str(&format!("&redirect_uri={}", encode_value(&redirect_uri)));
        }
        Some(url)
    }

    async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: Option<String>,
    ) -> CodeHostResult<OAuthGrant> {
        let (Some(client_id), Some(client_secret)) =
            (&self.config.client_id, &self.config.client_secret)
        else {
            return Err(CodeHostError::Permanent(
                "GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET are not configured".into(),
            ));
        };
        let mut body = json!({
            "client_id": client_id,
            "client_secret": client_secret.expose_secret(),
            "code": code,
        });
        if let Some(redirect_uri) = redirect_uri.as_deref() {
            body["redirect_uri"] = json!(redirect_uri);
        }
        let reply = self
            .call_oauth("exchange OAuth code", "/login/oauth/access_token", &body)
            .await?;
        let answer: TokenAnswer = reply.json("exchange OAuth code")?;
        match (answer.access_token, answer.error) {
            (Some(token), None) if !token.is_empty() => Ok(OAuthGrant {
                token: AccessToken::new(token),
                scopes: answer
                    .scope
                    .unwrap_or_default()
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect(),
            }),
            (_, error) => Err(CodeHostError::Validation(format!(
                "exchange OAuth code: {}: {}",
                error.as_deref().unwrap_or("no token"),
                answer
                    .error_description
                    .as_deref()
                    .unwrap_or("GitHub gave no access token")
            ))),
        }
    }

    async fn user(&self, token: &AccessToken) -> CodeHostResult<GitHubUser> {
        let reply = self
            .call("get user", Some(token), Method::GET, "/user", None, JSON)
            .await?;
        Ok(reply.json::<wire::User>("get user")?.into())
    }
}

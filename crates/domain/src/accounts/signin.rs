//! Signing in with GitHub: a single-use state out, the code exchanged for a token on the way back, the
//! user stored with the token sealed, and a session started (its token for the cookie, its hash in the
//! store).

use chrono::{DateTime, Utc};

use crate::accounts::model::User;
use crate::accounts::service::{AccountError, AccountService, Result, SCOPES, SignedIn, until};
use crate::accounts::tokens;
use crate::codehost::CodeHostError;

impl AccountService {
    /// Starts a sign-in: a fresh single-use state, stored as its hash, and the GitHub page to send
    /// the browser to. Returns `(state, url)`.
    ///
    /// # Errors
    /// `NotConfigured` without an OAuth app; `Store` when the state cannot be made or stored.
    pub async fn start_sign_in(&self, now: DateTime<Utc>) -> Result<(String, String)> {
        let state = tokens::new_token()?;
        let url = self
            .ports
            .oauth
            .authorize_url(&state, SCOPES, self.policy.callback_url.clone())
            .ok_or(AccountError::NotConfigured(
                "GitHub sign-in is not configured: set GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET",
            ))?;
        let expires = until(now, self.policy.state_ttl, chrono::Duration::minutes(10));
        self.ports
            .sessions
            .create_oauth_state(&tokens::hash(&state), expires)
            .await?;
        Ok((state, url))
    }

    /// Completes a sign-in: the state is used up whatever happens next, the code exchanged, the user
    /// stored with the token sealed, and a session started.
    ///
    /// # Errors
    /// `SignIn` for an unknown, used or expired state or a code GitHub refuses; `SignInUnavailable`
    /// when GitHub fails; `Store` when the store does.
    pub async fn finish_sign_in(
        &self,
        state: &str,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<SignedIn> {
        let sessions = &self.ports.sessions;
        if !sessions.take_oauth_state(&tokens::hash(state), now).await? {
            return Err(AccountError::SignIn(
                "unknown, used or expired sign-in state; start again at /auth/github".into(),
            ));
        }
        let oauth = &self.ports.oauth;
        let grant = match oauth
            .exchange_code(code, self.policy.callback_url.clone())
            .await
        {
            Ok(grant) => grant,
            Err(CodeHostError::Validation(message)) => {
                return Err(AccountError::SignIn(format!(
                    "GitHub refused the sign-in: {message}"
                )));
            }
            Err(e) => {
                tracing::warn!(error = %e, "OAuth code exchange failed");
                return Err(AccountError::SignInUnavailable(
                    "GitHub could not complete the sign-in",
                ));
            }
        };
        let user = oauth.user(&grant.token).await.map_err(|e| {
            tracing::warn!(error = %e, "reading the signed-in user failed");
            AccountError::SignInUnavailable("GitHub could not tell who signed in")
        })?;
        let user_id = self.ports.users.upsert_user(&user, &grant.token).await?;
        let session_token = tokens::new_token()?;
        let expires_at = until(now, self.policy.session_ttl, chrono::Duration::days(7));
        sessions
            .create_session(&tokens::hash(&session_token), user_id, expires_at)
            .await?;
        tracing::info!(user = %user.login, "signed in");
        Ok(SignedIn {
            login: user.login,
            session_token,
            expires_at,
        })
    }

    /// The user of a live session token.
    ///
    /// # Errors
    /// `Store` when the store fails.
    pub async fn session_user(&self, token: &str, now: DateTime<Utc>) -> Result<Option<User>> {
        Ok(self
            .ports
            .sessions
            .session_user(&tokens::hash(token), now)
            .await?)
    }

    /// Ends the session of `token`.
    ///
    /// # Errors
    /// `Store` when the store fails.
    pub async fn sign_out(&self, token: &str) -> Result<()> {
        Ok(self
            .ports
            .sessions
            .delete_session(&tokens::hash(token))
            .await?)
    }
}

//! Accounts: users with their GitHub token (sealed), sign-in sessions and single-use OAuth states
//! (the `UserStore` and `SessionStore` ports). Sessions and states are stored as SHA-256 hashes: the
//! database never holds a usable cookie.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::accounts::crypto::Keyring;
use domain::accounts::github::GitHubUser;
use domain::accounts::{SessionStore, User, UserStore};
use domain::codehost::AccessToken;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};

use crate::entities::{installations, oauth_states, sessions, users};
use crate::{Db, DbError, Result};

/// What a user's token is sealed for: it opens only on that user's row.
pub(crate) fn token_context(github_id: i64) -> String {
    format!("user-token:{github_id}")
}

/// What a webhook secret is sealed for: it opens only for that repository.
pub(crate) fn secret_context(repo_key: &str) -> String {
    format!("webhook-secret:{repo_key}")
}

impl Db {
    pub(crate) fn keys(&self) -> Result<&Keyring> {
        self.keyring
            .as_deref()
            .ok_or_else(|| DbError::Corrupt("no encryption keys are configured".into()))
    }

    pub(crate) fn seal(&self, value: &[u8], context: &str) -> Result<String> {
        self.keys()?
            .seal(value, context)
            .map_err(|e| DbError::Corrupt(e.to_string()))
    }

    pub(crate) fn open(&self, sealed: &str, context: &str, what: &str) -> Result<Vec<u8>> {
        self.keys()?
            .open(sealed, context)
            .map_err(|e| DbError::Corrupt(format!("{what}: {e}")))
    }

    /// Seals what is still stored in plain text (written before encryption) and reseals what an older
    /// key sealed, so a retired key can be removed. Returns how many values were sealed. Run at
    /// start-up.
    pub async fn seal_stored_secrets(&self) -> Result<usize> {
        let keys = self.keys()?;
        let mut sealed = 0;
        for user in users::Entity::find().all(&self.writer).await? {
            let Some(value) = &user.access_token else {
                continue;
            };
            let context = token_context(user.github_id);
            let plain = if Keyring::is_sealed(value) {
                if !keys.is_stale(value) {
                    continue;
                }
                self.open(value, &context, "access token")?
            } else {
                value.clone().into_bytes()
            };
            users::Entity::update_many()
                .col_expr(
                    users::Column::AccessToken,
                    Expr::value(self.seal(&plain, &context)?),
                )
                .filter(users::Column::Id.eq(user.id))
                .exec(&self.writer)
                .await?;
            sealed += 1;
        }
        for installation in installations::Entity::find().all(&self.writer).await? {
            let context = secret_context(&installation.repo_key);
            let mut update = installations::ActiveModel {
                id: Set(installation.id),
                ..Default::default()
            };
            let mut changed = false;
            let reseal = |value: &str| -> Result<Option<String>> {
                if Keyring::is_sealed(value) && !keys.is_stale(value) {
                    return Ok(None);
                }
                let plain = if Keyring::is_sealed(value) {
                    self.open(value, &context, "webhook secret")?
                } else {
                    value.as_bytes().to_vec()
                };
                Ok(Some(self.seal(&plain, &context)?))
            };
            if let Some(value) = reseal(&installation.webhook_secret)? {
                update.webhook_secret = Set(value);
                changed = true;
            }
            if let Some(previous) = &installation.previous_webhook_secret
                && let Some(value) = reseal(previous)?
            {
                update.previous_webhook_secret = Set(Some(value));
                changed = true;
            }
            if changed {
                installations::Entity::update(update)
                    .exec(&self.writer)
                    .await?;
                self.settings.clear();
                sealed += 1;
            }
        }
        Ok(sealed)
    }
}

fn user_of(row: users::Model) -> User {
    User {
        id: row.id,
        github_id: row.github_id,
        login: row.login,
        name: row.name,
        email: row.email,
        avatar_url: row.avatar_url,
    }
}

impl Db {
    /// A user's GitHub token, opened. A token that does not open is an error, never used as is.
    pub(crate) fn open_token(&self, user: &users::Model) -> Result<Option<AccessToken>> {
        let Some(sealed) = &user.access_token else {
            return Ok(None);
        };
        let bytes = self.open(sealed, &token_context(user.github_id), "access token")?;
        let token = String::from_utf8(bytes)
            .map_err(|_| DbError::Corrupt("access token is not UTF-8".into()))?;
        Ok(Some(AccessToken::new(token)))
    }
}

#[async_trait]
impl UserStore for Db {
    async fn upsert_user(&self, user: &GitHubUser, token: &AccessToken) -> domain::Result<i64> {
        let now = Utc::now();
        let github_id = i64::try_from(user.id)
            .map_err(|_| DbError::Corrupt("GitHub user id out of range".into()))?;
        let sealed = self.seal(token.expose().as_bytes(), &token_context(github_id))?;
        let existing = users::Entity::find()
            .filter(users::Column::GithubId.eq(github_id))
            .one(&self.writer)
            .await
            .map_err(DbError::Query)?;
        let row = users::ActiveModel {
            github_id: Set(github_id),
            login: Set(user.login.clone()),
            name: Set(user.name.clone()),
            email: Set(user.email.clone()),
            avatar_url: Set(user.avatar_url.clone()),
            access_token: Set(Some(sealed)),
            updated_at: Set(now),
            ..Default::default()
        };
        match existing {
            Some(found) => {
                let mut row = row;
                row.id = Set(found.id);
                users::Entity::update(row)
                    .exec(&self.writer)
                    .await
                    .map_err(DbError::Query)?;
                Ok(found.id)
            }
            None => {
                let mut row = row;
                row.created_at = Set(now);
                Ok(users::Entity::insert(row)
                    .exec(&self.writer)
                    .await
                    .map_err(DbError::Query)?
                    .last_insert_id)
            }
        }
    }

    async fn user_token(&self, user_id: i64) -> domain::Result<Option<AccessToken>> {
        let Some(user) = users::Entity::find_by_id(user_id)
            .one(&self.reader)
            .await
            .map_err(DbError::Query)?
        else {
            return Ok(None);
        };
        Ok(self.open_token(&user)?)
    }
}

#[async_trait]
impl SessionStore for Db {
    async fn create_session(
        &self,
        token_hash: &str,
        user_id: i64,
        expires_at: DateTime<Utc>,
    ) -> domain::Result<()> {
        Ok(self
            .create_session_row(token_hash, user_id, expires_at)
            .await?)
    }

    async fn session_user(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> domain::Result<Option<User>> {
        Ok(self.live_session_user(token_hash, now).await?)
    }

    async fn delete_session(&self, token_hash: &str) -> domain::Result<()> {
        sessions::Entity::delete_many()
            .filter(sessions::Column::TokenHash.eq(token_hash))
            .exec(&self.writer)
            .await
            .map_err(DbError::Query)?;
        Ok(())
    }

    async fn create_oauth_state(
        &self,
        state_hash: &str,
        expires_at: DateTime<Utc>,
    ) -> domain::Result<()> {
        oauth_states::Entity::insert(oauth_states::ActiveModel {
            state_hash: Set(state_hash.to_owned()),
            created_at: Set(Utc::now()),
            expires_at: Set(expires_at),
            ..Default::default()
        })
        .exec(&self.writer)
        .await
        .map_err(DbError::Query)?;
        Ok(())
    }

    async fn take_oauth_state(&self, state_hash: &str, now: DateTime<Utc>) -> domain::Result<bool> {
        Ok(self.take_state(state_hash, now).await?)
    }
}

impl Db {
    async fn create_session_row(
        &self,
        token_hash: &str,
        user_id: i64,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        // Sessions that ran out are swept as new ones start.
        sessions::Entity::delete_many()
            .filter(sessions::Column::ExpiresAt.lte(Utc::now()))
            .exec(&self.writer)
            .await?;
        sessions::Entity::insert(sessions::ActiveModel {
            token_hash: Set(token_hash.to_owned()),
            user_id: Set(user_id),
            created_at: Set(Utc::now()),
            expires_at: Set(expires_at),
            ..Default::default()
        })
        .exec(&self.writer)
        .await?;
        Ok(())
    }

    async fn live_session_user(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<User>> {
        let Some(session) = sessions::Entity::find()
            .filter(sessions::Column::TokenHash.eq(token_hash))
            .filter(sessions::Column::ExpiresAt.gt(now))
            .one(&self.reader)
            .await?
        else {
            return Ok(None);
        };
        Ok(users::Entity::find_by_id(session.user_id)
            .one(&self.reader)
            .await?
            .map(user_of))
    }

    /// Uses up a state: true exactly once for a state created here and not yet expired. Expired
    /// states are cleared on the way.
    async fn take_state(&self, state_hash: &str, now: DateTime<Utc>) -> Result<bool> {
        let taken = oauth_states::Entity::delete_many()
            .filter(oauth_states::Column::StateHash.eq(state_hash))
            .filter(oauth_states::Column::ExpiresAt.gt(now))
            .exec(&self.writer)
            .await?
            .rows_affected
            == 1;
        oauth_states::Entity::delete_many()
            .filter(oauth_states::Column::ExpiresAt.lte(now))
            .exec(&self.writer)
            .await?;
        Ok(taken)
    }
}

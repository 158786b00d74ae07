//! Installations: which repositories are connected, and the secret their deliveries are signed with.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::codehost::AccessToken;
use domain::review::RepositoryTokens;
use domain::webhook::ports::InstallationStore;
use domain::webhook::values::{RepoFullName, WebhookSecret};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};

use crate::accounts::secret_context;
use crate::entities::installations::{self, Column};
use crate::{Db, DbError, Result};

impl Db {
    /// Stores a new active installation of `repository` for `user_id`. A second active installation of the
    /// same repository (in any letter case) is refused with `Duplicate`: lookups are never ambiguous.
    pub async fn create_installation(
        &self,
        user_id: i64,
        repository: &RepoFullName,
        webhook_id: Option<i64>,
        secret: &WebhookSecret,
    ) -> domain::Result<i64> {
        let now = Utc::now();
        let secret = self.seal(secret.expose(), &secret_context(&repository.key()))?;
        let row = installations::ActiveModel {
            user_id: Set(user_id),
            repo_full_name: Set(repository.as_str().to_owned()),
            repo_key: Set(repository.key()),
            webhook_id: Set(webhook_id),
            webhook_secret: Set(secret),
            is_active: Set(true),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        };
        let inserted = installations::Entity::insert(row)
            .exec(&self.writer)
            .await
            .map_err(DbError::Query)?;
        Ok(inserted.last_insert_id)
    }

    /// The repository's active installation, whoever connected it.
    pub async fn active_installation(
        &self,
        repository: &RepoFullName,
    ) -> Result<Option<installations::Model>> {
        Ok(installations::Entity::find()
            .filter(Column::RepoKey.eq(repository.key()))
            .filter(Column::IsActive.eq(true))
            .one(&self.reader)
            .await?)
    }

    /// The active installations of these repository keys (`owner/name` in lower case), in one query.
    pub async fn active_installations(&self, keys: &[String]) -> Result<Vec<installations::Model>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        Ok(installations::Entity::find()
            .filter(Column::RepoKey.is_in(keys.iter().cloned()))
            .filter(Column::IsActive.eq(true))
            .all(&self.reader)
            .await?)
    }

    /// Marks an installation inactive: its deliveries are no longer accepted with its secret.
    pub async fn deactivate_installation(&self, id: i64) -> Result<()> {
        installations::Entity::update(installations::ActiveModel {
            id: Set(id),
            is_active: Set(false),
            updated_at: Set(Utc::now()),
            ..Default::default()
        })
        .exec(&self.writer)
        .await?;
        Ok(())
    }

    /// Stores a rotated secret: the new one is current, the old one is accepted until `grace_until`.
    pub async fn rotate_installation_secret(
        &self,
        installation: &installations::Model,
        secret: &WebhookSecret,
        grace_until: DateTime<Utc>,
    ) -> Result<()> {
        let sealed = self.seal(secret.expose(), &secret_context(&installation.repo_key))?;
        installations::Entity::update(installations::ActiveModel {
            id: Set(installation.id),
            webhook_secret: Set(sealed),
            previous_webhook_secret: Set(Some(installation.webhook_secret.clone())),
            previous_secret_expires_at: Set(Some(grace_until)),
            updated_at: Set(Utc::now()),
            ..Default::default()
        })
        .exec(&self.writer)
        .await?;
        Ok(())
    }

    fn open_secret(
        &self,
        installation: &installations::Model,
        sealed: &str,
    ) -> Result<WebhookSecret> {
        let bytes = self.open(
            sealed,
            &secret_context(&installation.repo_key),
            &format!("installation {}'s webhook secret", installation.id),
        )?;
        let text = String::from_utf8(bytes).map_err(|_| {
            DbError::Corrupt(format!(
                "installation {}'s webhook secret is not UTF-8",
                installation.id
            ))
        })?;
        WebhookSecret::parse(&text).map_err(|_| {
            DbError::Corrupt(format!(
                "installation {} has an invalid webhook secret",
                installation.id
            ))
        })
    }
}

#[async_trait]
impl InstallationStore for Db {
    async fn webhook_secrets(
        &self,
        repository: &RepoFullName,
    ) -> domain::Result<Vec<WebhookSecret>> {
        let Some(installation) = self.active_installation(repository).await? else {
            return Ok(Vec::new());
        };
        let mut secrets = vec![self.open_secret(&installation, &installation.webhook_secret)?];
        if let (Some(previous), Some(until)) = (
            &installation.previous_webhook_secret,
            installation.previous_secret_expires_at,
        ) && until > Utc::now()
        {
            secrets.push(self.open_secret(&installation, previous)?);
        }
        Ok(secrets)
    }
}

#[async_trait]
impl RepositoryTokens for Db {
    async fn token_for(&self, repository: &RepoFullName) -> domain::Result<Option<AccessToken>> {
        let Some(installation) = self.active_installation(repository).await? else {
            return Ok(None);
        };
        let Some(user) = self.user(installation.user_id).await? else {
            return Ok(None);
        };
        Ok(self.user_token(&user).await?)
    }
}

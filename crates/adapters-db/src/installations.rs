//! Installations: which repositories are connected, and the secret their deliveries are signed with.

use async_trait::async_trait;
use chrono::Utc;
use domain::ports::InstallationStore;
use domain::values::{RepoFullName, WebhookSecret};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};

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
        let secret = String::from_utf8(secret.expose().to_vec())
            .map_err(|_| domain::Error::Permanent("webhook secret is not UTF-8".into()))?;
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

    async fn active_installation(
        &self,
        repository: &RepoFullName,
    ) -> Result<Option<installations::Model>> {
        Ok(installations::Entity::find()
            .filter(Column::RepoKey.eq(repository.key()))
            .filter(Column::IsActive.eq(true))
            .one(&self.reader)
            .await?)
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
        let secret = WebhookSecret::parse(&installation.webhook_secret).map_err(|_| {
            DbError::Corrupt(format!(
                "installation {} has an invalid webhook secret",
                installation.id
            ))
        })?;
        Ok(vec![secret])
    }
}

//! Installations: which repositories are connected, and the secrets their deliveries are signed with
//! (the `InstallationRegistry`, `InstallationStore` and `RepositoryTokens` ports).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::accounts::{Installation, InstallationRegistry, Scope};
use domain::codehost::AccessToken;
use domain::review::RepositoryTokens;
use domain::webhook::filters::{DeliveryFilter, parse_filters};
use domain::webhook::ports::{DeliverySettings, InstallationStore};
use domain::webhook::values::{RepoFullName, WebhookSecret};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QuerySelect};

use crate::accounts::secret_context;
use crate::entities::installations::{self, Column};
use crate::entities::users;
use crate::{Db, DbError, Result};

impl Db {
    /// The repository's active installation row, whoever connected it.
    async fn active_row(&self, repository: &RepoFullName) -> Result<Option<installations::Model>> {
        Ok(installations::Entity::find()
            .filter(Column::RepoKey.eq(repository.key()))
            .filter(Column::IsActive.eq(true))
            .one(&self.reader)
            .await?)
    }

    /// The installation's current webhook secret, then its previous one while still in grace.
    fn secrets_of(&self, installation: &installations::Model) -> Result<Vec<WebhookSecret>> {
        let mut secrets = vec![self.open_secret(installation, &installation.webhook_secret)?];
        if let (Some(previous), Some(until)) = (
            &installation.previous_webhook_secret,
            installation.previous_secret_expires_at,
        ) && until > Utc::now()
        {
            secrets.push(self.open_secret(installation, previous)?);
        }
        Ok(secrets)
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

/// The delivery filters stored for `repository`. Stored only after `parse_filters` accepted them; a
/// row changed by hand that no longer reads admits everything rather than dropping every delivery.
fn filters_of(repository: &RepoFullName, stored: Option<&str>) -> Vec<DeliveryFilter> {
    let Some(text) = stored else {
        return Vec::new();
    };
    let list: Vec<serde_json::Value> = serde_json::from_str(text).unwrap_or_default();
    match parse_filters(&list) {
        Ok(filters) => filters,
        Err(e) => {
            tracing::error!(repository = %repository, error = %e, "stored delivery filters do not read; none applied");
            Vec::new()
        }
    }
}

fn installation_of(row: installations::Model) -> Result<Installation> {
    let repository = RepoFullName::parse(&row.repo_full_name)
        .map_err(|e| DbError::Corrupt(format!("installation {}: {e}", row.id)))?;
    Ok(Installation {
        id: row.id,
        user_id: row.user_id,
        repository,
        webhook_id: row.webhook_id.and_then(|id| u64::try_from(id).ok()),
        active: row.is_active,
        created_at: row.created_at,
        previous_secret_valid_until: row.previous_secret_expires_at.filter(|t| *t > Utc::now()),
    })
}

#[async_trait]
impl InstallationRegistry for Db {
    async fn active_installation(
        &self,
        repository: &RepoFullName,
    ) -> domain::Result<Option<Installation>> {
        Ok(self
            .active_row(repository)
            .await?
            .map(installation_of)
            .transpose()?)
    }

    async fn active_installations(&self, keys: &[String]) -> domain::Result<Vec<Installation>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let rows = installations::Entity::find()
            .filter(Column::RepoKey.is_in(keys.iter().cloned()))
            .filter(Column::IsActive.eq(true))
            .all(&self.reader)
            .await
            .map_err(DbError::Query)?;
        Ok(rows
            .into_iter()
            .map(installation_of)
            .collect::<Result<_>>()?)
    }

    /// A second active installation of the same repository (in any letter case) is refused by a
    /// unique index with `Duplicate`: lookups are never ambiguous.
    async fn create_installation(
        &self,
        user_id: i64,
        repository: &RepoFullName,
        webhook_id: Option<u64>,
        secret: &WebhookSecret,
    ) -> domain::Result<i64> {
        let now = Utc::now();
        let secret = self.seal(secret.expose(), &secret_context(&repository.key()))?;
        let row = installations::ActiveModel {
            user_id: Set(user_id),
            repo_full_name: Set(repository.as_str().to_owned()),
            repo_key: Set(repository.key()),
            webhook_id: Set(webhook_id.and_then(|id| i64::try_from(id).ok())),
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
        self.settings.clear();
        Ok(inserted.last_insert_id)
    }

    async fn deactivate_installation(&self, id: i64) -> domain::Result<()> {
        installations::Entity::update(installations::ActiveModel {
            id: Set(id),
            is_active: Set(false),
            updated_at: Set(Utc::now()),
            ..Default::default()
        })
        .exec(&self.writer)
        .await
        .map_err(DbError::Query)?;
        self.settings.clear();
        Ok(())
    }

    async fn rotate_installation_secret(
        &self,
        id: i64,
        secret: &WebhookSecret,
        grace_until: DateTime<Utc>,
    ) -> domain::Result<()> {
        let row = installations::Entity::find_by_id(id)
            .one(&self.writer)
            .await
            .map_err(DbError::Query)?
            .ok_or_else(|| domain::Error::NotFound(format!("installation {id}")))?;
        let sealed = self.seal(secret.expose(), &secret_context(&row.repo_key))?;
        // The current secret becomes the previous one in the same statement.
        installations::Entity::update_many()
            .col_expr(
                Column::PreviousWebhookSecret,
                Expr::col(Column::WebhookSecret),
            )
            .col_expr(Column::WebhookSecret, Expr::value(sealed))
            .col_expr(Column::PreviousSecretExpiresAt, Expr::value(grace_until))
            .col_expr(Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(Column::Id.eq(id))
            .exec(&self.writer)
            .await
            .map_err(DbError::Query)?;
        self.settings.clear();
        Ok(())
    }

    async fn scope_of(&self, user_id: i64) -> domain::Result<Scope> {
        let repo_keys = installations::Entity::find()
            .filter(Column::UserId.eq(user_id))
            .filter(Column::IsActive.eq(true))
            .all(&self.reader)
            .await
            .map_err(DbError::Query)?
            .into_iter()
            .map(|i| i.repo_key)
            .collect();
        Ok(Scope { repo_keys })
    }
}

#[async_trait]
impl InstallationStore for Db {
    async fn webhook_secrets(
        &self,
        repository: &RepoFullName,
    ) -> domain::Result<Vec<WebhookSecret>> {
        match self.active_row(repository).await? {
            Some(installation) => Ok(self.secrets_of(&installation)?),
            None => Ok(Vec::new()),
        }
    }

    async fn delivery_settings(
        &self,
        repository: &RepoFullName,
        fresh: bool,
    ) -> domain::Result<DeliverySettings> {
        let key = repository.key();
        if !fresh && let Some(settings) = self.settings.get(&key) {
            return Ok(settings);
        }
        let settings = match self.active_row(repository).await? {
            Some(installation) => DeliverySettings {
                secrets: self.secrets_of(&installation)?,
                filters: filters_of(repository, installation.delivery_filters.as_deref()),
            },
            None => DeliverySettings::default(),
        };
        self.settings.put(key, settings.clone());
        Ok(settings)
    }

    async fn delivery_filters(
        &self,
        repository: &RepoFullName,
    ) -> domain::Result<Vec<DeliveryFilter>> {
        let stored = installations::Entity::find()
            .select_only()
            .column(installations::Column::DeliveryFilters)
            .filter(installations::Column::RepoKey.eq(repository.key()))
            .filter(installations::Column::IsActive.eq(true))
            .into_tuple::<Option<String>>()
            .one(&self.reader)
            .await
            .map_err(DbError::Query)?
            .flatten();
        Ok(filters_of(repository, stored.as_deref()))
    }

    async fn set_delivery_filters(
        &self,
        repository: &RepoFullName,
        filters: Option<Vec<serde_json::Value>>,
    ) -> domain::Result<bool> {
        let text = filters.map(|f| serde_json::Value::Array(f).to_string());
        let updated = installations::Entity::update_many()
            .col_expr(installations::Column::DeliveryFilters, Expr::value(text))
            .col_expr(installations::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(installations::Column::RepoKey.eq(repository.key()))
            .filter(installations::Column::IsActive.eq(true))
            .exec(&self.writer)
            .await
            .map_err(DbError::Query)?;
        self.settings.clear();
        Ok(updated.rows_affected == 1)
    }
}

#[async_trait]
impl RepositoryTokens for Db {
    async fn token_for(&self, repository: &RepoFullName) -> domain::Result<Option<AccessToken>> {
        let Some(installation) = self.active_row(repository).await? else {
            return Ok(None);
        };
        let Some(user) = users::Entity::find_by_id(installation.user_id)
            .one(&self.reader)
            .await
            .map_err(DbError::Query)?
        else {
            return Ok(None);
        };
        Ok(self.open_token(&user)?)
    }
}

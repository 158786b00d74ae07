//! The delivery log: one row per request to the webhook endpoint.

use async_trait::async_trait;
use domain::webhook::delivery::DeliveryRecord;
use domain::webhook::ports::DeliveryLog;
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait};

use crate::entities::deliveries;
use crate::{Db, DbError, Result};

/// Inserts one delivery-log row on `db` (a connection or an open transaction).
pub(crate) async fn insert(db: &impl ConnectionTrait, record: DeliveryRecord) -> Result<i64> {
    let headers: serde_json::Map<String, serde_json::Value> = record
        .headers
        .into_iter()
        .map(|(k, v)| (k, serde_json::Value::String(v)))
        .collect();
    let row = deliveries::ActiveModel {
        delivery_id: Set(record.delivery_id),
        event: Set(record.event),
        action: Set(record.action),
        repository: Set(record.repository),
        outcome: Set(record.outcome.as_str().to_owned()),
        status_code: Set(i32::from(record.status_code)),
        cause: Set(record.cause),
        detail: Set(record.detail),
        event_id: Set(record.event_id),
        headers: Set(serde_json::Value::Object(headers).to_string()),
        body_size: Set(i64::try_from(record.body_size).unwrap_or(i64::MAX)),
        body_sha256: Set(record.body_sha256),
        received_at: Set(record.received_at),
        provider: Set(record.provider.as_str().to_owned()),
        ..Default::default()
    };
    let inserted = deliveries::Entity::insert(row)
        .exec(db)
        .await
        .map_err(DbError::Query)?;
    Ok(inserted.last_insert_id)
}

#[async_trait]
impl DeliveryLog for Db {
    async fn append(&self, record: DeliveryRecord) -> domain::Result<i64> {
        Ok(insert(&self.writer, record).await?)
    }
}

//! Objects in an S3 bucket (AWS or any S3-compatible server).

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use secrecy::ExposeSecret;

use super::{validate_key, ObjectInfo, ObjectStore, StorageError};
use crate::configuration::S3Settings;

/// A bucket reached through aws-sdk-s3.
#[derive(Debug, Clone)]
pub struct S3Store {
    client: aws_sdk_s3::Client,
    bucket: String,
    endpoint: Option<String>,
}

impl S3Store {
    pub fn new(settings: &S3Settings) -> Self {
        let credentials = Credentials::new(
            settings.key_id.expose_secret(),
            settings.key_secret.expose_secret(),
            None,
            None,
            "program-distributor-config",
        );
        let mut config = aws_sdk_s3::config::Builder::new()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(settings.region.clone()))
            .credentials_provider(credentials)
            .force_path_style(settings.force_path_style);
        if let Some(endpoint) = &settings.endpoint {
            config = config.endpoint_url(endpoint.clone());
        }
        S3Store {
            client: aws_sdk_s3::Client::from_conf(config.build()),
            bucket: settings.bucket.clone(),
            endpoint: settings.endpoint.clone(),
        }
    }

    /// Creates the bucket (for tests and first runs against an empty S3-compatible server).
    pub async fn create_bucket(&self) -> Result<(), StorageError> {
        self.client
            .create_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .map_err(|e| StorageError::S3(DisplayErrorContext(e).to_string()))?;
        Ok(())
    }
}

impl ObjectStore for S3Store {
    fn put(&self, key: &str, bytes: Bytes) -> BoxFuture<'_, Result<(), StorageError>> {
        let key = key.to_string();
        async move {
            validate_key(&key)?;
            self.client
                .put_object()
                .bucket(&self.bucket)
                .key(&key)
                .body(ByteStream::from(bytes))
                .send()
                .await
                .map_err(|e| StorageError::S3(DisplayErrorContext(e).to_string()))?;
            Ok(())
        }
        .boxed()
    }

    fn get(&self, key: &str) -> BoxFuture<'_, Result<Bytes, StorageError>> {
        let key = key.to_string();
        async move {
            validate_key(&key)?;
            let output = match self
                .client
                .get_object()
                .bucket(&self.bucket)
                .key(&key)
                .send()
                .await
            {
                Ok(output) => output,
                Err(e) => {
                    if e.as_service_error().is_some_and(|s| s.is_no_such_key()) {
                        return Err(StorageError::NotFound(key));
                    }
                    return Err(StorageError::S3(DisplayErrorContext(e).to_string()));
                }
            };
            let body = output
                .body
                .collect()
                .await
                .map_err(|e| StorageError::S3(e.to_string()))?;
            Ok(body.into_bytes())
        }
        .boxed()
    }

    fn delete(&self, key: &str) -> BoxFuture<'_, Result<(), StorageError>> {
        let key = key.to_string();
        async move {
            validate_key(&key)?;
            self.client
                .delete_object()
                .bucket(&self.bucket)
                .key(&key)
                .send()
                .await
                .map_err(|e| StorageError::S3(DisplayErrorContext(e).to_string()))?;
            Ok(())
        }
        .boxed()
    }

    fn list(&self, prefix: &str) -> BoxFuture<'_, Result<Vec<ObjectInfo>, StorageError>> {
        let prefix = prefix.to_string();
        async move {
            let mut pages = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .into_paginator()
                .send();
            let mut found = Vec::new();
            while let Some(page) = pages.next().await {
                let page =
                    page.map_err(|e| StorageError::S3(DisplayErrorContext(e).to_string()))?;
                for object in page.contents() {
                    let (Some(key), Some(modified)) = (object.key(), object.last_modified()) else {
                        continue;
                    };
                    let modified = std::time::UNIX_EPOCH
                        + std::time::Duration::from_secs(modified.secs().max(0) as u64);
                    found.push(ObjectInfo {
                        key: key.to_string(),
                        modified,
                    });
                }
            }
            Ok(found)
        }
        .boxed()
    }

    fn check(&self) -> BoxFuture<'_, Result<(), StorageError>> {
        async move {
            self.client
                .head_bucket()
                .bucket(&self.bucket)
                .send()
                .await
                .map_err(|e| StorageError::S3(DisplayErrorContext(e).to_string()))?;
            Ok(())
        }
        .boxed()
    }

    fn describe(&self) -> String {
        match &self.endpoint {
            Some(endpoint) => format!("S3 bucket {} at {endpoint}", self.bucket),
            None => format!("S3 bucket {}", self.bucket),
        }
    }
}

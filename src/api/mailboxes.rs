//! `/api/v1/mailboxes/BOX/messages`: list, download and delete voicemail
//! messages. Store calls touch the disk, so they run on the blocking pool.

use std::collections::HashSet;
use std::fmt;
use std::io;
use std::sync::Arc;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use super::ApiState;
use crate::config::is_safe_name;
use crate::store::{Folder, MessageMeta, MessageStore, StoreError};

/// Called with a mailbox whose messages changed (to update message-waiting
/// indications).
pub type OnMailboxChange = Arc<dyn Fn(String) + Send + Sync>;

/// What the mailbox handlers need.
#[derive(Clone)]
pub struct MailboxApi {
    pub store: Arc<dyn MessageStore>,
    /// The configured mailboxes; any other is 404 even if it has files.
    pub mailboxes: Arc<HashSet<String>>,
    pub on_change: OnMailboxChange,
}

impl MailboxApi {
    pub fn new(
        store: Arc<dyn MessageStore>,
        mailboxes: impl IntoIterator<Item = String>,
        on_change: OnMailboxChange,
    ) -> Self {
        MailboxApi {
            store,
            mailboxes: Arc::new(mailboxes.into_iter().collect()),
            on_change,
        }
    }
}

impl fmt::Debug for MailboxApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MailboxApi")
            .field("store", &self.store)
            .field("mailboxes", &self.mailboxes)
            .finish_non_exhaustive()
    }
}

pub(super) fn routes() -> Router<ApiState> {
    Router::new()
        .route("/api/v1/mailboxes/{mailbox}/messages", get(list))
        .route(
            "/api/v1/mailboxes/{mailbox}/messages/{id}",
            get(download).delete(remove),
        )
}

/// A JSON error body: `{"error": "..."}`.
struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }

    fn from_store(e: StoreError, mailbox: &str) -> Self {
        let status = match &e {
            StoreError::InvalidName { .. } => StatusCode::BAD_REQUEST,
            StoreError::NotFound { .. } => StatusCode::NOT_FOUND,
            StoreError::Corrupt { .. } | StoreError::Io { .. } => {
                tracing::error!(mailbox, error = %e, "voicemail store failed");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        ApiError::new(status, e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        #[derive(Serialize)]
        struct Body {
            error: String,
        }
        (
            self.status,
            Json(Body {
                error: self.message,
            }),
        )
            .into_response()
    }
}

/// Checks the names before anything else and the mailbox against the
/// configuration; gives the handlers their store.
fn mailbox_api(state: &ApiState, mailbox: &str, id: Option<&str>) -> Result<MailboxApi, ApiError> {
    let Some(api) = &state.voicemail else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "voicemail is not enabled",
        ));
    };
    for (what, name) in [("mailbox", Some(mailbox)), ("message", id)] {
        if let Some(name) = name.filter(|n| !is_safe_name(n)) {
            return Err(ApiError::from_store(
                StoreError::InvalidName {
                    what,
                    name: name.to_string(),
                },
                mailbox,
            ));
        }
    }
    if !api.mailboxes.contains(mailbox) {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no mailbox {mailbox}"),
        ));
    }
    Ok(api.clone())
}

/// Path segments that do not decode (bad percent-encoding, not UTF-8).
fn bad_path(rejection: PathRejection) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, rejection.body_text())
}

/// Runs a store call off the async threads.
async fn blocking<T: Send + 'static>(
    mailbox: &str,
    call: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    match tokio::task::spawn_blocking(call).await {
        Ok(result) => result.map_err(|e| ApiError::from_store(e, mailbox)),
        Err(e) => {
            tracing::error!(mailbox, error = %e, "voicemail store call failed");
            Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "voicemail store call failed",
            ))
        }
    }
}

#[derive(Serialize)]
struct Skipped {
    path: String,
    reason: String,
}

#[derive(Serialize)]
struct MessageList {
    mailbox: String,
    new: usize,
    old: usize,
    /// `INBOX` then `Old`, each oldest first.
    messages: Vec<MessageMeta>,
    skipped: Vec<Skipped>,
}

async fn list(
    State(state): State<ApiState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<MessageList>, ApiError> {
    let Path(mailbox) = path.map_err(bad_path)?;
    let api = mailbox_api(&state, &mailbox, None)?;
    let name = mailbox.clone();
    let (inbox, old) = blocking(&mailbox, move || {
        Ok((
            api.store.list(&name, Folder::Inbox)?,
            api.store.list(&name, Folder::Old)?,
        ))
    })
    .await?;
    let (new, old_count) = (inbox.messages.len(), old.messages.len());
    let skipped = inbox
        .skipped
        .into_iter()
        .chain(old.skipped)
        .map(|p| Skipped {
            path: p.path.to_string_lossy().into_owned(),
            reason: p.reason,
        })
        .collect();
    let mut messages = inbox.messages;
    messages.extend(old.messages);
    Ok(Json(MessageList {
        mailbox,
        new,
        old: old_count,
        messages,
        skipped,
    }))
}

async fn download(
    State(state): State<ApiState>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path((mailbox, id)) = path.map_err(bad_path)?;
    let api = mailbox_api(&state, &mailbox, Some(&id))?;
    let name = mailbox.clone();
    let audio = blocking(&mailbox, move || read_audio(api.store.as_ref(), &name, &id)).await?;
    Ok(([(header::CONTENT_TYPE, "audio/wav")], audio).into_response())
}

/// The message's WAV; looked up again if it moved to `Old` meanwhile.
fn read_audio(store: &dyn MessageStore, mailbox: &str, id: &str) -> Result<Vec<u8>, StoreError> {
    let mut tries = 0;
    loop {
        let path = store.audio_path(mailbox, id)?;
        match std::fs::read(&path) {
            Ok(bytes) => return Ok(bytes),
            Err(e) if e.kind() == io::ErrorKind::NotFound && tries == 0 => tries += 1,
            Err(source) => {
                return Err(StoreError::Io {
                    op: "read",
                    path,
                    source,
                })
            }
        }
    }
}

async fn remove(
    State(state): State<ApiState>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let Path((mailbox, id)) = path.map_err(bad_path)?;
    let api = mailbox_api(&state, &mailbox, Some(&id))?;
    let (store, name) = (api.store.clone(), mailbox.clone());
    blocking(&mailbox, move || store.delete(&name, &id)).await?;
    (api.on_change)(mailbox);
    Ok(StatusCode::NO_CONTENT)
}

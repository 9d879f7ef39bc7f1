//! The symbol store over HTTP, like Tecken.
//!
//! * `POST /symbols/upload` (also Tecken's `/upload/`): a zip of Breakpad
//!   `.sym` files, as the body (`Content-Type: application/zip`) or as the
//!   first file part of a `multipart/form-data` body. Needs an `Auth-Token`
//!   whose permissions include `upload_symbols`. 201 with the stored files;
//!   400 for a bad zip or `.sym` (nothing from that zip is stored); 403
//!   without a token or the permission; 413 over a size limit.
//! * `GET`/`HEAD` `/<debug file>/<debug id>/<name>.sym`: the stored file as
//!   `text/plain`, or 404 — the layout symbol servers use, so a processor
//!   can list this webapp in `SOCORRO_PROCESSOR__SYMBOLS__URLS`.
//!
//! Uploads are spooled to `<store>/.tmp` while counting bytes (never held in
//! memory), then unpacked by [`SymbolStore::add_zip`] on a blocking thread.

use std::io::BufReader;

use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use actix_web::{HttpRequest, HttpResponse, ResponseError, guard, web};
use bytes::{Bytes, BytesMut};
use db::permissions::UPLOAD_SYMBOLS;
use futures_util::{Stream, StreamExt};
use processor::symbols::store::{StoreError, SymbolStore};
use serde_json::json;
use tempfile::NamedTempFile;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::Webapp;
use crate::auth;
use crate::error::ApiError;

/// Tecken's answer to an upload without a token.
pub const NO_TOKEN: &str = "This requires an Auth-Token to authenticate the request";
/// Tecken's answer to a multipart body without a file.
pub const NO_FILE: &str = "Must be multipart form data with at least one file";
/// Multipart framing allowed on top of `SOCORRO_SYMBOLS__MAX_UPLOAD_BYTES`.
const MULTIPART_SLACK: u64 = 64 * 1024;

/// Upload routes (registered with the API).
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    for path in ["/symbols/upload", "/symbols/upload/", "/upload/"] {
        cfg.route(path, web::post().to(upload));
    }
}

/// The download route: registered last, and it only matches names ending
/// in `.sym`, so other three-segment routes (`/report/index/{id}`) win.
pub(crate) fn configure_download(cfg: &mut web::ServiceConfig) {
    cfg.route(
        r"/{debug_file}/{debug_id}/{file:[^/]+\.sym}",
        web::route()
            .guard(guard::Any(guard::Get()).or(guard::Head()))
            .to(download),
    );
}

/// Why an upload failed; rendered as `{"error": "..."}`.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// Authentication, permission, rate limit (the API's own errors).
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The store refused the zip (400 or 413) or failed (500).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// 400.
    #[error("{0}")]
    Bad(String),
    /// 413.
    #[error("{0}")]
    TooLarge(String),
    /// 500, details logged.
    #[error("{0}")]
    Internal(String),
}

impl ResponseError for UploadError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Api(e) => e.status_code(),
            Self::Store(e) if e.is_too_large() => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Store(e) if e.is_client_error() => StatusCode::BAD_REQUEST,
            Self::Store(_) | Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Bad(_) => StatusCode::BAD_REQUEST,
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::Api(e) = self {
            return e.error_response();
        }
        let status = self.status_code();
        let message = if status.is_server_error() {
            tracing::error!(error = %self, "symbol upload failed");
            "Internal Server Error".to_owned()
        } else {
            self.to_string()
        };
        HttpResponse::build(status)
            .content_type("application/json")
            .body(format!("{}\n", json!({ "error": message })))
    }
}

async fn upload(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<Webapp>,
) -> Result<HttpResponse, UploadError> {
    let result = receive(&req, payload, &state).await;
    let outcome = match &result {
        Ok(_) => "stored",
        Err(e) if e.status_code().is_client_error() => "rejected",
        Err(_) => "failed",
    };
    state
        .metrics
        .symbol_uploads_total
        .with_label_values(&[outcome])
        .inc();
    if let Err(e) = &result
        && e.status_code().is_client_error()
    {
        tracing::info!(error = %e, status = e.status_code().as_u16(), "symbol upload refused");
    }
    result
}

async fn receive(
    req: &HttpRequest,
    payload: web::Payload,
    state: &Webapp,
) -> Result<HttpResponse, UploadError> {
    let who = auth::principal(state, req).await?;
    if who.token_id.is_none() {
        return Err(ApiError::Forbidden(NO_TOKEN.into()).into());
    }
    if !who.has(UPLOAD_SYMBOLS) {
        return Err(ApiError::permission(auth::permission_name(UPLOAD_SYMBOLS)).into());
    }
    crate::api::rate_limit(state, req, &who)?;

    let store = state.symbols.clone();
    let limit = store.limits().max_upload_bytes;
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let multipart = content_type.to_ascii_lowercase().starts_with("multipart/");
    let cap = if multipart {
        limit.saturating_add(MULTIPART_SLACK)
    } else {
        limit
    };
    let too_large = || UploadError::TooLarge(format!("the upload is larger than {limit} bytes"));
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > cap) {
        return Err(too_large());
    }
    let (body, size) = spool(payload, &store, cap).await?;
    let (zip, name, zip_size) = if multipart {
        file_part(&store, &body, &content_type).await?
    } else {
        (body, "upload".to_owned(), size)
    };
    if zip_size > limit {
        return Err(too_large());
    }
    let zip_name = name.clone();
    let added = web::block(move || {
        let file = zip
            .reopen()
            .map_err(|e| UploadError::Internal(format!("reopening the spooled upload: {e}")))?;
        store
            .add_zip(&zip_name, BufReader::new(file))
            .map_err(UploadError::from)
    })
    .await
    .map_err(|e| UploadError::Internal(format!("upload task: {e}")))??;

    let bytes: u64 = added.stored.iter().map(|f| f.size).sum();
    state
        .metrics
        .symbol_files_stored_total
        .inc_by(added.stored.len() as u64);
    state.metrics.symbol_bytes_stored_total.inc_by(bytes);
    tracing::info!(
        user = who.username().unwrap_or_default(),
        upload = %name,
        files = added.stored.len(),
        ignored = added.ignored.len(),
        bytes,
        "symbols uploaded"
    );
    Ok(HttpResponse::Created()
        .insert_header(("Cache-Control", "no-store"))
        .json(json!({ "files": added.stored, "ignored": added.ignored })))
}

fn io_error(what: &'static str) -> impl Fn(std::io::Error) -> UploadError {
    move |e| UploadError::Internal(format!("{what}: {e}"))
}

/// Writes the request body to a staging file, at most `cap` bytes.
async fn spool(
    mut payload: web::Payload,
    store: &SymbolStore,
    cap: u64,
) -> Result<(NamedTempFile, u64), UploadError> {
    let tmp = store.temp_file()?;
    let mut file =
        tokio::fs::File::from_std(tmp.reopen().map_err(io_error("spooling the upload"))?);
    let mut size: u64 = 0;
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| UploadError::Bad(format!("reading the upload: {e}")))?;
        size += chunk.len() as u64;
        if size > cap {
            return Err(UploadError::TooLarge(format!(
                "the upload is larger than {} bytes",
                store.limits().max_upload_bytes
            )));
        }
        file.write_all(&chunk)
            .await
            .map_err(io_error("spooling the upload"))?;
    }
    file.flush()
        .await
        .map_err(io_error("spooling the upload"))?;
    if size == 0 {
        return Err(UploadError::Bad(
            "empty upload: send a zip of .sym files".into(),
        ));
    }
    Ok((tmp, size))
}

/// The first file part of a spooled multipart body, in its own staging
/// file: (file, name for messages, size).
async fn file_part(
    store: &SymbolStore,
    body: &NamedTempFile,
    content_type: &str,
) -> Result<(NamedTempFile, String, u64), UploadError> {
    let boundary = multer::parse_boundary(content_type)
        .map_err(|e| UploadError::Bad(format!("bad multipart Content-Type: {e}")))?;
    let file = tokio::fs::File::from_std(body.reopen().map_err(io_error("reading the upload"))?);
    let mut multipart = multer::Multipart::new(file_stream(file), boundary);
    let bad = |e: multer::Error| UploadError::Bad(format!("bad multipart body: {e}"));
    while let Some(mut field) = multipart.next_field().await.map_err(bad)? {
        // text fields (Tecken's `try`, ...) are skipped
        let Some(name) = field.file_name().map(str::to_owned) else {
            continue;
        };
        let tmp = store.temp_file()?;
        let mut out =
            tokio::fs::File::from_std(tmp.reopen().map_err(io_error("spooling the upload"))?);
        let mut size: u64 = 0;
        while let Some(chunk) = field.chunk().await.map_err(bad)? {
            size += chunk.len() as u64;
            out.write_all(&chunk)
                .await
                .map_err(io_error("spooling the upload"))?;
        }
        out.flush().await.map_err(io_error("spooling the upload"))?;
        return Ok((tmp, name, size));
    }
    Err(UploadError::Bad(NO_FILE.into()))
}

/// A file as a stream of chunks (multipart parsing, downloads).
fn file_stream(file: tokio::fs::File) -> impl Stream<Item = Result<Bytes, std::io::Error>> {
    futures_util::stream::try_unfold(file, |mut file| async move {
        let mut buf = BytesMut::with_capacity(64 * 1024);
        let n = file.read_buf(&mut buf).await?;
        Ok((n > 0).then(|| (buf.freeze(), file)))
    })
}

async fn download(
    path: web::Path<(String, String, String)>,
    state: web::Data<Webapp>,
) -> HttpResponse {
    let (debug_file, debug_id, file) = path.into_inner();
    let found = match state.symbols.locate(&debug_file, &debug_id, &file) {
        None => None,
        Some(path) => match tokio::fs::File::open(&path).await {
            Ok(f) => match f.metadata().await {
                Ok(m) if m.is_file() => Some((f, m.len())),
                Ok(_) => None,
                Err(e) => return download_failed(&path, e),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return download_failed(&path, e),
        },
    };
    let outcome = if found.is_some() { "hit" } else { "miss" };
    state
        .metrics
        .symbol_downloads_total
        .with_label_values(&[outcome])
        .inc();
    match found {
        None => HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body("Symbol Not Found"),
        Some((f, len)) => HttpResponse::Ok()
            .content_type("text/plain")
            .no_chunking(len)
            .streaming(file_stream(f)),
    }
}

fn download_failed(path: &std::path::Path, e: std::io::Error) -> HttpResponse {
    tracing::error!(path = %path.display(), error = %e, "cannot read a stored symbol file");
    HttpResponse::InternalServerError()
        .content_type("text/plain; charset=utf-8")
        .body("Internal Server Error")
}

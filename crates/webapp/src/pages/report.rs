//! `/report/index/<id>`: one crash, with tabs Details, Metadata, Modules,
//! Threads, Raw data (and Reprocess for permitted users).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use crash_queue::{QueueItem, QueueName};
use crash_storage::CrashId;
use db::permissions::{REPROCESS_CRASHES, VIEW_PII, VIEW_RAWDUMP};
use serde_json::Value;

use super::{Layout, PageCtx};
use crate::Webapp;
use crate::error::ApiError;

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/report/index/{id}", web::get().to(report_index))
        .route("/report/index/{id}/", web::get().to(report_index))
        .route("/report/reprocess/{id}/", web::post().to(reprocess));
}

pub(crate) struct FrameRow {
    pub frame: String,
    pub module: String,
    pub signature: String,
    pub source: String,
    pub trust: String,
}

pub(crate) struct ThreadView {
    pub index: usize,
    pub name: String,
    pub crashed: bool,
    pub frames: Vec<FrameRow>,
}

pub(crate) struct ModuleRow {
    pub filename: String,
    pub version: String,
    pub debug_file: String,
    pub debug_id: String,
    pub base_addr: String,
    pub symbols: String,
}

/// Everything the report page shows, extracted from the (redacted) crash.
pub(crate) struct ReportView {
    pub id: String,
    pub signature: String,
    pub details: Vec<(&'static str, String)>,
    pub annotations: Vec<(String, String)>,
    pub modules: Vec<ModuleRow>,
    pub threads: Vec<ThreadView>,
    pub crashing_thread: String,
    pub crashing_frames: Vec<FrameRow>,
    pub processed_json: String,
    pub dumps: Vec<String>,
}

#[derive(Template)]
#[template(path = "report.html")]
struct ReportPage {
    layout: Layout,
    r: ReportView,
    can_view_pii: bool,
    can_view_rawdump: bool,
    can_reprocess: bool,
    reprocessed: bool,
}

#[derive(Template)]
#[template(path = "report_pending.html")]
struct PendingPage {
    layout: Layout,
    id: String,
    pending: bool,
}

/// Text of a JSON value for display (strings unquoted, null empty).
pub(crate) fn text(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

fn frame_row(f: &Value) -> FrameRow {
    let module = text(f.get("module"));
    let signature = match f.get("function").and_then(Value::as_str) {
        Some(func) => func.to_owned(),
        None => match (f.get("module_offset"), f.get("offset")) {
            (Some(off), _) if !module.is_empty() => format!("{module}@{}", text(Some(off))),
            (_, Some(off)) => text(Some(off)),
            _ => String::new(),
        },
    };
    let file = text(f.get("file"));
    let source = if file.is_empty() {
        String::new()
    } else {
        match f.get("line") {
            Some(l) if !l.is_null() => format!("{file}:{}", text(Some(l))),
            _ => file,
        }
    };
    FrameRow {
        frame: text(f.get("frame")),
        module,
        signature,
        source,
        trust: text(f.get("trust")),
    }
}

fn frames(thread: &Value) -> Vec<FrameRow> {
    thread
        .get("frames")
        .and_then(Value::as_array)
        .map(|fs| fs.iter().map(frame_row).collect())
        .unwrap_or_default()
}

const DETAIL_FIELDS: &[(&str, &str)] = &[
    ("Signature", "signature"),
    ("UUID", "uuid"),
    ("Date Processed", "date_processed"),
    ("Uptime", "uptime"),
    ("Install Age", "install_age"),
    ("Product", "product"),
    ("Release Channel", "release_channel"),
    ("Version", "version"),
    ("Build ID", "build"),
    ("OS", "os_pretty_version"),
    ("OS Version", "os_version"),
    ("Build Architecture", "cpu_arch"),
    ("CPU Info", "cpu_info"),
    ("Process Type", "process_type"),
    ("Crash Reason", "reason"),
    ("Crash Address", "address"),
    ("MOZ_CRASH Reason", "moz_crash_reason"),
    ("Startup Crash", "startup_crash"),
    ("App Notes", "app_notes"),
    ("Processor Notes", "processor_notes"),
    ("URL", "url"),
    ("User Comments", "user_comments"),
];

pub(crate) fn build_view(
    id: &CrashId,
    processed: &Value,
    raw: &Value,
    dumps: Vec<String>,
) -> ReportView {
    let details = DETAIL_FIELDS
        .iter()
        .filter_map(|(label, key)| {
            let v = text(processed.get(*key));
            (!v.is_empty()).then_some((*label, v))
        })
        .collect();
    let annotations = raw
        .as_object()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), text(Some(v)))).collect())
        .unwrap_or_default();
    let dump = processed.get("json_dump");
    let modules = dump
        .and_then(|d| d.get("modules"))
        .and_then(Value::as_array)
        .map(|ms| {
            ms.iter()
                .map(|m| ModuleRow {
                    filename: text(m.get("filename")),
                    version: text(m.get("version")),
                    debug_file: text(m.get("debug_file")),
                    debug_id: text(m.get("debug_id")),
                    base_addr: text(m.get("base_addr")),
                    symbols: if m.get("missing_symbols").and_then(Value::as_bool) == Some(true) {
                        "missing".to_owned()
                    } else if m.get("loaded_symbols").and_then(Value::as_bool) == Some(true) {
                        "loaded".to_owned()
                    } else {
                        String::new()
                    },
                })
                .collect()
        })
        .unwrap_or_default();
    let crashing = dump
        .and_then(|d| d.get("crash_info"))
        .and_then(|c| c.get("crashing_thread"))
        .and_then(Value::as_u64)
        .and_then(|n| usize::try_from(n).ok());
    let threads: Vec<ThreadView> = dump
        .and_then(|d| d.get("threads"))
        .and_then(Value::as_array)
        .map(|ts| {
            ts.iter()
                .enumerate()
                .map(|(i, t)| ThreadView {
                    index: i,
                    name: text(t.get("thread_name")),
                    crashed: crashing == Some(i),
                    frames: frames(t),
                })
                .collect()
        })
        .unwrap_or_default();
    let crashing_frames = dump
        .and_then(|d| d.get("crashing_thread"))
        .map(frames)
        .or_else(|| {
            crashing
                .and_then(|i| dump.and_then(|d| d.get("threads")).and_then(|t| t.get(i)))
                .map(frames)
        })
        .unwrap_or_default();
    ReportView {
        id: id.as_str().to_owned(),
        signature: text(processed.get("signature")),
        details,
        annotations,
        modules,
        threads,
        crashing_thread: crashing.map(|c| c.to_string()).unwrap_or_default(),
        crashing_frames,
        processed_json: serde_json::to_string_pretty(processed).unwrap_or_default(),
        dumps,
    }
}

#[derive(serde::Deserialize)]
struct ReportQuery {
    reprocessed: Option<String>,
}

async fn report_index(
    req: HttpRequest,
    path: web::Path<String>,
    q: web::Query<ReportQuery>,
    state: web::Data<Webapp>,
) -> Result<HttpResponse, ApiError> {
    let given = path.into_inner();
    let id = CrashId::parse(given.trim())
        .map_err(|_| ApiError::bad_request("Invalid crash ID").html())?;
    if given != id.as_str() {
        return Ok(HttpResponse::Found()
            .insert_header(("Location", format!("/report/index/{id}")))
            .finish());
    }
    let ctx = PageCtx::new(&state, &req, &format!("Crash {id}")).await?;
    let processed = match state.storage.load_processed_crash(&id).await {
        Ok(p) => p,
        Err(e) if e.is_not_found() => return not_processed(&state, ctx, &id).await,
        Err(e) => return Err(ApiError::from(e).html()),
    };
    let raw = match state.storage.load_raw_crash(&id).await {
        Ok(r) => Value::Object(r.0),
        Err(e) if e.is_not_found() => Value::Object(Default::default()),
        Err(e) => return Err(ApiError::from(e).html()),
    };
    let can_view_pii = ctx.who.has(VIEW_PII);
    let can_view_rawdump = ctx.who.has(VIEW_RAWDUMP);
    let (processed, raw) = if can_view_pii {
        (processed, raw)
    } else {
        let p = state.redactor.processed(&processed);
        let r = state.redactor.raw(&raw);
        match (p, r) {
            (Ok(p), Ok(r)) => (p, r),
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!(crash_id = %id, error = %e, "crash does not match the schema");
                return Err(ApiError::Internal(format!("malformed crash {id}: {e}")).html());
            }
        }
    };
    let dumps = if can_view_rawdump {
        match state.storage.load_dump_names(&id).await {
            Ok(n) => n,
            Err(e) if e.is_not_found() => Vec::new(),
            Err(e) => return Err(ApiError::from(e).html()),
        }
    } else {
        Vec::new()
    };
    let page = ReportPage {
        layout: ctx.layout.clone(),
        r: build_view(&id, &processed, &raw, dumps),
        can_view_pii,
        can_view_rawdump,
        can_reprocess: ctx.who.has(REPROCESS_CRASHES),
        reprocessed: q.reprocessed.is_some(),
    };
    let html = page.render().map_err(|e| ApiError::from(e).html())?;
    Ok(ctx.respond(&state, StatusCode::OK, html))
}

/// No processed crash: pending (raw crash exists; ask for priority
/// processing) or unknown. Both are 404s.
async fn not_processed(
    state: &Webapp,
    ctx: PageCtx,
    id: &CrashId,
) -> Result<HttpResponse, ApiError> {
    let pending = state
        .storage
        .raw_crash_exists(id)
        .await
        .map_err(|e| ApiError::from(e).html())?;
    if pending && let Err(e) = state.request_priority(id).await {
        tracing::warn!(crash_id = %id, error = %e, "could not send to the priority queue");
    }
    let html = PendingPage {
        layout: ctx.layout.clone(),
        id: id.as_str().to_owned(),
        pending,
    }
    .render()
    .map_err(|e| ApiError::from(e).html())?;
    Ok(ctx.respond(state, StatusCode::NOT_FOUND, html))
}

async fn reprocess(
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<Vec<(String, String)>>,
    state: web::Data<Webapp>,
) -> Result<HttpResponse, ApiError> {
    let ctx = PageCtx::new(&state, &req, "Reprocess").await?;
    ctx.who.require_login(&req).map_err(ApiError::html)?;
    ctx.check_csrf(&state, &form)?;
    if !ctx.who.has(REPROCESS_CRASHES) {
        return Err(ApiError::permission(crate::auth::permission_name(REPROCESS_CRASHES)).html());
    }
    let id = CrashId::parse(path.into_inner().trim())
        .map_err(|_| ApiError::bad_request("Invalid crash ID").html())?;
    state
        .queue
        .publish(QueueName::Reprocessing, &[QueueItem::new(id.clone())])
        .await
        .map_err(|e| ApiError::from(e).html())?;
    tracing::info!(crash_id = %id, "reprocessing requested from the report page");
    Ok(HttpResponse::Found()
        .insert_header(("Location", format!("/report/index/{id}?reprocessed=1")))
        .finish())
}

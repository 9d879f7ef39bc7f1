//! One function per API endpoint; the dispatcher has already checked method,
//! required parameters and the endpoint's permission.

use crash_queue::{QueueItem, QueueName};
use crash_storage::CrashId;
use serde_json::{Value, json};

use super::{Output, Params};
use crate::Webapp;
use crate::auth::{Principal, permission_name};
use crate::error::ApiError;
use db::permissions::{VIEW_PII, VIEW_RAWDUMP};

pub(super) async fn call(
    name: &str,
    app: &Webapp,
    who: &Principal,
    params: &Params,
) -> Result<Output, ApiError> {
    match name {
        "ProcessedCrash" => processed_crash(app, who, params).await,
        "RawCrash" => raw_crash(app, who, params).await,
        "Reprocessing" => reprocessing(app, params).await,
        "VersionString" => version_string(app, params).await,
        "Bugs" => bugs(app, params).await,
        "SignaturesByBugs" => signatures_by_bugs(app, params).await,
        "SignatureFirstDate" => signature_first_date(app, params).await,
        "MissingProcessedCrash" => missing_processed(app, params).await,
        "CrashVerify" => crash_verify(app, params).await,
        "SuperSearch" | "SuperSearchUnredacted" => super_search(app, who, params).await,
        "SuperSearchFields" => Ok(Output::Json(super_search_fields(app))),
        other => Err(ApiError::not_found(format!("No service called '{other}'"))),
    }
}

fn crash_id(params: &Params) -> Result<CrashId, ApiError> {
    let raw = params.get("crash_id").unwrap_or_default();
    CrashId::parse(raw.trim()).map_err(|_| {
        ApiError::Form(
            [(
                "crash_id".to_owned(),
                vec!["Enter a valid crash id.".to_owned()],
            )]
            .into(),
        )
    })
}

fn not_found(id: &CrashId) -> ApiError {
    ApiError::not_found(format!("Not found: CrashIDNotFound {id}"))
}

fn binary_forbidden() -> ApiError {
    ApiError::Forbidden(format!(
        "Binary response requires permissions: {}",
        permission_name(VIEW_RAWDUMP)
    ))
}

async fn processed_crash(
    app: &Webapp,
    who: &Principal,
    params: &Params,
) -> Result<Output, ApiError> {
    let id = crash_id(params)?;
    match params.get("datatype").unwrap_or("processed") {
        "processed" | "" => {}
        "unredacted" => {
            if !who.has(VIEW_PII) {
                return Err(ApiError::permission(permission_name(VIEW_PII)));
            }
        }
        "raw" => return dump(app, who, &id, "upload_file_minidump").await,
        other => {
            return Err(ApiError::bad_request(format!(
                "Bad request: unknown datatype {other:?}"
            )));
        }
    }
    let doc = match app.storage.load_processed_crash(&id).await {
        Ok(doc) => doc,
        Err(e) if e.is_not_found() => return Err(not_found(&id)),
        Err(e) => return Err(e.into()),
    };
    if who.has(VIEW_PII) {
        return Ok(Output::Json(doc));
    }
    let reduced = app
        .redactor
        .processed(&doc)
        .map_err(|e| ApiError::internal("processed crash does not match the schema", e))?;
    Ok(Output::Json(reduced))
}

async fn dump(app: &Webapp, who: &Principal, id: &CrashId, name: &str) -> Result<Output, ApiError> {
    if !who.has(VIEW_RAWDUMP) {
        return Err(binary_forbidden());
    }
    let name = if name.is_empty() || name == "dump" {
        "upload_file_minidump"
    } else {
        name
    };
    let data = match app.storage.load_dump(id, name).await {
        Ok(d) => d,
        Err(e) if e.is_not_found() => return Err(not_found(id)),
        Err(crash_storage::StorageError::Invalid(_)) => {
            return Err(ApiError::bad_request("Bad request: invalid dump name"));
        }
        Err(e) => return Err(e.into()),
    };
    let filename = match name {
        "upload_file_minidump" => format!("{id}.dmp"),
        "memory_report" => "memory_report.json.gz".to_owned(),
        other => format!("{id}-{other}.dmp"),
    };
    Ok(Output::Binary { filename, data })
}

async fn raw_crash(app: &Webapp, who: &Principal, params: &Params) -> Result<Output, ApiError> {
    let id = crash_id(params)?;
    match params.get("format").unwrap_or("meta") {
        "meta" | "" => {}
        "raw" => return dump(app, who, &id, params.get("name").unwrap_or_default()).await,
        other => {
            return Err(ApiError::bad_request(format!(
                "Bad request: unknown format {other:?}"
            )));
        }
    }
    let raw = match app.storage.load_raw_crash(&id).await {
        Ok(r) => Value::Object(r.0),
        Err(e) if e.is_not_found() => return Err(not_found(&id)),
        Err(e) => return Err(e.into()),
    };
    if who.has(VIEW_PII) {
        return Ok(Output::Json(raw));
    }
    let reduced = app
        .redactor
        .raw(&raw)
        .map_err(|e| ApiError::internal("raw crash does not match the schema", e))?;
    Ok(Output::Json(reduced))
}

/// Rulesets a reprocessing request may name.
pub const RULESETS: [&str; 2] = ["default", "regenerate_signature"];

async fn reprocessing(app: &Webapp, params: &Params) -> Result<Output, ApiError> {
    let mut items = Vec::new();
    for raw in params.all("crash_ids") {
        for one in raw.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (id, ruleset) = match one.split_once(':') {
                Some((id, rs)) => (id, Some(rs)),
                None => (one, None),
            };
            let id = CrashId::parse(id).map_err(|_| {
                ApiError::bad_request(format!("Bad request: invalid crash id {one:?}"))
            })?;
            items.push(match ruleset {
                None => QueueItem::new(id),
                Some(rs) if RULESETS.contains(&rs) => QueueItem::with_ruleset(id, rs),
                Some(rs) => {
                    return Err(ApiError::bad_request(format!(
                        "Bad request: unknown ruleset {rs:?}"
                    )));
                }
            });
        }
    }
    if items.is_empty() {
        return Err(ApiError::Form(
            [(
                "crash_ids".to_owned(),
                vec!["This field is required.".to_owned()],
            )]
            .into(),
        ));
    }
    app.queue.publish(QueueName::Reprocessing, &items).await?;
    tracing::info!(count = items.len(), "crashes sent for reprocessing");
    Ok(Output::Json(Value::Bool(true)))
}

async fn version_string(app: &Webapp, params: &Params) -> Result<Output, ApiError> {
    let product = params.get("product").unwrap_or_default();
    let channel = params.get("channel").unwrap_or_default().to_lowercase();
    let build_id = params.get("build_id").unwrap_or_default();
    let mut versions = app
        .db
        .product_versions()
        .version_strings(product, &channel, build_id)
        .await?;
    // Socorro: for beta/aurora builds, a "b" version wins over "rc" ones.
    if matches!(channel.as_str(), "beta" | "aurora") && !versions.is_empty() {
        if versions[0].contains('b') {
            versions.retain(|v| !v.contains("rc"));
        } else {
            versions.retain(|v| v.contains("rc"));
        }
    }
    let hits: Vec<Value> = versions
        .iter()
        .map(|v| json!({ "version_string": v }))
        .collect();
    Ok(Output::Json(
        json!({ "hits": hits, "total": versions.len() }),
    ))
}

async fn bugs(app: &Webapp, params: &Params) -> Result<Output, ApiError> {
    let sigs = params.all("signatures");
    let rows = app.db.bug_associations().bugs_and_related(&sigs).await?;
    let hits: Vec<Value> = rows
        .iter()
        .map(|b| json!({"id": b.bug_id, "signature": b.signature}))
        .collect();
    Ok(Output::Json(json!({"hits": hits, "total": rows.len()})))
}

async fn signatures_by_bugs(app: &Webapp, params: &Params) -> Result<Output, ApiError> {
    let mut ids = Vec::new();
    for raw in params.all("bug_ids") {
        for one in raw.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if !one.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ApiError::Form(
                    [(
                        "bug_ids".to_owned(),
                        vec![format!("{one:?} is not a valid bug id")],
                    )]
                    .into(),
                ));
            }
            ids.push(
                one.parse::<i64>()
                    .map_err(|_| ApiError::bad_request("Bad request: bug id too large"))?,
            );
        }
    }
    let rows = app.db.bug_associations().signatures_for_bugs(&ids).await?;
    let hits: Vec<Value> = rows
        .iter()
        .map(|b| json!({"id": b.bug_id, "signature": b.signature}))
        .collect();
    Ok(Output::Json(json!({"hits": hits, "total": rows.len()})))
}

async fn signature_first_date(app: &Webapp, params: &Params) -> Result<Output, ApiError> {
    let sigs = params.all("signatures");
    let rows = app.db.signatures().get_many(&sigs).await?;
    let hits: Vec<Value> = rows
        .iter()
        .map(|s| {
            json!({
                "signature": s.signature,
                "first_date": s.first_date.to_rfc3339_opts(chrono::SecondsFormat::Micros, false),
                "first_build": s.first_build.to_string(),
            })
        })
        .collect();
    Ok(Output::Json(json!({"hits": hits, "total": rows.len()})))
}

const MISSING_PER_PAGE: u32 = 1000;

async fn missing_processed(app: &Webapp, params: &Params) -> Result<Output, ApiError> {
    let page: u32 = match params.get("page") {
        None | Some("") => 1,
        Some(p) => p
            .parse()
            .ok()
            .filter(|&p| p > 0)
            .ok_or_else(|| ApiError::bad_request("invalid page number"))?,
    };
    let rows = app
        .db
        .missing_processed()
        .page(page, MISSING_PER_PAGE)
        .await?;
    let results: Vec<Value> = rows
        .items
        .iter()
        .map(|m| {
            json!({
                "crash_id": m.crash_id,
                "is_processed": m.is_processed,
                "created": m.created.to_rfc3339_opts(chrono::SecondsFormat::Micros, false),
            })
        })
        .collect();
    let per = i64::from(MISSING_PER_PAGE);
    let pages = (rows.total + per - 1) / per;
    let next =
        (i64::from(page) < pages).then(|| format!("/api/MissingProcessedCrash/?page={}", page + 1));
    let previous = (page > 1).then(|| format!("/api/MissingProcessedCrash/?page={}", page - 1));
    Ok(Output::Json(json!({
        "results": results,
        "count": rows.total,
        "next": next,
        "previous": previous,
    })))
}

async fn crash_verify(app: &Webapp, params: &Params) -> Result<Output, ApiError> {
    let raw = params.get("crash_id").unwrap_or_default();
    let id = CrashId::parse(raw.trim()).map_err(|_| ApiError::bad_request("unknown crash id"))?;
    let (raw_exists, processed_exists) = tokio::join!(
        app.storage.raw_crash_exists(&id),
        app.storage.processed_crash_exists(&id)
    );
    Ok(Output::Json(json!({
        "uuid": id.as_str(),
        "raw_crash": raw_exists?,
        "processed_crash": processed_exists?,
        "elasticsearch_crash": in_search_index(app, &id).await?,
        "telemetry_crash": false,
    })))
}

/// The search permissions of a caller.
pub fn search_perms(who: &Principal) -> search::Permissions {
    if who.has(VIEW_PII) {
        search::Permissions::with_pii()
    } else {
        search::Permissions::public()
    }
}

/// Parameters that are not Super Search's (output formatting).
const NOT_SEARCH: [&str; 1] = ["pretty"];

async fn super_search(app: &Webapp, who: &Principal, params: &Params) -> Result<Output, ApiError> {
    let pairs: Vec<(&str, &str)> = params
        .0
        .iter()
        .filter(|(k, _)| !NOT_SEARCH.contains(&k.as_str()))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let query = search::SearchQuery::parse(&pairs, &app.fields, chrono::Utc::now())?;
    let results = app.search.search(&query, &search_perms(who)).await?;
    Ok(Output::Json(results.to_json()))
}

fn lower_debug(v: impl std::fmt::Debug) -> String {
    format!("{v:?}").to_lowercase()
}

/// `permissions_needed` as webapp permission names.
fn webapp_permissions(needed: &[String]) -> Vec<String> {
    needed
        .iter()
        .filter(|p| p.as_str() != "public")
        .map(|p| match p.as_str() {
            "protected" => "crashstats.view_pii".to_owned(),
            other => format!("crashstats.{other}"),
        })
        .collect()
}

pub(crate) fn super_search_fields(app: &Webapp) -> Value {
    let mut out = serde_json::Map::new();
    for f in app.fields.iter() {
        out.insert(
            f.name.clone(),
            json!({
                "name": f.name,
                "namespace": f.namespace,
                "in_database_name": f.in_database_name,
                "data_validation_type": lower_debug(f.data_validation_type),
                "query_type": lower_debug(f.query_type),
                "storage_mapping": {"type": f.storage.es_type()},
                "has_full_version": f.has_full_version,
                "is_exposed": f.is_exposed,
                "is_returned": f.is_returned,
                "permissions_needed": f.permissions_needed,
                "webapp_permissions_needed": webapp_permissions(&f.permissions_needed),
                "description": "",
            }),
        );
    }
    Value::Object(out)
}

/// Whether the search index holds the crash (processed after its
/// submission day, within a week).
async fn in_search_index(app: &Webapp, id: &CrashId) -> Result<bool, ApiError> {
    let day = id
        .date()
        .and_hms_opt(0, 0, 0)
        .map(|d| d.and_utc())
        .unwrap_or_else(chrono::Utc::now);
    let from = format!(">={}", day.to_rfc3339());
    let to = format!("<{}", (day + chrono::Duration::days(8)).to_rfc3339());
    let params = [
        ("uuid", id.as_str()),
        ("date", from.as_str()),
        ("date", to.as_str()),
        ("_columns", "uuid"),
        ("_results_number", "1"),
        ("_facets_size", "0"),
    ];
    let now = chrono::Utc::now().max(day + chrono::Duration::days(8));
    let query = search::SearchQuery::parse(&params, &app.fields, now)?;
    let results = app
        .search
        .search(&query, &search::Permissions::with_pii())
        .await?;
    Ok(results.total > 0)
}

//! Socorro's public API under `/api/<Model>/`.
//!
//! [`ENDPOINTS`] defines every endpoint once: methods, parameters,
//! permission and description. The dispatcher checks a request against it
//! (unknown model 404, method 405, required parameters 400, permission 403)
//! before the handler runs, and `/api/` renders its documentation from the
//! same table.

pub(crate) mod handlers;

use actix_web::http::Method;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::Value;

use crate::Webapp;
use crate::auth::{self, Principal};
use crate::error::ApiError;

/// One parameter of an endpoint.
#[derive(Debug)]
pub struct Param {
    pub name: &'static str,
    /// Shown in the docs: `str`, `int`, `list of str`, …
    pub kind: &'static str,
    pub required: bool,
    pub description: &'static str,
}

/// One endpoint.
#[derive(Debug)]
pub struct Endpoint {
    pub name: &'static str,
    pub methods: &'static [&'static str],
    pub params: &'static [Param],
    /// Codename needed to call it at all.
    pub permission: Option<&'static str>,
    pub description: &'static str,
    /// What it returns (docs).
    pub returns: &'static str,
}

const fn p(
    name: &'static str,
    kind: &'static str,
    required: bool,
    description: &'static str,
) -> Param {
    Param {
        name,
        kind,
        required,
        description,
    }
}

const SEARCH_PARAMS: &[Param] = &[
    p(
        "<field>",
        "filter",
        false,
        "Any field of SuperSearchFields, repeatable: a value with an optional `!` and operator (`=`, `~`, `^`, `$`, `@`, `>`, `>=`, `<`, `<=`, `__null__`, `__true__`).",
    ),
    p(
        "date",
        "date filter",
        false,
        "With an operator, e.g. `>=2024-01-01`; default: the last 7 days; at most 365 days.",
    ),
    p(
        "_columns",
        "list of str",
        false,
        "Fields of each hit (default uuid, date, signature, product, version).",
    ),
    p(
        "_sort",
        "list of str",
        false,
        "Fields to sort by; `-field` for descending.",
    ),
    p(
        "_facets",
        "list of str",
        false,
        "Fields to aggregate (default signature); also `_histogram.<f>`, `_cardinality.<f>`.",
    ),
    p(
        "_facets_size",
        "int",
        false,
        "Buckets per facet (default 50; 0: no aggregations).",
    ),
    p(
        "_aggs.<f>",
        "list of str",
        false,
        "Sub-aggregations in each bucket of field f.",
    ),
    p(
        "_histogram.<f>",
        "list of str",
        false,
        "Histogram of a date or number field, with sub-aggregations.",
    ),
    p(
        "_histogram_interval.<f>",
        "str",
        false,
        "Histogram interval (`day`, `1h`, a number).",
    ),
    p(
        "_results_number",
        "int",
        false,
        "Hits per page, 0 to 1000 (default 100).",
    ),
    p(
        "_results_offset",
        "int",
        false,
        "Hits to skip; offset + number at most 10,000.",
    ),
    p(
        "_return_query",
        "bool",
        false,
        "Return the backend query instead of running it.",
    ),
];

/// Every public endpoint, in documentation order.
pub const ENDPOINTS: &[Endpoint] = &[
    Endpoint {
        name: "SuperSearch",
        methods: &["GET"],
        params: SEARCH_PARAMS,
        permission: None,
        description: "Search crash reports. Fields you may not use are silently ignored; protected fields need View Personal Identifiable Information.",
        returns: "`{\"hits\": [{column: value}], \"total\": n, \"facets\": {name: [{\"term\", \"count\"}]}, \"errors\": []}`",
    },
    Endpoint {
        name: "SuperSearchUnredacted",
        methods: &["GET"],
        params: SEARCH_PARAMS,
        permission: Some(db::permissions::VIEW_PII),
        description: "SuperSearch over every field, protected ones included.",
        returns: "Same as SuperSearch.",
    },
    Endpoint {
        name: "SuperSearchFields",
        methods: &["GET"],
        params: &[],
        permission: None,
        description: "The fields SuperSearch knows, with the permissions each needs.",
        returns: "`{name: {\"name\", \"namespace\", \"in_database_name\", \"query_type\", \"data_validation_type\", \"permissions_needed\", \"webapp_permissions_needed\", \"is_exposed\", \"is_returned\", …}}`",
    },
    Endpoint {
        name: "ProcessedCrash",
        methods: &["GET"],
        params: &[
            p(
                "crash_id",
                "str",
                true,
                "The crash id (with or without `bp-`).",
            ),
            p(
                "datatype",
                "str",
                false,
                "`processed` (default; protected fields removed unless you have View Personal Identifiable Information), `unredacted` (needs that permission) or `raw` (the minidump; needs View Raw Dumps).",
            ),
        ],
        permission: None,
        description: "The processed crash: stack walk, signature and every annotation the processor kept.",
        returns: "The processed crash as JSON, or the minidump for `datatype=raw`.",
    },
    Endpoint {
        name: "RawCrash",
        methods: &["GET"],
        params: &[
            p("crash_id", "str", true, "The crash id."),
            p(
                "format",
                "str",
                false,
                "`meta` (default): the annotations as JSON, protected ones removed unless you have View Personal Identifiable Information; `raw`: a dump file (needs View Raw Dumps).",
            ),
            p(
                "name",
                "str",
                false,
                "With `format=raw`: the dump to download (default `upload_file_minidump`).",
            ),
        ],
        permission: None,
        description: "The crash annotations as submitted, or one of its dump files.",
        returns: "JSON object of annotations, or `application/octet-stream`.",
    },
    Endpoint {
        name: "Reprocessing",
        methods: &["POST"],
        params: &[p(
            "crash_ids",
            "list of str",
            true,
            "Crash ids, each optionally `<id>:<ruleset>` with ruleset `default` or `regenerate_signature`.",
        )],
        permission: Some(db::permissions::REPROCESS_CRASHES),
        description: "Send crashes back to the processor (reprocessing queue).",
        returns: "`true` once the crash ids are queued.",
    },
    Endpoint {
        name: "VersionString",
        methods: &["GET"],
        params: &[
            p("product", "str", true, "Product name, e.g. `Firefox`."),
            p("channel", "str", true, "Release channel, e.g. `beta`."),
            p("build_id", "str", true, "Build id, e.g. `20181015153410`."),
        ],
        permission: None,
        description: "The version string of a build.",
        returns: "`{\"hits\": [{\"version_string\": …}], \"total\": n}`",
    },
    Endpoint {
        name: "Bugs",
        methods: &["GET", "POST"],
        params: &[p("signatures", "list of str", true, "Crash signatures.")],
        permission: None,
        description: "Bugs linked to the signatures, with every signature of those bugs.",
        returns: "`{\"hits\": [{\"id\": bug id, \"signature\": …}], \"total\": n}`",
    },
    Endpoint {
        name: "SignaturesByBugs",
        methods: &["GET"],
        params: &[p("bug_ids", "list of int", true, "Bugzilla bug ids.")],
        permission: None,
        description: "Signatures linked to bugs.",
        returns: "`{\"hits\": [{\"id\": bug id, \"signature\": …}], \"total\": n}`",
    },
    Endpoint {
        name: "SignatureFirstDate",
        methods: &["GET"],
        params: &[p("signatures", "list of str", true, "Crash signatures.")],
        permission: None,
        description: "When each signature was first seen, and its first build.",
        returns: "`{\"hits\": [{\"signature\", \"first_date\", \"first_build\"}], \"total\": n}`",
    },
    Endpoint {
        name: "MissingProcessedCrash",
        methods: &["GET"],
        params: &[p(
            "page",
            "int",
            false,
            "Page number, 1000 rows per page (default 1).",
        )],
        permission: None,
        description: "Crashes the verify-processed job found without a processed crash.",
        returns: "`{\"results\": [{\"crash_id\", \"is_processed\", \"created\"}], \"count\", \"next\", \"previous\"}`",
    },
    Endpoint {
        name: "CrashVerify",
        methods: &["GET"],
        params: &[p("crash_id", "str", true, "The crash id.")],
        permission: None,
        description: "Where a crash is stored.",
        returns: "`{\"uuid\", \"raw_crash\", \"processed_crash\", \"elasticsearch_crash\", \"telemetry_crash\"}` (booleans)",
    },
];

/// The definition of an endpoint, if public.
pub fn endpoint(name: &str) -> Option<&'static Endpoint> {
    ENDPOINTS.iter().find(|e| e.name == name)
}

/// Query string and form body of an API request, in order.
#[derive(Debug, Default)]
pub struct Params(pub Vec<(String, String)>);

impl Params {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// All values of a list parameter (empty values dropped).
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/", web::get().to(crate::pages::api_docs))
        .route("/api/{model}/", web::route().to(dispatch))
        .route("/api/{model}", web::route().to(dispatch));
}

/// Rate limit an API call (per token/user, else per address).
pub(crate) fn rate_limit(app: &Webapp, req: &HttpRequest, who: &Principal) -> Result<(), ApiError> {
    let ip = auth::client_ip(app, req);
    let (key, known) = who.rate_key(&ip);
    let limits = app.settings.rate_limits;
    let per_min = if known {
        limits.api_user_per_min
    } else {
        limits.api_anonymous_per_min
    };
    app.limiter
        .check(&format!("api:{key}"), per_min)
        .map_err(|retry_after_secs| {
            app.metrics
                .rate_limited_total
                .with_label_values(&["api"])
                .inc();
            ApiError::RateLimited { retry_after_secs }
        })
}

async fn dispatch(
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
    state: web::Data<Webapp>,
) -> Result<HttpResponse, ApiError> {
    let name = path.into_inner();
    let Some(ep) = endpoint(&name) else {
        return Err(ApiError::not_found(format!("No service called '{name}'")));
    };
    let method = req.method().clone();
    if method == Method::OPTIONS {
        return Ok(cors(HttpResponse::Ok())
            .insert_header(("Access-Control-Allow-Headers", "Auth-Token, Content-Type"))
            .insert_header(("Access-Control-Allow-Methods", ep.methods.join(", ")))
            .finish());
    }
    if !ep.methods.contains(&method.as_str()) {
        return Err(ApiError::MethodNotAllowed);
    }
    let who = auth::principal(&state, &req).await?;
    rate_limit(&state, &req, &who)?;
    let mut params = Params(
        web::Query::<Vec<(String, String)>>::from_query(req.query_string())
            .map(web::Query::into_inner)
            .map_err(|e| ApiError::bad_request(format!("Bad request: {e}")))?,
    );
    if method == Method::POST {
        // A browser session may only POST with its CSRF token; API clients
        // authenticate with Auth-Token, which a cross-site form cannot send.
        if who.token_id.is_none() && who.is_authenticated() {
            let ok = who.session.as_ref().is_some_and(|s| {
                req.headers()
                    .get("X-CSRFToken")
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|t| state.signer.check_csrf(s, t))
            });
            if !ok {
                return Err(ApiError::Csrf);
            }
        }
        let form: Vec<(String, String)> = serde_urlencoded_pairs(&body)?;
        params.0.extend(form);
    }
    let missing: std::collections::BTreeMap<String, Vec<String>> = ep
        .params
        .iter()
        .filter(|p| p.required && params.all(p.name).is_empty())
        .map(|p| {
            (
                p.name.to_owned(),
                vec!["This field is required.".to_owned()],
            )
        })
        .collect();
    if !missing.is_empty() {
        return Err(ApiError::Form(missing));
    }
    if let Some(perm) = ep.permission
        && !who.has(perm)
    {
        return Err(ApiError::permission(auth::permission_name(perm)));
    }
    let out = handlers::call(ep.name, &state, &who, &params).await?;
    Ok(match out {
        Output::Json(v) => {
            let text = if params.get("pretty") == Some("print") {
                serde_json::to_string_pretty(&v)
            } else {
                serde_json::to_string(&v)
            }
            .map_err(|e| ApiError::internal("json", e))?;
            cors(HttpResponse::Ok())
                .content_type("application/json")
                .insert_header(("Cache-Control", "private, no-store"))
                .body(text.replace("</", "<\\/"))
        }
        Output::Binary { filename, data } => cors(HttpResponse::Ok())
            .content_type("application/octet-stream")
            .insert_header((
                "Content-Disposition",
                format!("attachment; filename=\"{filename}\""),
            ))
            .insert_header(("Cache-Control", "private, no-store"))
            .body(data),
    })
}

fn serde_urlencoded_pairs(body: &[u8]) -> Result<Vec<(String, String)>, ApiError> {
    if body.is_empty() {
        return Ok(Vec::new());
    }
    let text = std::str::from_utf8(body)
        .map_err(|_| ApiError::bad_request("Bad request: body is not UTF-8"))?;
    web::Query::<Vec<(String, String)>>::from_query(text)
        .map(web::Query::into_inner)
        .map_err(|e| ApiError::bad_request(format!("Bad request: {e}")))
}

fn cors(mut b: actix_web::HttpResponseBuilder) -> actix_web::HttpResponseBuilder {
    b.insert_header(("Access-Control-Allow-Origin", "*"));
    b
}

/// What a handler returns.
pub enum Output {
    Json(Value),
    Binary {
        filename: String,
        data: bytes::Bytes,
    },
}

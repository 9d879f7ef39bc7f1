//! Pages built on Super Search: `/search/`, `/search/quick/`, `/signature/`,
//! `/topcrashers/` and the product home `/home/product/<p>`.

use std::collections::{BTreeMap, HashMap};

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::{Duration, Utc};
use crash_storage::CrashId;
use search::{Bucket, Facet, SearchQuery, SearchResults};
use serde_json::Value;

use super::chart::{Series, line_chart};
use super::report::text;
use super::{Layout, PageCtx, urlencode};
use crate::Webapp;
use crate::api::handlers::search_perms;
use crate::auth::{self, Principal};
use crate::error::ApiError;

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/search/", web::get().to(search_page))
        .route("/search/quick/", web::get().to(quick_search))
        .route("/signature/", web::get().to(signature_page))
        .route("/topcrashers/", web::get().to(topcrashers))
        .route("/home/product/{product}", web::get().to(product_home));
}

type Pairs = Vec<(String, String)>;

fn query_pairs(req: &HttpRequest) -> Result<Pairs, ApiError> {
    web::Query::<Pairs>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .map_err(|e| ApiError::bad_request(format!("Bad request: {e}")).html())
}

/// `a=1&b=2` from pairs.
pub(crate) fn to_query(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn get<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

fn rate_limit_search(app: &Webapp, req: &HttpRequest, who: &Principal) -> Result<(), ApiError> {
    let ip = auth::client_ip(app, req);
    let (key, known) = who.rate_key(&ip);
    let l = app.settings.rate_limits;
    let per_min = if known {
        l.search_user_per_min
    } else {
        l.search_anonymous_per_min
    };
    app.limiter
        .check(&format!("search:{key}"), per_min)
        .map_err(|retry_after_secs| {
            app.metrics
                .rate_limited_total
                .with_label_values(&["search"])
                .inc();
            ApiError::RateLimited { retry_after_secs }.html()
        })
}

/// Run a search as `who` sees it.
pub(crate) async fn run_search(
    app: &Webapp,
    who: &Principal,
    pairs: &[(String, String)],
) -> Result<SearchResults, ApiError> {
    let q = SearchQuery::parse(pairs, &app.fields, Utc::now())?;
    Ok(app.search.search(&q, &search_perms(who)).await?)
}

fn buckets<'a>(facets: &'a BTreeMap<String, Facet>, name: &str) -> &'a [Bucket] {
    match facets.get(name) {
        Some(Facet::Buckets(b)) => b,
        _ => &[],
    }
}

fn term(b: &Bucket) -> String {
    text(Some(&b.term))
}

fn pct(part: u64, whole: u64) -> String {
    if whole == 0 {
        "0.00 %".to_owned()
    } else {
        format!("{:.2} %", (part as f64) * 100.0 / (whole as f64))
    }
}

// ---------------------------------------------------------------- /search/

const OPERATORS: &[(&str, &str)] = &[
    ("", "has terms"),
    ("=", "is"),
    ("!=", "is not"),
    ("~", "contains"),
    ("!~", "does not contain"),
    ("^", "starts with"),
    ("$", "ends with"),
    ("@", "matches regex"),
    (">", ">"),
    (">=", ">="),
    ("<", "<"),
    ("<=", "<="),
    ("__null__", "does not exist"),
    ("!__null__", "exists"),
    ("__true__", "is true"),
];

const PREFIXES: &[&str] = &[
    ">=", "<=", "__null__", "__true__", "=", "~", "^", "$", "@", ">", "<",
];

/// Split a Super Search value into (operator, operand).
fn split_operator(v: &str) -> (String, String) {
    let (neg, rest) = match v.strip_prefix('!') {
        Some(r) => ("!", r),
        None => ("", v),
    };
    for p in PREFIXES {
        if let Some(r) = rest.strip_prefix(p) {
            return (format!("{neg}{p}"), r.to_owned());
        }
    }
    (neg.to_owned(), rest.to_owned())
}

const DEFAULT_COLUMNS: [&str; 6] = [
    "date",
    "signature",
    "product",
    "version",
    "build_id",
    "platform",
];
const PAGE_SIZE: usize = 50;

struct FilterRow {
    field: String,
    op: String,
    value: String,
}

struct Column {
    name: String,
    selected: bool,
}

struct FacetView {
    name: String,
    total: u64,
    rows: Vec<FacetRow>,
}

struct FacetRow {
    term: String,
    count: u64,
    percent: String,
    href: String,
}

struct Hit {
    cells: Vec<Cell>,
}

struct Cell {
    text: String,
    href: String,
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    layout: Layout,
    fields: Vec<String>,
    operators: &'static [(&'static str, &'static str)],
    rows: Vec<FilterRow>,
    columns: Vec<Column>,
    facet_choices: Vec<Column>,
    ran: bool,
    error: Option<String>,
    total: u64,
    headers: Vec<String>,
    hits: Vec<Hit>,
    facets: Vec<FacetView>,
    prev: Option<String>,
    next: Option<String>,
    page: usize,
    permalink: String,
    api_link: String,
}

fn cell(column: &str, v: Option<&Value>) -> Cell {
    let t = text(v);
    let href = match column {
        "uuid" if !t.is_empty() => format!("/report/index/{}", urlencode(&t)),
        "signature" if !t.is_empty() => format!("/signature/?signature={}", urlencode(&t)),
        _ => String::new(),
    };
    Cell { text: t, href }
}

/// `f`/`op`/`v` triplets of the form become Super Search parameters.
fn canonical(pairs: &[(String, String)]) -> Pairs {
    let mut out = Vec::new();
    let (mut fs, mut ops, mut vs) = (Vec::new(), Vec::new(), Vec::new());
    for (k, v) in pairs {
        match k.as_str() {
            "f" => fs.push(v.clone()),
            "op" => ops.push(v.clone()),
            "v" => vs.push(v.clone()),
            _ if v.is_empty() => {}
            _ => out.push((k.clone(), v.clone())),
        }
    }
    let mut filters = Vec::new();
    for (i, f) in fs.iter().enumerate() {
        let op = ops.get(i).map(String::as_str).unwrap_or("");
        let v = vs.get(i).map(String::as_str).unwrap_or("");
        if f.is_empty() || (v.is_empty() && !op.contains("__")) {
            continue;
        }
        filters.push((f.clone(), format!("{op}{v}")));
    }
    filters.extend(out);
    filters
}

async fn search_page(req: HttpRequest, state: web::Data<Webapp>) -> Result<HttpResponse, ApiError> {
    let pairs = query_pairs(&req)?;
    if pairs.iter().any(|(k, _)| k == "f") {
        return Ok(HttpResponse::Found()
            .insert_header((
                "Location",
                format!("/search/?{}", to_query(&canonical(&pairs))),
            ))
            .finish());
    }
    let ctx = PageCtx::new(&state, &req, "Super Search").await?;
    let perms = search_perms(&ctx.who);
    let usable: Vec<&search::FieldDef> = state
        .fields
        .iter()
        .filter(|f| f.is_exposed && f.allowed(&perms))
        .collect();
    let filters: Pairs = pairs
        .iter()
        .filter(|(k, _)| !k.starts_with('_') && k != "page")
        .cloned()
        .collect();
    let mut rows: Vec<FilterRow> = filters
        .iter()
        .map(|(k, v)| {
            let (op, value) = split_operator(v);
            FilterRow {
                field: k.clone(),
                op,
                value,
            }
        })
        .collect();
    if rows.is_empty() {
        rows.push(FilterRow {
            field: "product".into(),
            op: "=".into(),
            value: state.settings.default_product.clone(),
        });
    }
    let chosen_columns: Vec<String> = {
        let c: Vec<String> = pairs
            .iter()
            .filter(|(k, _)| k == "_columns")
            .map(|(_, v)| v.clone())
            .collect();
        if c.is_empty() {
            DEFAULT_COLUMNS.iter().map(|s| (*s).to_owned()).collect()
        } else {
            c
        }
    };
    let chosen_facets: Vec<String> = {
        let f: Vec<String> = pairs
            .iter()
            .filter(|(k, _)| k == "_facets")
            .map(|(_, v)| v.clone())
            .collect();
        if f.is_empty() {
            vec!["signature".to_owned()]
        } else {
            f
        }
    };
    let page: usize = get(&pairs, "page")
        .and_then(|p| p.parse().ok())
        .filter(|&p| p > 0)
        .unwrap_or(1);
    let ran = !pairs.is_empty();
    let mut search_pairs: Pairs = filters.clone();
    let mut columns = chosen_columns.clone();
    if !columns.iter().any(|c| c == "uuid") {
        columns.insert(0, "uuid".to_owned());
    }
    search_pairs.extend(columns.iter().map(|c| ("_columns".to_owned(), c.clone())));
    search_pairs.extend(
        chosen_facets
            .iter()
            .map(|f| ("_facets".to_owned(), f.clone())),
    );
    for (k, v) in &pairs {
        if k.starts_with('_')
            && k != "_columns"
            && k != "_facets"
            && k != "_results_offset"
            && k != "_results_number"
        {
            search_pairs.push((k.clone(), v.clone()));
        }
    }
    search_pairs.push(("_results_number".into(), PAGE_SIZE.to_string()));
    search_pairs.push((
        "_results_offset".into(),
        ((page - 1) * PAGE_SIZE).to_string(),
    ));

    let mut error = None;
    let mut results = SearchResults::empty();
    if ran {
        rate_limit_search(&state, &req, &ctx.who)?;
        match run_search(&state, &ctx.who, &search_pairs).await {
            Ok(r) => results = r,
            Err(ApiError::BadRequest(msg)) => error = Some(msg),
            Err(e) => return Err(e.html()),
        }
    }
    let base: Pairs = pairs.iter().filter(|(k, _)| k != "page").cloned().collect();
    let page_link = |p: usize| {
        let mut q = base.clone();
        q.push(("page".into(), p.to_string()));
        format!("/search/?{}", to_query(&q))
    };
    let prev = (page > 1).then(|| page_link(page - 1));
    let next = ((page * PAGE_SIZE) < usize::try_from(results.total).unwrap_or(usize::MAX))
        .then(|| page_link(page + 1));
    let facets = results
        .facets
        .iter()
        .filter_map(|(name, f)| match f {
            Facet::Buckets(b) => Some((name, b)),
            Facet::Cardinality { .. } => None,
        })
        .map(|(name, b)| FacetView {
            name: name.clone(),
            total: b.iter().map(|x| x.count).sum(),
            rows: b
                .iter()
                .map(|x| {
                    let t = term(x);
                    let mut q = base.clone();
                    q.push((name.clone(), format!("={t}")));
                    FacetRow {
                        percent: pct(x.count, results.total),
                        href: if name == "signature" {
                            format!("/signature/?signature={}", urlencode(&t))
                        } else {
                            format!("/search/?{}", to_query(&q))
                        },
                        term: t,
                        count: x.count,
                    }
                })
                .collect(),
        })
        .collect();
    let hits = results
        .hits
        .iter()
        .map(|h| Hit {
            cells: columns.iter().map(|c| cell(c, h.get(c))).collect(),
        })
        .collect();
    let returnable: Vec<&&search::FieldDef> = usable.iter().filter(|f| f.is_returned).collect();
    let page_view = SearchPage {
        layout: ctx.layout.clone(),
        fields: usable.iter().map(|f| f.name.clone()).collect(),
        operators: OPERATORS,
        rows,
        columns: returnable
            .iter()
            .map(|f| Column {
                name: f.name.clone(),
                selected: chosen_columns.contains(&f.name),
            })
            .collect(),
        facet_choices: usable
            .iter()
            .map(|f| Column {
                name: f.name.clone(),
                selected: chosen_facets.contains(&f.name),
            })
            .collect(),
        ran,
        error: error.clone(),
        total: results.total,
        headers: columns.clone(),
        hits,
        facets,
        prev,
        next,
        page,
        permalink: format!("/search/?{}", to_query(&pairs)),
        api_link: format!("/api/SuperSearch/?{}", to_query(&search_pairs)),
    };
    let html = page_view.render().map_err(|e| ApiError::from(e).html())?;
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Ok(ctx.respond(&state, status, html))
}

#[derive(serde::Deserialize)]
struct Quick {
    query: Option<String>,
}

async fn quick_search(q: web::Query<Quick>) -> HttpResponse {
    let query = q.query.as_deref().unwrap_or("").trim();
    let location = if query.is_empty() {
        "/search/".to_owned()
    } else if let Ok(id) = CrashId::parse(query) {
        format!("/report/index/{id}")
    } else {
        format!("/search/?signature={}", urlencode(&format!("~{query}")))
    };
    HttpResponse::Found()
        .insert_header(("Location", location))
        .finish()
}

// ------------------------------------------------------------- /signature/

struct Row {
    cells: Vec<Cell>,
}

struct AggView {
    name: String,
    rows: Vec<(String, u64, String)>,
}

struct BugLink {
    id: i64,
    href: String,
}

#[derive(Template)]
#[template(path = "signature.html")]
struct SignaturePage {
    layout: Layout,
    signature: String,
    total: u64,
    first_seen: String,
    first_build: String,
    summary: Vec<AggView>,
    aggregations: Vec<AggView>,
    headers: Vec<String>,
    reports: Vec<Row>,
    prev: Option<String>,
    next: Option<String>,
    chart: String,
    bugs: Vec<BugLink>,
    can_view_pii: bool,
    comments: Vec<Row>,
    error: Option<String>,
}

const SIG_COLUMNS: [&str; 10] = [
    "uuid",
    "date",
    "product",
    "version",
    "build_id",
    "platform",
    "reason",
    "address",
    "install_time",
    "startup_crash",
];
const SIG_SUMMARY: [&str; 4] = ["product", "version", "platform", "process_type"];
const SIG_AGGS: [&str; 5] = [
    "release_channel",
    "reason",
    "cpu_arch",
    "platform_pretty_version",
    "startup_crash",
];

fn agg_views(results: &SearchResults, names: &[&str]) -> Vec<AggView> {
    names
        .iter()
        .map(|n| AggView {
            name: (*n).to_owned(),
            rows: buckets(&results.facets, n)
                .iter()
                .map(|b| (term(b), b.count, pct(b.count, results.total)))
                .collect(),
        })
        .collect()
}

/// Days between `from` and now, as `YYYY-MM-DD` labels.
fn day_labels(days: i64) -> Vec<String> {
    let today = Utc::now().date_naive();
    (0..days)
        .rev()
        .map(|d| (today - Duration::days(d)).format("%Y-%m-%d").to_string())
        .collect()
}

/// One series per sub-facet term of a date histogram (top `max` terms).
fn histogram_series(
    results: &SearchResults,
    sub: &str,
    days: i64,
    max: usize,
) -> (Vec<String>, Vec<Series>) {
    let xs = day_labels(days);
    let index: HashMap<&str, usize> = xs
        .iter()
        .enumerate()
        .map(|(i, d)| (d.as_str(), i))
        .collect();
    let mut per: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let mut totals: BTreeMap<String, u64> = BTreeMap::new();
    for b in buckets(&results.facets, "histogram_date") {
        let day: String = term(b).chars().take(10).collect();
        let Some(&i) = index.get(day.as_str()) else {
            continue;
        };
        for s in buckets(&b.facets, sub) {
            let t = term(s);
            per.entry(t.clone()).or_insert_with(|| vec![0; xs.len()])[i] += s.count;
            *totals.entry(t).or_default() += s.count;
        }
    }
    let mut order: Vec<(String, u64)> = totals.into_iter().collect();
    order.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let series = order
        .into_iter()
        .take(max)
        .filter_map(|(t, _)| per.remove(&t).map(|values| Series { label: t, values }))
        .collect();
    (xs, series)
}

fn known_columns(app: &Webapp, who: &Principal, names: &[&str]) -> Vec<String> {
    let perms = search_perms(who);
    names
        .iter()
        .filter(|n| {
            app.fields
                .get(n)
                .is_some_and(|f| f.is_returned && f.allowed(&perms))
        })
        .map(|n| (*n).to_owned())
        .collect()
}

async fn signature_page(
    req: HttpRequest,
    state: web::Data<Webapp>,
) -> Result<HttpResponse, ApiError> {
    let pairs = query_pairs(&req)?;
    let Some(signature) = get(&pairs, "signature").map(str::to_owned) else {
        return Err(ApiError::bad_request("The signature parameter is required.").html());
    };
    let ctx = PageCtx::new(&state, &req, &signature).await?;
    rate_limit_search(&state, &req, &ctx.who)?;
    let page: usize = get(&pairs, "page")
        .and_then(|p| p.parse().ok())
        .filter(|&p| p > 0)
        .unwrap_or(1);
    let days = 7;
    let mut q: Pairs = vec![("signature".into(), format!("={signature}"))];
    for (k, v) in &pairs {
        if k == "date" || k == "product" || k == "version" || k == "platform" {
            q.push((k.clone(), v.clone()));
        }
    }
    let columns = known_columns(&state, &ctx.who, &SIG_COLUMNS);
    let mut main = q.clone();
    main.extend(columns.iter().map(|c| ("_columns".to_owned(), c.clone())));
    main.extend(
        SIG_SUMMARY
            .iter()
            .chain(SIG_AGGS.iter())
            .map(|f| ("_facets".to_owned(), (*f).to_owned())),
    );
    main.push(("_histogram.date".into(), "product".into()));
    main.push(("_sort".into(), "-date".into()));
    main.push(("_results_number".into(), PAGE_SIZE.to_string()));
    main.push((
        "_results_offset".into(),
        ((page - 1) * PAGE_SIZE).to_string(),
    ));
    let (results, error) = match run_search(&state, &ctx.who, &main).await {
        Ok(r) => (r, None),
        Err(ApiError::BadRequest(m)) => (SearchResults::empty(), Some(m)),
        Err(e) => return Err(e.html()),
    };
    let can_view_pii = ctx.who.has(db::permissions::VIEW_PII);
    let comments = if can_view_pii {
        let mut cq = q.clone();
        cq.push(("user_comments".into(), "!__null__".into()));
        for c in ["uuid", "date", "user_comments"] {
            cq.push(("_columns".into(), c.into()));
        }
        cq.push(("_facets_size".into(), "0".into()));
        cq.push(("_results_number".into(), "50".into()));
        let r = run_search(&state, &ctx.who, &cq)
            .await
            .map_err(ApiError::html)?;
        r.hits
            .iter()
            .map(|h| Row {
                cells: ["uuid", "date", "user_comments"]
                    .iter()
                    .map(|c| cell(c, h.get(*c)))
                    .collect(),
            })
            .collect()
    } else {
        Vec::new()
    };
    let first = state
        .db
        .signatures()
        .get(&signature)
        .await
        .map_err(|e| ApiError::from(e).html())?;
    let bugs = state
        .db
        .bug_associations()
        .bugs_for_signatures(&[signature.as_str()])
        .await
        .map_err(|e| ApiError::from(e).html())?
        .into_iter()
        .map(|b| BugLink {
            id: b.bug_id,
            href: format!("https://bugzilla.mozilla.org/show_bug.cgi?id={}", b.bug_id),
        })
        .collect();
    let (xs, series) = histogram_series(&results, "product", days, 6);
    let base: Pairs = pairs.iter().filter(|(k, _)| k != "page").cloned().collect();
    let page_link = |p: usize| {
        let mut q = base.clone();
        q.push(("page".into(), p.to_string()));
        format!("/signature/?{}#reports", to_query(&q))
    };
    let view = SignaturePage {
        layout: ctx.layout.clone(),
        total: results.total,
        first_seen: first
            .as_ref()
            .map(|f| f.first_date.format("%Y-%m-%d").to_string())
            .unwrap_or_default(),
        first_build: first
            .as_ref()
            .map(|f| f.first_build.to_string())
            .unwrap_or_default(),
        summary: agg_views(&results, &SIG_SUMMARY),
        aggregations: agg_views(&results, &SIG_AGGS),
        reports: results
            .hits
            .iter()
            .map(|h| Row {
                cells: columns.iter().map(|c| cell(c, h.get(c))).collect(),
            })
            .collect(),
        headers: columns,
        prev: (page > 1).then(|| page_link(page - 1)),
        next: ((page * PAGE_SIZE) < usize::try_from(results.total).unwrap_or(usize::MAX))
            .then(|| page_link(page + 1)),
        chart: line_chart(&xs, &series),
        bugs,
        can_view_pii,
        comments,
        error,
        signature,
    };
    let html = view.render().map_err(|e| ApiError::from(e).html())?;
    Ok(ctx.respond(&state, StatusCode::OK, html))
}

// ----------------------------------------------------------- /topcrashers/

struct TopRow {
    rank: usize,
    signature: String,
    href: String,
    percent: String,
    count: u64,
    change: String,
    change_class: &'static str,
    first_seen: String,
    bugs: Vec<BugLink>,
    win: u64,
    mac: u64,
    lin: u64,
    startup: String,
    shutdown: String,
}

#[derive(Template)]
#[template(path = "topcrashers.html")]
struct TopPage {
    layout: Layout,
    product: String,
    products: Vec<String>,
    versions: Vec<String>,
    version: String,
    days: i64,
    day_choices: [i64; 5],
    process_type: String,
    platform: String,
    size: usize,
    total: u64,
    rows: Vec<TopRow>,
    error: Option<String>,
}

fn sub_count(b: &Bucket, facet: &str, pred: impl Fn(&str) -> bool) -> u64 {
    buckets(&b.facets, facet)
        .iter()
        .filter(|x| pred(&term(x)))
        .map(|x| x.count)
        .sum()
}

async fn products(app: &Webapp) -> Vec<String> {
    let mut out: Vec<String> = app
        .db
        .products()
        .list()
        .await
        .map(|ps| {
            ps.into_iter()
                .filter(|p| p.is_active)
                .map(|p| p.product_name)
                .collect()
        })
        .unwrap_or_default();
    if !out.contains(&app.settings.default_product) {
        out.insert(0, app.settings.default_product.clone());
    }
    out
}

async fn topcrashers(req: HttpRequest, state: web::Data<Webapp>) -> Result<HttpResponse, ApiError> {
    let pairs = query_pairs(&req)?;
    let ctx = PageCtx::new(&state, &req, "Top Crashers").await?;
    rate_limit_search(&state, &req, &ctx.who)?;
    let product = get(&pairs, "product")
        .unwrap_or(&state.settings.default_product)
        .to_owned();
    let version = get(&pairs, "version").unwrap_or("").to_owned();
    if !pairs.iter().any(|(k, _)| k == "version") {
        // Socorro: no version given -> the first featured version, if any
        let featured = state
            .db
            .product_versions()
            .featured(&product)
            .await
            .map_err(|e| ApiError::from(e).html())?;
        if let Some(v) = featured.first() {
            let mut q = pairs.clone();
            q.push(("version".into(), v.clone()));
            return Ok(HttpResponse::Found()
                .insert_header(("Location", format!("/topcrashers/?{}", to_query(&q))))
                .finish());
        }
    }
    let days: i64 = get(&pairs, "days")
        .and_then(|d| d.parse().ok())
        .filter(|d| [1, 3, 7, 14, 28].contains(d))
        .unwrap_or(7);
    let process_type = get(&pairs, "process_type").unwrap_or("any").to_owned();
    let platform = get(&pairs, "platform").unwrap_or("").to_owned();
    let size: usize = get(&pairs, "_facets_size")
        .and_then(|d| d.parse().ok())
        .filter(|d| [50, 100, 200, 300].contains(d))
        .unwrap_or(50);
    let now = Utc::now();
    let period = |end: chrono::DateTime<Utc>| {
        let mut q: Pairs = vec![
            ("product".into(), format!("={product}")),
            (
                "date".into(),
                format!(">={}", (end - Duration::days(days)).to_rfc3339()),
            ),
            ("date".into(), format!("<{}", end.to_rfc3339())),
            ("_facets".into(), "signature".into()),
            ("_facets_size".into(), size.to_string()),
            ("_results_number".into(), "0".into()),
        ];
        for sub in ["platform", "startup_crash", "shutdown_progress"] {
            q.push(("_aggs.signature".into(), sub.into()));
        }
        if !version.is_empty() {
            q.push(("version".into(), version.clone()));
        }
        if process_type != "any" {
            q.push(("process_type".into(), format!("={process_type}")));
        }
        if !platform.is_empty() {
            q.push(("platform".into(), format!("={platform}")));
        }
        q
    };
    let current = run_search(&state, &ctx.who, &period(now + Duration::seconds(1))).await;
    let (current, error) = match current {
        Ok(r) => (r, None),
        Err(ApiError::BadRequest(m)) => (SearchResults::empty(), Some(m)),
        Err(e) => return Err(e.html()),
    };
    let previous = run_search(&state, &ctx.who, &period(now - Duration::days(days)))
        .await
        .unwrap_or_else(|_| SearchResults::empty());
    let prev_rank: HashMap<String, usize> = buckets(&previous.facets, "signature")
        .iter()
        .enumerate()
        .map(|(i, b)| (term(b), i + 1))
        .collect();
    let sig_buckets = buckets(&current.facets, "signature");
    let sigs: Vec<String> = sig_buckets.iter().map(term).collect();
    let first = state
        .db
        .signatures()
        .get_many(&sigs)
        .await
        .map_err(|e| ApiError::from(e).html())?;
    let first: HashMap<&str, String> = first
        .iter()
        .map(|s| {
            (
                s.signature.as_str(),
                s.first_date.format("%Y-%m-%d").to_string(),
            )
        })
        .collect();
    let mut bugs: HashMap<String, Vec<BugLink>> = HashMap::new();
    for b in state
        .db
        .bug_associations()
        .bugs_for_signatures(&sigs)
        .await
        .map_err(|e| ApiError::from(e).html())?
    {
        bugs.entry(b.signature).or_default().push(BugLink {
            id: b.bug_id,
            href: format!("https://bugzilla.mozilla.org/show_bug.cgi?id={}", b.bug_id),
        });
    }
    let rows = sig_buckets
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let sig = term(b);
            let rank = i + 1;
            let (change, change_class) = match prev_rank.get(&sig) {
                None => ("new".to_owned(), "up"),
                Some(&p) if p > rank => (format!("+{}", p - rank), "up"),
                Some(&p) if p < rank => (format!("-{}", rank - p), "down"),
                Some(_) => ("0".to_owned(), ""),
            };
            let startup = sub_count(b, "startup_crash", |t| t == "T" || t == "true");
            let shutdown = sub_count(b, "shutdown_progress", |t| !t.is_empty());
            TopRow {
                rank,
                href: format!(
                    "/signature/?signature={}&product={}",
                    urlencode(&sig),
                    urlencode(&format!("={product}"))
                ),
                percent: pct(b.count, current.total),
                count: b.count,
                change,
                change_class,
                first_seen: first.get(sig.as_str()).cloned().unwrap_or_default(),
                bugs: bugs.remove(&sig).unwrap_or_default(),
                win: sub_count(b, "platform", |t| t.starts_with("Windows")),
                mac: sub_count(b, "platform", |t| t.starts_with("Mac")),
                lin: sub_count(b, "platform", |t| t == "Linux"),
                startup: pct(startup, b.count),
                shutdown: pct(shutdown, b.count),
                signature: sig,
            }
        })
        .collect();
    let versions = state
        .db
        .product_versions()
        .featured(&product)
        .await
        .unwrap_or_default();
    let view = TopPage {
        layout: ctx.layout.clone(),
        products: products(&state).await,
        product,
        versions,
        version,
        days,
        day_choices: [1, 3, 7, 14, 28],
        process_type,
        platform,
        size,
        total: current.total,
        rows,
        error,
    };
    let html = view.render().map_err(|e| ApiError::from(e).html())?;
    Ok(ctx.respond(&state, StatusCode::OK, html))
}

// ------------------------------------------------------ /home/product/<p>

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    layout: Layout,
    product: String,
    products: Vec<String>,
    days: i64,
    versions: Vec<(String, u64)>,
    chart: String,
}

async fn product_home(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<Webapp>,
) -> Result<HttpResponse, ApiError> {
    let product = path.into_inner();
    let ctx = PageCtx::new(&state, &req, &product).await?;
    let days = 7;
    let now = Utc::now();
    let q: Pairs = vec![
        ("product".into(), format!("={product}")),
        (
            "date".into(),
            format!(">={}", (now - Duration::days(days)).to_rfc3339()),
        ),
        ("_facets".into(), "version".into()),
        ("_histogram.date".into(), "version".into()),
        ("_facets_size".into(), "20".into()),
        ("_results_number".into(), "0".into()),
    ];
    let results = run_search(&state, &ctx.who, &q)
        .await
        .map_err(ApiError::html)?;
    let (xs, series) = histogram_series(&results, "version", days, 5);
    let versions = buckets(&results.facets, "version")
        .iter()
        .map(|b| (term(b), b.count))
        .collect();
    let view = HomePage {
        layout: ctx.layout.clone(),
        products: products(&state).await,
        product,
        days,
        versions,
        chart: line_chart(&xs, &series),
    };
    let html = view.render().map_err(|e| ApiError::from(e).html())?;
    Ok(ctx.respond(&state, StatusCode::OK, html))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_split() {
        assert_eq!(split_operator("=Firefox"), ("=".into(), "Firefox".into()));
        assert_eq!(split_operator("!~foo"), ("!~".into(), "foo".into()));
        assert_eq!(
            split_operator(">=2024-01-01"),
            (">=".into(), "2024-01-01".into())
        );
        assert_eq!(split_operator("!__null__"), ("!__null__".into(), "".into()));
        assert_eq!(split_operator("plain"), ("".into(), "plain".into()));
    }

    #[test]
    fn form_rows_become_parameters() {
        let p = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        let got = canonical(&[
            p("f", "product"),
            p("op", "="),
            p("v", "Firefox"),
            p("f", "signature"),
            p("op", "~"),
            p("v", ""),
            p("f", "url"),
            p("op", "!__null__"),
            p("v", ""),
            p("_columns", "uuid"),
            p("_facets", ""),
        ]);
        assert_eq!(
            got,
            vec![
                p("product", "=Firefox"),
                p("url", "!__null__"),
                p("_columns", "uuid")
            ]
        );
    }
}

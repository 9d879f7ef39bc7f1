//! Server-rendered pages (askama templates under `templates/`).

mod account;
mod chart;
mod report;
mod search;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::Webapp;
use crate::auth::{self, CSRF_FIELD, Principal};
use crate::error::ApiError;

/// What every page's header needs.
#[derive(Clone)]
pub struct Layout {
    pub title: String,
    pub user: Option<String>,
    pub csrf: String,
}

/// The caller of a page request and the layout to render with.
pub(crate) struct PageCtx {
    pub who: Principal,
    pub layout: Layout,
}

impl PageCtx {
    pub async fn new(app: &Webapp, req: &HttpRequest, title: &str) -> Result<Self, ApiError> {
        let mut who = auth::principal(app, req).await.map_err(ApiError::html)?;
        let csrf = app.signer.csrf_token(who.ensure_session());
        let layout = Layout {
            title: title.to_owned(),
            user: who.username().map(str::to_owned),
            csrf,
        };
        Ok(Self { who, layout })
    }

    /// An HTML response, setting the session cookie if this request made one.
    pub fn respond(&self, app: &Webapp, status: StatusCode, html: String) -> HttpResponse {
        let mut b = HttpResponse::build(status);
        b.content_type("text/html; charset=utf-8")
            .insert_header(("Cache-Control", "private, no-cache"));
        if self.who.new_session
            && let Some(s) = &self.who.session
        {
            b.cookie(auth::session_cookie(app, s));
        }
        b.body(html)
    }

    /// Fails unless the form carries this session's CSRF token.
    pub fn check_csrf(&self, app: &Webapp, form: &[(String, String)]) -> Result<(), ApiError> {
        let token = form
            .iter()
            .find(|(k, _)| k == CSRF_FIELD)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default();
        match &self.who.session {
            Some(s) if !self.who.new_session && app.signer.check_csrf(s, token) => Ok(()),
            _ => Err(ApiError::Csrf.html()),
        }
    }
}

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home_redirect))
        .route("/static/app.css", web::get().to(css))
        .route("/static/app.js", web::get().to(js))
        .route("/robots.txt", web::get().to(robots))
        .configure(account::configure)
        .configure(report::configure)
        .configure(search::configure)
        .default_service(web::to(not_found));
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    layout: Layout,
    heading: String,
    message: &'a str,
    detail: Option<&'a str>,
}

/// A standalone error page (no user context).
pub fn error_page(status: StatusCode, message: &str, detail: Option<&str>) -> String {
    let page = ErrorPage {
        layout: Layout {
            title: status.to_string(),
            user: None,
            csrf: String::new(),
        },
        heading: format!(
            "{} {}",
            status.as_u16(),
            status.canonical_reason().unwrap_or("Error")
        ),
        message,
        detail,
    };
    page.render()
        .unwrap_or_else(|_| format!("{} {message}", status.as_u16()))
}

/// `/login/?next=<path>`.
pub fn login_url(next: &str) -> String {
    format!("/login/?next={}", urlencode(next))
}

pub(crate) fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b))
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::not_found("Page not found").html())
}

async fn home_redirect(state: web::Data<Webapp>) -> HttpResponse {
    HttpResponse::Found()
        .insert_header((
            "Location",
            format!(
                "/home/product/{}",
                urlencode(&state.settings.default_product)
            ),
        ))
        .finish()
}

async fn css() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(include_str!("../../static/app.css"))
}

async fn js() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(include_str!("../../static/app.js"))
}

async fn robots() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain")
        .body("User-agent: *\nDisallow: /\n")
}

struct DocParam {
    name: &'static str,
    kind: &'static str,
    required: bool,
    description: &'static str,
}

struct DocEndpoint {
    name: &'static str,
    methods: String,
    description: &'static str,
    returns: &'static str,
    permission: &'static str,
    allowed: bool,
    testable: bool,
    params: Vec<DocParam>,
}

#[derive(Template)]
#[template(path = "api_docs.html")]
struct ApiDocs {
    layout: Layout,
    endpoints: Vec<DocEndpoint>,
}

/// `/api/`: documentation generated from [`crate::api::ENDPOINTS`].
pub async fn api_docs(
    req: HttpRequest,
    state: web::Data<Webapp>,
) -> Result<HttpResponse, ApiError> {
    let ctx = PageCtx::new(&state, &req, "API Reference").await?;
    let endpoints = crate::api::ENDPOINTS
        .iter()
        .map(|e| DocEndpoint {
            name: e.name,
            methods: e.methods.join(", "),
            description: e.description,
            returns: e.returns,
            permission: e.permission.map(auth::permission_name).unwrap_or(""),
            allowed: e.permission.is_none_or(|p| ctx.who.has(p)),
            testable: e.methods.contains(&"GET"),
            params: e
                .params
                .iter()
                .map(|p| DocParam {
                    name: p.name,
                    kind: p.kind,
                    required: p.required,
                    description: p.description,
                })
                .collect(),
        })
        .collect();
    let html = ApiDocs {
        layout: ctx.layout.clone(),
        endpoints,
    }
    .render()
    .map_err(|e| ApiError::from(e).html())?;
    Ok(ctx.respond(&state, StatusCode::OK, html))
}

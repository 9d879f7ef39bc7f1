//! Login, logout and API tokens (`/tokens/`).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::Utc;
use db::tokens::{DEFAULT_LIFETIME, NewToken};

use super::{Layout, PageCtx};
use crate::Webapp;
use crate::auth::{self, Session};
use crate::error::ApiError;

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/login/", web::get().to(login_form))
        .route("/login/", web::post().to(login))
        .route("/logout/", web::post().to(logout))
        .route("/tokens/", web::get().to(tokens))
        .route("/tokens/", web::post().to(create_token))
        .route("/tokens/delete/{id}/", web::post().to(delete_token));
}

type Form = web::Form<Vec<(String, String)>>;

fn field<'a>(form: &'a [(String, String)], name: &str) -> &'a str {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_default()
}

/// Only local paths, never `//host` or `/\host`.
fn safe_next(next: &str) -> &str {
    if next.starts_with('/') && !next.starts_with("//") && !next.starts_with("/\\") {
        next
    } else {
        "/"
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    layout: Layout,
    next: String,
    error: Option<String>,
}

#[derive(serde::Deserialize)]
struct NextQuery {
    next: Option<String>,
}

async fn login_form(
    req: HttpRequest,
    q: web::Query<NextQuery>,
    state: web::Data<Webapp>,
) -> Result<HttpResponse, ApiError> {
    let ctx = PageCtx::new(&state, &req, "Log in").await?;
    let html = LoginPage {
        layout: ctx.layout.clone(),
        next: safe_next(q.next.as_deref().unwrap_or("/")).to_owned(),
        error: None,
    }
    .render()
    .map_err(|e| ApiError::from(e).html())?;
    Ok(ctx.respond(&state, StatusCode::OK, html))
}

async fn login(
    req: HttpRequest,
    form: Form,
    state: web::Data<Webapp>,
) -> Result<HttpResponse, ApiError> {
    let ctx = PageCtx::new(&state, &req, "Log in").await?;
    ctx.check_csrf(&state, &form)?;
    let ip = auth::client_ip(&state, &req);
    state
        .limiter
        .check(&format!("login:{ip}"), 20)
        .map_err(|retry_after_secs| ApiError::RateLimited { retry_after_secs }.html())?;
    let username = field(&form, "username").trim();
    let password = field(&form, "password");
    let next = safe_next(field(&form, "next")).to_owned();
    let user = state
        .db
        .users()
        .authenticate(username, password, Utc::now())
        .await
        .map_err(|e| ApiError::from(e).html())?;
    let Some(user) = user else {
        tracing::info!(username, "login refused");
        let html = LoginPage {
            layout: ctx.layout.clone(),
            next,
            error: Some("Wrong username or password, or the account is inactive.".into()),
        }
        .render()
        .map_err(|e| ApiError::from(e).html())?;
        return Ok(ctx.respond(&state, StatusCode::OK, html));
    };
    tracing::info!(username = %user.username, "logged in");
    // a new session (new nonce, so new CSRF token) on every login
    let session = Session::new(user.id);
    Ok(HttpResponse::Found()
        .cookie(auth::session_cookie(&state, &session))
        .insert_header(("Location", next))
        .finish())
}

async fn logout(
    req: HttpRequest,
    form: Form,
    state: web::Data<Webapp>,
) -> Result<HttpResponse, ApiError> {
    let ctx = PageCtx::new(&state, &req, "Log out").await?;
    ctx.check_csrf(&state, &form)?;
    Ok(HttpResponse::Found()
        .cookie(auth::removal_cookie())
        .insert_header(("Location", "/"))
        .finish())
}

struct TokenRow {
    id: i64,
    prefix: String,
    permissions: String,
    notes: String,
    created: String,
    expires: String,
    last_used: String,
    expired: bool,
}

#[derive(Template)]
#[template(path = "tokens.html")]
struct TokensPage {
    layout: Layout,
    tokens: Vec<TokenRow>,
    permissions: Vec<(String, &'static str)>,
    created: Option<String>,
    error: Option<String>,
}

fn day(t: chrono::DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M").to_string()
}

async fn render_tokens(
    state: &Webapp,
    ctx: &PageCtx,
    created: Option<String>,
    error: Option<String>,
) -> Result<String, ApiError> {
    let Some(user) = &ctx.who.user else {
        return Err(ApiError::LoginRequired {
            next: "/tokens/".into(),
        }
        .html());
    };
    let now = Utc::now();
    let tokens = state
        .db
        .tokens()
        .list_for_user(user.id)
        .await?
        .into_iter()
        .map(|t| TokenRow {
            id: t.id,
            expired: t.is_expired(now),
            prefix: t.prefix,
            permissions: if t.permissions.is_empty() {
                "none".to_owned()
            } else {
                t.permissions
                    .iter()
                    .map(|p| auth::permission_name(p))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            notes: t.notes,
            created: day(t.created),
            expires: day(t.expires),
            last_used: t.last_used.map(day).unwrap_or_else(|| "never".into()),
        })
        .collect();
    let permissions = ctx
        .who
        .permissions
        .iter()
        .map(|p| (p.clone(), auth::permission_name(p)))
        .collect();
    Ok(TokensPage {
        layout: ctx.layout.clone(),
        tokens,
        permissions,
        created,
        error,
    }
    .render()?)
}

async fn tokens(req: HttpRequest, state: web::Data<Webapp>) -> Result<HttpResponse, ApiError> {
    let ctx = PageCtx::new(&state, &req, "API Tokens").await?;
    ctx.who.require_login(&req).map_err(ApiError::html)?;
    let html = render_tokens(&state, &ctx, None, None)
        .await
        .map_err(ApiError::html)?;
    Ok(ctx.respond(&state, StatusCode::OK, html))
}

async fn create_token(
    req: HttpRequest,
    form: Form,
    state: web::Data<Webapp>,
) -> Result<HttpResponse, ApiError> {
    let ctx = PageCtx::new(&state, &req, "API Tokens").await?;
    let user = ctx.who.require_login(&req).map_err(ApiError::html)?;
    ctx.check_csrf(&state, &form)?;
    let wanted: Vec<String> = form
        .iter()
        .filter(|(k, _)| k == "permissions")
        .map(|(_, v)| v.clone())
        .collect();
    if let Some(p) = wanted.iter().find(|p| !ctx.who.permissions.contains(p)) {
        let html = render_tokens(
            &state,
            &ctx,
            None,
            Some(format!("You do not hold the permission {p:?}.")),
        )
        .await
        .map_err(ApiError::html)?;
        return Ok(ctx.respond(&state, StatusCode::BAD_REQUEST, html));
    }
    let now = Utc::now();
    let created = state
        .db
        .tokens()
        .create(
            &NewToken {
                user_id: user.id,
                permissions: &wanted,
                notes: field(&form, "notes").trim(),
                expires: now + DEFAULT_LIFETIME,
            },
            now,
        )
        .await
        .map_err(|e| ApiError::from(e).html())?;
    tracing::info!(username = %user.username, token_id = created.info.id, "API token created");
    let html = render_tokens(&state, &ctx, Some(created.token), None)
        .await
        .map_err(ApiError::html)?;
    Ok(ctx.respond(&state, StatusCode::OK, html))
}

async fn delete_token(
    req: HttpRequest,
    path: web::Path<i64>,
    form: Form,
    state: web::Data<Webapp>,
) -> Result<HttpResponse, ApiError> {
    let ctx = PageCtx::new(&state, &req, "API Tokens").await?;
    let user = ctx.who.require_login(&req).map_err(ApiError::html)?;
    ctx.check_csrf(&state, &form)?;
    let removed = state
        .db
        .tokens()
        .revoke_own(user.id, path.into_inner())
        .await
        .map_err(|e| ApiError::from(e).html())?;
    if !removed {
        return Err(ApiError::not_found("No such token").html());
    }
    Ok(HttpResponse::Found()
        .insert_header(("Location", "/tokens/"))
        .finish())
}

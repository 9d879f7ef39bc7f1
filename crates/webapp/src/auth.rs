//! Who is asking: a signed session cookie (browser) or an `Auth-Token`
//! header (API), the permissions that come with it, and CSRF tokens.
//!
//! The session cookie is `v1.<user id>.<issued unix secs>.<nonce>.<hmac>`;
//! user id 0 is an anonymous session (it only carries the CSRF nonce of the
//! login form). The CSRF token of a session is `HMAC(key, "csrf:" + nonce)`;
//! every POST form must send it back as `csrfmiddlewaretoken`.

use actix_web::HttpRequest;
use actix_web::cookie::{Cookie, SameSite};
use chrono::Utc;
use db::tokens::TokenCheck;
use db::users::User;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::Webapp;
use crate::error::ApiError;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "socorro_session";
/// Name of the CSRF form field (Django's).
pub const CSRF_FIELD: &str = "csrfmiddlewaretoken";
/// Header carrying an API token.
pub const TOKEN_HEADER: &str = "Auth-Token";

/// HMAC-SHA256 (RFC 2104).
pub fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut k = [0u8; BLOCK];
    if key.len() > BLOCK {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(k.map(|b| b ^ 0x36));
    inner.update(msg);
    let mut outer = Sha256::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

/// Signs and checks session cookies and CSRF tokens.
pub struct Signer {
    key: Vec<u8>,
}

impl Signer {
    pub fn new(key: Vec<u8>) -> Self {
        Self { key }
    }

    fn sign(&self, purpose: &str, payload: &str) -> String {
        hex::encode(hmac_sha256(
            &self.key,
            format!("{purpose}:{payload}").as_bytes(),
        ))
    }

    fn verify(&self, purpose: &str, payload: &str, sig: &str) -> bool {
        let want = self.sign(purpose, payload);
        want.as_bytes().ct_eq(sig.as_bytes()).into()
    }

    /// The cookie value of a session.
    pub fn encode(&self, s: &Session) -> String {
        let payload = format!("v1.{}.{}.{}", s.user_id, s.issued, s.nonce);
        let sig = self.sign("session", &payload);
        format!("{payload}.{sig}")
    }

    /// The session in a cookie value, if the signature holds.
    pub fn decode(&self, value: &str) -> Option<Session> {
        let (payload, sig) = value.rsplit_once('.')?;
        if !self.verify("session", payload, sig) {
            return None;
        }
        let mut parts = payload.split('.');
        if parts.next()? != "v1" {
            return None;
        }
        let user_id = parts.next()?.parse().ok()?;
        let issued = parts.next()?.parse().ok()?;
        let nonce = parts.next()?.to_owned();
        if parts.next().is_some() || nonce.len() != 32 {
            return None;
        }
        Some(Session {
            user_id,
            issued,
            nonce,
        })
    }

    /// The CSRF token forms of this session must carry.
    pub fn csrf_token(&self, s: &Session) -> String {
        self.sign("csrf", &s.nonce)
    }

    /// True when `token` is this session's CSRF token.
    pub fn check_csrf(&self, s: &Session, token: &str) -> bool {
        self.verify("csrf", &s.nonce, token)
    }
}

/// A browser session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// 0: anonymous.
    pub user_id: i64,
    /// Unix seconds of login (or creation for anonymous sessions).
    pub issued: i64,
    /// Random; CSRF tokens derive from it.
    pub nonce: String,
}

impl Session {
    pub fn new(user_id: i64) -> Self {
        Self {
            user_id,
            issued: Utc::now().timestamp(),
            nonce: hex::encode(rand::random::<[u8; 16]>()),
        }
    }
}

/// The caller of one request.
#[derive(Clone, Debug, Default)]
pub struct Principal {
    /// Logged-in user (via session or token).
    pub user: Option<User>,
    /// Codenames this request may use (a token's own permissions).
    pub permissions: Vec<String>,
    /// Authenticated with `Auth-Token`.
    pub token_id: Option<i64>,
    /// The browser session (anonymous or not).
    pub session: Option<Session>,
    /// A session created for this request: its cookie must be set.
    pub new_session: bool,
}

impl Principal {
    pub fn has(&self, codename: &str) -> bool {
        self.user.as_ref().is_some_and(|u| u.is_active)
            && self.permissions.iter().any(|p| p == codename)
    }

    pub fn is_authenticated(&self) -> bool {
        self.user.is_some()
    }

    pub fn username(&self) -> Option<&str> {
        self.user.as_ref().map(|u| u.username.as_str())
    }

    /// Fails with a page redirect to the login form when anonymous.
    pub fn require_login(&self, req: &HttpRequest) -> Result<&User, ApiError> {
        self.user.as_ref().ok_or_else(|| ApiError::LoginRequired {
            next: req
                .uri()
                .path_and_query()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_else(|| "/".to_owned()),
        })
    }

    /// The session, creating an anonymous one (for CSRF on forms) if needed.
    pub fn ensure_session(&mut self) -> &Session {
        if self.session.is_none() {
            self.session = Some(Session::new(0));
            self.new_session = true;
        }
        self.session.get_or_insert_with(|| Session::new(0))
    }

    /// A key for rate limiting: token, user or client address.
    pub fn rate_key(&self, ip: &str) -> (String, bool) {
        if let Some(t) = self.token_id {
            (format!("token:{t}"), true)
        } else if let Some(u) = &self.user {
            (format!("user:{}", u.id), true)
        } else {
            (format!("ip:{ip}"), false)
        }
    }
}

/// Session cookie to set.
pub fn session_cookie<'a>(app: &Webapp, s: &Session) -> Cookie<'a> {
    Cookie::build(SESSION_COOKIE, app.signer.encode(s))
        .path("/")
        .http_only(true)
        .secure(app.settings.secure_cookies)
        .same_site(SameSite::Lax)
        .max_age(actix_web::cookie::time::Duration::seconds(
            i64::try_from(app.settings.session_max_age_secs).unwrap_or(86_400),
        ))
        .finish()
}

/// Cookie that removes the session.
pub fn removal_cookie<'a>() -> Cookie<'a> {
    let mut c = Cookie::build(SESSION_COOKIE, "").path("/").finish();
    c.make_removal();
    c
}

/// The client's address for rate limits.
pub fn client_ip(app: &Webapp, req: &HttpRequest) -> String {
    if app.settings.trust_x_real_ip
        && let Some(ip) = req.headers().get("X-Real-Ip").and_then(|v| v.to_str().ok())
    {
        return ip.trim().to_owned();
    }
    req.peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Session from the cookie, if valid and not expired.
fn session_of(app: &Webapp, req: &HttpRequest) -> Option<Session> {
    let cookie = req.cookie(SESSION_COOKIE)?;
    let s = app.signer.decode(cookie.value())?;
    let age = Utc::now().timestamp() - s.issued;
    let max = i64::try_from(app.settings.session_max_age_secs).unwrap_or(86_400);
    (0..=max).contains(&age).then_some(s)
}

/// Identify the caller: `Auth-Token` first (403 with Socorro's messages when
/// it is bad), else the session cookie.
pub async fn principal(app: &Webapp, req: &HttpRequest) -> Result<Principal, ApiError> {
    if let Some(value) = req.headers().get(TOKEN_HEADER) {
        let token = value
            .to_str()
            .map_err(|_| ApiError::Forbidden("API Token not matched".into()))?;
        return match app.db.tokens().authenticate(token, Utc::now()).await? {
            TokenCheck::NotFound => Err(ApiError::Forbidden("API Token not matched".into())),
            TokenCheck::Expired => Err(ApiError::Forbidden("API Token found but expired".into())),
            TokenCheck::UserInactive => {
                Err(ApiError::Forbidden("User of API token not active".into()))
            }
            TokenCheck::Valid(auth) => Ok(Principal {
                user: Some(auth.user),
                permissions: auth.permissions,
                token_id: Some(auth.token_id),
                session: None,
                new_session: false,
            }),
        };
    }
    let Some(session) = session_of(app, req) else {
        return Ok(Principal::default());
    };
    if session.user_id == 0 {
        return Ok(Principal {
            session: Some(session),
            ..Default::default()
        });
    }
    let user = app.db.users().get_by_id(session.user_id).await?;
    match user {
        Some(user) if user.is_active => {
            let permissions = app.db.users().permissions(user.id).await?;
            Ok(Principal {
                user: Some(user),
                permissions,
                token_id: None,
                session: Some(session),
                new_session: false,
            })
        }
        // deleted or deactivated: treat as anonymous
        _ => Ok(Principal::default()),
    }
}

/// Display name of a permission (Socorro's, used in 403 messages).
pub fn permission_name(codename: &str) -> &'static str {
    match codename {
        db::permissions::VIEW_PII => "View Personal Identifiable Information",
        db::permissions::VIEW_RAWDUMP => "View Raw Dumps",
        db::permissions::RUN_CUSTOM_QUERIES => "Run Custom Queries in Super Search",
        db::permissions::RUN_LONG_QUERIES => "Run Long Queries",
        db::permissions::REPROCESS_CRASHES => "Reprocess Crashes",
        db::permissions::UPLOAD_SYMBOLS => "Upload Symbols Files",
        db::permissions::VIEW_EXPLOITABILITY => "View Exploitability Results",
        _ => "unknown permission",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc4231_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn session_roundtrip_and_tamper() {
        let s = Signer::new(b"k".repeat(40));
        let sess = Session::new(42);
        let v = s.encode(&sess);
        assert_eq!(s.decode(&v), Some(sess.clone()));
        let forged = v.replacen("v1.42.", "v1.1.", 1);
        assert_eq!(s.decode(&forged), None);
        let other = Signer::new(b"x".repeat(40));
        assert_eq!(other.decode(&v), None);
        let t = s.csrf_token(&sess);
        assert!(s.check_csrf(&sess, &t));
        assert!(!s.check_csrf(&Session::new(42), &t));
    }
}

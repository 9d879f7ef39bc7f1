//! Admin commands: `socorro db migrate|status`, `socorro users …`,
//! `socorro tokens …`. The `socorro` binary parses these arg structs (clap
//! derive) and calls the `run_*` functions with a connected [`Db`].
//!
//! Passwords never come from argv: `--password-stdin` reads the first line
//! of standard input, `--password-env VAR` reads an environment variable.

use std::io::{BufRead, Write};

use chrono::{TimeDelta, Utc};
use clap::{Args, Subcommand};

use crate::tokens::NewToken;
use crate::users::NewUser;
use crate::{Db, DbError};

/// `socorro db …`
#[derive(Debug, Clone, Args)]
pub struct DbArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: DbCommand,
}

/// `socorro db` subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum DbCommand {
    /// Apply pending migrations (a no-op when up to date).
    Migrate,
    /// Show which migrations are applied and pending.
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Fail when a migration is pending, modified or unknown.
        #[arg(long)]
        check: bool,
    },
}

/// Where a password comes from (never from argv).
#[derive(Debug, Clone, Default, Args)]
pub struct PasswordSource {
    /// Read the password from the first line of standard input.
    #[arg(long, conflicts_with = "password_env")]
    pub password_stdin: bool,
    /// Read the password from this environment variable.
    #[arg(long, value_name = "VAR")]
    pub password_env: Option<String>,
}

/// `socorro users …`
#[derive(Debug, Clone, Args)]
pub struct UsersArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: UsersCommand,
}

/// `socorro users` subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum UsersCommand {
    /// Create an account (without a password source it cannot log in, but
    /// can own API tokens).
    Create {
        /// Login name.
        username: String,
        /// Contact address.
        #[arg(long, default_value = "")]
        email: String,
        /// Make a superuser (every permission).
        #[arg(long)]
        superuser: bool,
        /// Add to this group (repeatable), e.g. "Hackers".
        #[arg(long = "group", value_name = "GROUP")]
        groups: Vec<String>,
        /// Password source.
        #[command(flatten)]
        password: PasswordSource,
    },
    /// List accounts with their groups and permissions.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Set an account's password.
    SetPassword {
        /// Login name.
        username: String,
        /// Password source (required).
        #[command(flatten)]
        password: PasswordSource,
    },
    /// Grant (or with --revoke, remove) groups, permissions, superuser.
    Grant {
        /// Login name.
        username: String,
        /// Group (repeatable).
        #[arg(long = "group", value_name = "GROUP")]
        groups: Vec<String>,
        /// Permission codename (repeatable), e.g. view_pii.
        #[arg(long = "permission", value_name = "CODENAME")]
        permissions: Vec<String>,
        /// Superuser flag.
        #[arg(long)]
        superuser: bool,
        /// Remove instead of grant.
        #[arg(long)]
        revoke: bool,
    },
    /// Allow the account to log in and use its tokens again.
    Activate {
        /// Login name.
        username: String,
    },
    /// Refuse the account's logins and tokens.
    Deactivate {
        /// Login name.
        username: String,
    },
}

/// `socorro tokens …`
#[derive(Debug, Clone, Args)]
pub struct TokensArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: TokensCommand,
}

/// `socorro tokens` subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum TokensCommand {
    /// Create an API token (printed once; only its hash is stored).
    Create {
        /// Owner's login name.
        username: String,
        /// Permission codename (repeatable); must be held by the owner.
        #[arg(long = "permission", value_name = "CODENAME")]
        permissions: Vec<String>,
        /// Free text.
        #[arg(long, default_value = "")]
        notes: String,
        /// Days until it expires.
        #[arg(long, default_value_t = 90, value_parser = clap::value_parser!(i64).range(1..=3650))]
        days: i64,
    },
    /// List tokens (never the secrets).
    List {
        /// Only this user's.
        #[arg(long)]
        user: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Delete a token by id.
    Revoke {
        /// Token id (from `tokens list`).
        id: i64,
    },
}

fn io(what: &str) -> impl FnOnce(std::io::Error) -> DbError + '_ {
    move |source| DbError::Io {
        what: what.to_owned(),
        source,
    }
}

fn json_line<T: serde::Serialize>(out: &mut dyn Write, value: &T) -> Result<(), DbError> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| DbError::Invalid(format!("cannot encode JSON: {e}")))?;
    writeln!(out, "{text}").map_err(io("writing output"))
}

/// Runs `socorro db migrate|status`.
pub async fn run_db(db: &Db, args: DbArgs, out: &mut dyn Write) -> Result<(), DbError> {
    match args.command {
        DbCommand::Migrate => {
            let applied = db.migrate().await?;
            if applied.is_empty() {
                writeln!(
                    out,
                    "{} database at {} is up to date",
                    db.engine(),
                    db.url()
                )
            } else {
                writeln!(
                    out,
                    "applied migrations {applied:?} to {} database at {}",
                    db.engine(),
                    db.url()
                )
            }
            .map_err(io("writing output"))
        }
        DbCommand::Status { json, check } => {
            let status = db.status().await?;
            if json {
                json_line(out, &status)?;
            } else {
                let w = &mut *out;
                writeln!(w, "{} database at {}", status.engine, db.url())
                    .map_err(io("writing output"))?;
                for m in &status.migrations {
                    let state = match (m.applied, m.modified) {
                        (true, false) => "applied",
                        (true, true) => "applied, MODIFIED since",
                        (false, _) => "pending",
                    };
                    writeln!(w, "{:>6}  {:<40} {state}", m.version, m.description)
                        .map_err(io("writing output"))?;
                }
                for v in &status.unknown_applied {
                    writeln!(w, "{v:>6}  (unknown to this build: the database is newer)")
                        .map_err(io("writing output"))?;
                }
            }
            if check && !status.is_current() {
                return Err(DbError::Invalid(format!(
                    "database schema is not current: pending {:?}, unknown {:?}",
                    status.pending(),
                    status.unknown_applied
                )));
            }
            Ok(())
        }
    }
}

/// Runs `socorro users …`, reading `--password-stdin` from standard input.
pub async fn run_users(db: &Db, args: UsersArgs, out: &mut dyn Write) -> Result<(), DbError> {
    let needs_stdin = match &args.command {
        UsersCommand::Create { password, .. } | UsersCommand::SetPassword { password, .. } => {
            password.password_stdin
        }
        _ => false,
    };
    let stdin = if needs_stdin {
        tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line).map(|_| line)
        })
        .await
        .map_err(|e| DbError::Invalid(format!("reading standard input: {e}")))?
        .map_err(io("reading the password from standard input"))?
    } else {
        String::new()
    };
    run_users_with_input(db, args, &mut stdin.as_bytes(), out).await
}

/// [`run_users`] with standard input supplied by the caller (tests).
pub async fn run_users_with_input(
    db: &Db,
    args: UsersArgs,
    input: &mut dyn BufRead,
    out: &mut dyn Write,
) -> Result<(), DbError> {
    let users = db.users();
    match args.command {
        UsersCommand::Create {
            username,
            email,
            superuser,
            groups,
            password,
        } => {
            let password = read_password(&password, input)?;
            for g in &groups {
                db.permissions().group_id(g).await?;
            }
            let user = users
                .create(
                    &NewUser {
                        username: &username,
                        email: &email,
                        password: password.as_deref(),
                        is_superuser: superuser,
                        is_active: true,
                    },
                    Utc::now(),
                )
                .await?;
            for g in &groups {
                users.add_to_group(&username, g).await?;
            }
            writeln!(out, "created user {} (id {})", user.username, user.id)
                .map_err(io("writing output"))?;
            if password.is_none() {
                writeln!(
                    out,
                    "note: no password set; use `users set-password` to allow logins"
                )
                .map_err(io("writing output"))?;
            }
            Ok(())
        }
        UsersCommand::List { json } => {
            let mut rows = Vec::new();
            for u in users.list().await? {
                let groups = users.groups(u.id).await?;
                let permissions = users.permissions(u.id).await?;
                rows.push(UserRow {
                    user: u,
                    groups,
                    permissions,
                });
            }
            if json {
                return json_line(out, &rows);
            }
            for r in rows {
                let mut flags = Vec::new();
                if !r.user.is_active {
                    flags.push("inactive");
                }
                if r.user.is_superuser {
                    flags.push("superuser");
                }
                writeln!(
                    out,
                    "{}\t{}\t{}\tgroups: {}\tpermissions: {}",
                    r.user.id,
                    r.user.username,
                    if flags.is_empty() {
                        "active".to_owned()
                    } else {
                        flags.join(",")
                    },
                    r.groups.join(","),
                    r.permissions.join(","),
                )
                .map_err(io("writing output"))?;
            }
            Ok(())
        }
        UsersCommand::SetPassword { username, password } => {
            let Some(password) = read_password(&password, input)? else {
                return Err(DbError::Invalid(
                    "give the password with --password-stdin or --password-env VAR".into(),
                ));
            };
            users.set_password(&username, &password).await?;
            writeln!(out, "password of {username} changed").map_err(io("writing output"))
        }
        UsersCommand::Grant {
            username,
            groups,
            permissions,
            superuser,
            revoke,
        } => {
            users.require(&username).await?;
            if groups.is_empty() && permissions.is_empty() && !superuser {
                return Err(DbError::Invalid(
                    "nothing to grant: give --group, --permission or --superuser".into(),
                ));
            }
            for g in &groups {
                if revoke {
                    users.remove_from_group(&username, g).await?;
                } else {
                    users.add_to_group(&username, g).await?;
                }
            }
            for p in &permissions {
                if revoke {
                    users.revoke_permission(&username, p).await?;
                } else {
                    users.grant_permission(&username, p).await?;
                }
            }
            if superuser {
                users.set_superuser(&username, !revoke).await?;
            }
            let user = users.require(&username).await?;
            let now = users.permissions(user.id).await?;
            writeln!(
                out,
                "{username} now holds: {}",
                if now.is_empty() {
                    "-".into()
                } else {
                    now.join(",")
                }
            )
            .map_err(io("writing output"))
        }
        UsersCommand::Activate { username } => {
            users.set_active(&username, true).await?;
            writeln!(out, "{username} activated").map_err(io("writing output"))
        }
        UsersCommand::Deactivate { username } => {
            users.set_active(&username, false).await?;
            writeln!(out, "{username} deactivated").map_err(io("writing output"))
        }
    }
}

#[derive(serde::Serialize)]
struct UserRow {
    #[serde(flatten)]
    user: crate::users::User,
    groups: Vec<String>,
    permissions: Vec<String>,
}

fn read_password(
    source: &PasswordSource,
    input: &mut dyn BufRead,
) -> Result<Option<String>, DbError> {
    if source.password_stdin {
        let mut line = String::new();
        input
            .read_line(&mut line)
            .map_err(io("reading the password from standard input"))?;
        let password = line.trim_end_matches(['\r', '\n']).to_owned();
        if password.is_empty() {
            return Err(DbError::Invalid(
                "--password-stdin: standard input is empty".into(),
            ));
        }
        return Ok(Some(password));
    }
    if let Some(var) = &source.password_env {
        return match std::env::var(var) {
            Ok(p) if !p.is_empty() => Ok(Some(p)),
            _ => Err(DbError::Config {
                setting: "--password-env",
                message: format!("environment variable {var} is unset or empty"),
            }),
        };
    }
    Ok(None)
}

/// Runs `socorro tokens …`.
pub async fn run_tokens(db: &Db, args: TokensArgs, out: &mut dyn Write) -> Result<(), DbError> {
    let tokens = db.tokens();
    match args.command {
        TokensCommand::Create {
            username,
            permissions,
            notes,
            days,
        } => {
            let user = db.users().require(&username).await?;
            let now = Utc::now();
            let created = tokens
                .create(
                    &NewToken {
                        user_id: user.id,
                        permissions: &permissions,
                        notes: &notes,
                        expires: now + TimeDelta::days(days),
                    },
                    now,
                )
                .await?;
            writeln!(out, "{}", created.token).map_err(io("writing output"))?;
            writeln!(
                out,
                "token id {} for {} expires {}; permissions: {}. It is shown only now: store it.",
                created.info.id,
                created.info.username,
                created.info.expires.to_rfc3339(),
                if created.info.permissions.is_empty() {
                    "-".into()
                } else {
                    created.info.permissions.join(",")
                },
            )
            .map_err(io("writing output"))
        }
        TokensCommand::List { user, json } => {
            let list = match user {
                Some(name) => {
                    let u = db.users().require(&name).await?;
                    tokens.list_for_user(u.id).await?
                }
                None => tokens.list().await?,
            };
            if json {
                return json_line(out, &list);
            }
            let now = Utc::now();
            for t in list {
                writeln!(
                    out,
                    "{}\t{}\t{}…\t{}\texpires {}{}\tpermissions: {}\t{}",
                    t.id,
                    t.username,
                    t.prefix,
                    t.created.to_rfc3339(),
                    t.expires.to_rfc3339(),
                    if t.is_expired(now) { " (expired)" } else { "" },
                    t.permissions.join(","),
                    t.notes,
                )
                .map_err(io("writing output"))?;
            }
            Ok(())
        }
        TokensCommand::Revoke { id } => {
            if tokens.revoke(id).await? {
                writeln!(out, "token {id} revoked").map_err(io("writing output"))
            } else {
                Err(DbError::NotFound(format!("token {id}")))
            }
        }
    }
}

//! `socorro users|tokens|db` command logic, parsed as the binary parses it.

use clap::{CommandFactory, Parser, Subcommand};
use db::cli::{self, DbArgs, TokensArgs, UsersArgs};
use db::testing::TestDb;
use db::{Db, DbError};

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Users(UsersArgs),
    Tokens(TokensArgs),
    Db(DbArgs),
}

async fn run(db: &Db, argv: &[&str], stdin: &str) -> Result<String, DbError> {
    let cli = Cli::try_parse_from(std::iter::once("socorro").chain(argv.iter().copied()))
        .map_err(|e| DbError::Invalid(e.to_string()))?;
    let mut out = Vec::new();
    match cli.command {
        Command::Users(args) => {
            cli::run_users_with_input(db, args, &mut stdin.as_bytes(), &mut out).await?
        }
        Command::Tokens(args) => cli::run_tokens(db, args, &mut out).await?,
        Command::Db(args) => cli::run_db(db, args, &mut out).await?,
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[test]
fn clap_definitions_are_valid() {
    Cli::command().debug_assert();
    // no way to pass a password in argv
    assert!(Cli::try_parse_from(["socorro", "users", "create", "a", "--password", "x"]).is_err());
}

#[tokio::test]
async fn users_and_tokens_commands() {
    let t = TestDb::sqlite().await.unwrap();
    let db = t.db();

    let out = run(
        db,
        &[
            "users",
            "create",
            "alice",
            "--email",
            "a@example.com",
            "--password-stdin",
            "--group",
            "Hackers",
        ],
        "correct horse\n",
    )
    .await
    .unwrap();
    assert!(out.contains("created user alice"), "{out}");
    assert!(
        db.users()
            .authenticate("alice", "correct horse", chrono::Utc::now())
            .await
            .unwrap()
            .is_some()
    );

    let out = run(db, &["users", "create", "svc"], "").await.unwrap();
    assert!(out.contains("no password set"), "{out}");
    let err = run(db, &["users", "create", "svc"], "").await.unwrap_err();
    assert!(matches!(err, DbError::Conflict(_)), "{err:?}");
    let err = run(db, &["users", "create", "x", "--password-stdin"], "")
        .await
        .unwrap_err();
    assert!(matches!(err, DbError::Invalid(_)), "{err:?}");
    let err = run(db, &["users", "create", "y", "--group", "Nope"], "")
        .await
        .unwrap_err();
    assert!(matches!(err, DbError::NotFound(_)), "{err:?}");
    assert!(
        db.users().get("y").await.unwrap().is_none(),
        "nothing created on a bad group"
    );

    let out = run(
        db,
        &["users", "set-password", "alice", "--password-stdin"],
        "battery staple\r\n",
    )
    .await
    .unwrap();
    assert!(out.contains("changed"), "{out}");
    assert!(
        db.users()
            .authenticate("alice", "battery staple", chrono::Utc::now())
            .await
            .unwrap()
            .is_some()
    );
    let err = run(db, &["users", "set-password", "alice"], "")
        .await
        .unwrap_err();
    assert!(matches!(err, DbError::Invalid(_)), "{err:?}");
    let err = run(
        db,
        &[
            "users",
            "set-password",
            "alice",
            "--password-env",
            "SOCORRO_TEST_SURELY_UNSET_VAR",
        ],
        "",
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string().contains("SOCORRO_TEST_SURELY_UNSET_VAR"),
        "{err}"
    );

    let out = run(
        db,
        &[
            "users",
            "grant",
            "svc",
            "--permission",
            "upload_symbols",
            "--group",
            "Hackers Plus",
        ],
        "",
    )
    .await
    .unwrap();
    assert!(
        out.contains("run_custom_queries") && out.contains("upload_symbols"),
        "{out}"
    );
    let out = run(
        db,
        &[
            "users",
            "grant",
            "svc",
            "--revoke",
            "--group",
            "Hackers Plus",
        ],
        "",
    )
    .await
    .unwrap();
    assert!(out.ends_with("upload_symbols\n"), "{out}");
    assert!(run(db, &["users", "grant", "svc"], "").await.is_err());
    assert!(
        run(db, &["users", "grant", "nobody", "--superuser"], "")
            .await
            .is_err()
    );

    let out = run(db, &["users", "list"], "").await.unwrap();
    assert!(
        out.contains("alice") && out.contains("Hackers") && out.contains("svc"),
        "{out}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&run(db, &["users", "list", "--json"], "").await.unwrap()).unwrap();
    assert_eq!(json[0]["username"], "alice");
    assert_eq!(json[0]["groups"][0], "Hackers");
    assert!(json[0].get("password_hash").is_none());
    run(db, &["users", "deactivate", "svc"], "").await.unwrap();
    assert!(
        run(db, &["users", "list"], "")
            .await
            .unwrap()
            .contains("inactive")
    );
    run(db, &["users", "activate", "svc"], "").await.unwrap();

    // tokens
    let out = run(
        db,
        &[
            "tokens",
            "create",
            "alice",
            "--permission",
            "view_pii",
            "--notes",
            "laptop",
            "--days",
            "7",
        ],
        "",
    )
    .await
    .unwrap();
    let token = out.lines().next().unwrap().to_owned();
    assert_eq!(token.len(), 32, "{out}");
    assert!(out.contains("shown only now"), "{out}");
    let auth = db
        .tokens()
        .lookup(&token, chrono::Utc::now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(auth.permissions, ["view_pii"]);
    let err = run(
        db,
        &[
            "tokens",
            "create",
            "alice",
            "--permission",
            "run_custom_queries",
        ],
        "",
    )
    .await
    .unwrap_err();
    assert!(matches!(err, DbError::Invalid(_)), "{err:?}");
    assert!(
        run(db, &["tokens", "create", "alice", "--days", "0"], "")
            .await
            .is_err()
    );

    let out = run(db, &["tokens", "list"], "").await.unwrap();
    assert!(
        out.contains("alice") && out.contains("laptop") && !out.contains(&token),
        "{out}"
    );
    let json: serde_json::Value = serde_json::from_str(
        &run(db, &["tokens", "list", "--user", "alice", "--json"], "")
            .await
            .unwrap(),
    )
    .unwrap();
    let id = json[0]["id"].as_i64().unwrap();
    let out = run(db, &["tokens", "revoke", &id.to_string()], "")
        .await
        .unwrap();
    assert!(out.contains("revoked"), "{out}");
    assert!(
        db.tokens()
            .lookup(&token, chrono::Utc::now())
            .await
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        run(db, &["tokens", "revoke", &id.to_string()], "").await,
        Err(DbError::NotFound(_))
    ));
}

#[tokio::test]
async fn db_commands() {
    let t = TestDb::sqlite_empty().await.unwrap();
    let db = t.db();
    let out = run(db, &["db", "status"], "").await.unwrap();
    assert!(out.contains("pending") && !out.contains("applied"), "{out}");
    assert!(run(db, &["db", "status", "--check"], "").await.is_err());
    let out = run(db, &["db", "migrate"], "").await.unwrap();
    assert!(out.contains("applied migrations [1, 2, 3, 4]"), "{out}");
    let out = run(db, &["db", "migrate"], "").await.unwrap();
    assert!(out.contains("up to date"), "{out}");
    let out = run(db, &["db", "status", "--check"], "").await.unwrap();
    assert!(out.contains("applied") && !out.contains("pending"), "{out}");
    let json: serde_json::Value =
        serde_json::from_str(&run(db, &["db", "status", "--json"], "").await.unwrap()).unwrap();
    assert_eq!(json["engine"], "sqlite");
    assert_eq!(json["migrations"][0]["applied"], true);
}

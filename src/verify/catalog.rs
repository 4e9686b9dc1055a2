//! Reading the catalogs `verify` needs, as a low-privilege login (the password broker works:
//! it has no USAGE on the application schema, so every lookup goes by OID, never by a
//! qualified name). The queries live in `sql/queries/verify_*.sql`; after the context query,
//! they are sent together (tokio-postgres pipelines them on one connection).
//!
//! Owns the SQL round trips and the mapping of rows into plain structs. Must not judge what it
//! reads: comparing with the model is the checks' job.

use super::findings::AclEntry;
use super::rows::{acl, class_of, first_char, q, typed};
pub use super::rows::{Class, ObjectGroup};
use super::snapshot::Snapshot;
use super::VerifyError;
use crate::model::Names;
use chrono::{DateTime, Utc};
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::Row;

/// The logging parameters verify reads for the broker (judged in `check_logging`): its expected
/// settings and the sampling rate they depend on.
pub const LOGGING_PARAMS: &[&str] = &[
    "log_statement",
    "log_min_duration_statement",
    "log_min_duration_sample",
    "log_statement_sample_rate",
    "log_transaction_sample_rate",
    "log_parameter_max_length",
    "log_parameter_max_length_on_error",
    "log_error_verbosity",
];

const CONTEXT: &str = include_str!("../../sql/queries/verify_context.sql");
const ROLES: &str = include_str!("../../sql/queries/verify_roles.sql");
const MEMBERSHIPS: &str = include_str!("../../sql/queries/verify_memberships.sql");
const SCHEMAS: &str = include_str!("../../sql/queries/verify_schemas.sql");
const ADMIN_OBJECTS: &str = include_str!("../../sql/queries/verify_admin_objects.sql");
const DEFAULT_ACLS: &str = include_str!("../../sql/queries/verify_default_acls.sql");
const SETTINGS: &str = include_str!("../../sql/queries/verify_settings.sql");
const SESSIONS: &str = include_str!("../../sql/queries/verify_sessions.sql");
const LOGGING: &str = include_str!("../../sql/queries/verify_logging.sql");
const DATABASES: &str = include_str!("../../sql/queries/verify_databases.sql");

/// The connected database and the schemas' OIDs.
#[derive(Debug, Clone)]
pub struct Context {
    pub version_num: i32,
    pub version: String,
    pub db_oid: u32,
    pub datname: String,
    pub db_owner: String,
    pub schema_oid: Option<u32>,
    pub admin_schema_oid: Option<u32>,
    pub public_oid: Option<u32>,
    /// `<admin schema>.firefighter_sessions()` exists.
    pub has_sessions_function: bool,
    pub db_acl: Vec<AclEntry>,
    /// The login verify runs as.
    pub session_user: String,
}

#[derive(Debug, Clone)]
pub struct RoleRow {
    pub name: String,
    pub superuser: bool,
    pub inherit: bool,
    pub createrole: bool,
    pub createdb: bool,
    pub login: bool,
    pub replication: bool,
    pub bypassrls: bool,
    pub connlimit: i32,
    /// None: no expiry set (or `infinity`, see `valid_forever`).
    pub valid_until: Option<DateTime<Utc>>,
    pub valid_forever: bool,
}

#[derive(Debug, Clone)]
pub struct MembershipRow {
    pub role: String,
    pub member: String,
    pub grantor: Option<String>,
    pub grantor_is_superuser: bool,
    /// The member is a superuser or has CREATEROLE (a bootstrap DBA).
    pub member_is_bootstrap: bool,
    pub role_is_superuser: bool,
    pub admin: bool,
    /// PostgreSQL 16+ only.
    pub inherit: Option<bool>,
    pub set: Option<bool>,
}

#[derive(Debug, Clone)]
pub struct SchemaRow {
    pub name: String,
    pub owner: String,
    pub acl: Vec<AclEntry>,
}

/// One relation or routine of the admin schema.
#[derive(Debug, Clone)]
pub struct AdminObject {
    pub class: Class,
    pub kind: char,
    pub name: String,
    /// Argument types (`name, text, integer`) for routines.
    pub args: String,
    pub owner: String,
    pub security_definer: bool,
    pub config: Vec<String>,
    pub acl: Vec<AclEntry>,
}

#[derive(Debug, Clone)]
pub struct DefaultAclRow {
    /// None: the global entry (all schemas).
    pub schema: Option<String>,
    pub objtype: char,
    pub acl: Vec<AclEntry>,
}

/// One `pg_db_role_setting` row.
#[derive(Debug, Clone)]
pub struct SettingRow {
    /// None: every role (`ALTER DATABASE ... SET`).
    pub role: Option<String>,
    /// None: every database (`ALTER ROLE ... SET`).
    pub database: Option<String>,
    /// `key=value` entries as stored.
    pub config: Vec<String>,
}

/// One logging parameter as `pg_settings` shows it to the connected session.
#[derive(Debug, Clone)]
pub struct ParamRow {
    pub name: String,
    pub setting: Option<String>,
    pub source: Option<String>,
}

/// A model role that may connect to (or create TEMP objects in) another database.
#[derive(Debug, Clone)]
pub struct OtherDatabaseRow {
    pub database: String,
    pub role: String,
    pub connect: bool,
    pub temp: bool,
    /// What PUBLIC holds there (`CONNECT`, `TEMPORARY`, ...).
    pub public_privs: Vec<String>,
    /// CONNECT or TEMPORARY granted to the role itself.
    pub own_privs: Vec<String>,
    /// The role owns the database.
    pub owns: bool,
}

/// An open session of a firefighter role.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Session {
    pub pid: i32,
    pub role: String,
    pub client_addr: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub state: Option<String>,
    /// Another instance of the cluster (`host:port`, issue 16); `None`: the verified one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
}

/// Everything the checks read, except the names of drifted objects (fetched on demand).
#[derive(Debug, Clone)]
pub struct Catalog {
    pub context: Context,
    pub roles: Vec<RoleRow>,
    pub memberships: Vec<MembershipRow>,
    pub schemas: Vec<SchemaRow>,
    /// The application schema's objects, counted; see [`super::objects`].
    pub objects: super::objects::Scan,
    pub admin_objects: Vec<AdminObject>,
    pub default_acls: Vec<DefaultAclRow>,
    pub settings: Vec<SettingRow>,
    /// The parameters of [`LOGGING_PARAMS`], as this session sees them.
    pub logging: Vec<ParamRow>,
    /// The user verify runs as (`session_user`).
    pub session_user: String,
    pub other_databases: Vec<OtherDatabaseRow>,
    pub sessions: Vec<Session>,
}

fn context_row(row: &Row) -> Result<Context, tokio_postgres::Error> {
    Ok(Context {
        version_num: row.try_get("version_num")?,
        version: row.try_get("version")?,
        db_oid: row.try_get("db_oid")?,
        datname: row.try_get("datname")?,
        db_owner: row.try_get("db_owner")?,
        schema_oid: row.try_get("schema_oid")?,
        admin_schema_oid: row.try_get("admin_schema_oid")?,
        public_oid: row.try_get("public_oid")?,
        has_sessions_function: row.try_get("has_sessions_function")?,
        db_acl: acl(row)?,
        session_user: row.try_get("session_user")?,
    })
}

/// Reads everything the checks need, all queries pipelined on the session's primary connection
/// (the object scan also on its helpers).
pub async fn read(session: &Snapshot<'_>, names: &Names) -> Result<Catalog, VerifyError> {
    let client = session.primary;
    let roles = names.all_roles();
    let schemas = vec![names.schema.clone(), names.admin_schema.clone(), "public".to_string()];
    let owner = names.owner();
    let sessions_sql =
        SESSIONS.replace("{admin_schema}", &super::findings::ident(&names.admin_schema));
    let p_context: [(&(dyn ToSql + Sync), Type); 2] =
        [(&names.schema, Type::TEXT), (&names.admin_schema, Type::TEXT)];
    let p_roles: [(&(dyn ToSql + Sync), Type); 1] = [(&roles, Type::TEXT_ARRAY)];
    let p_schemas: [(&(dyn ToSql + Sync), Type); 1] = [(&schemas, Type::TEXT_ARRAY)];
    let p_admin: [(&(dyn ToSql + Sync), Type); 1] = [(&names.admin_schema, Type::TEXT)];
    let p_owner: [(&(dyn ToSql + Sync), Type); 1] = [(&owner, Type::TEXT)];
    let params: Vec<String> = LOGGING_PARAMS.iter().map(|p| p.to_string()).collect();
    let p_params: [(&(dyn ToSql + Sync), Type); 1] = [(&params, Type::TEXT_ARRAY)];
    // The context first: it says whether this is the model's database at all, and whether the
    // sessions function exists (a failed query would abort the shared transaction).
    let c = typed(client, "the database and schemas", CONTEXT, &p_context).await?;
    let ctx = match c.first() {
        Some(row) => context_row(row).map_err(q("the database and schemas"))?,
        None => {
            return Err(VerifyError::Query {
                what: "the database and schemas",
                message: "the current database is not in pg_database".into(),
            })
        }
    };
    if ctx.datname != names.database {
        return Err(VerifyError::WrongDatabase {
            connected: ctx.datname,
            expected: names.database.clone(),
        });
    }
    let (r, m, s, objects, a, d, st, lg, od, ss) = futures::try_join!(
        typed(client, "role attributes", ROLES, &p_roles),
        typed(client, "role memberships", MEMBERSHIPS, &p_roles),
        typed(client, "schemas", SCHEMAS, &p_schemas),
        super::objects::scan(session, &names.schema, &owner),
        typed(client, "the admin schema's objects", ADMIN_OBJECTS, &p_admin),
        typed(client, "default privileges", DEFAULT_ACLS, &p_owner),
        typed(client, "role settings", SETTINGS, &p_roles),
        typed(client, "logging parameters", LOGGING, &p_params),
        typed(client, "other databases", DATABASES, &p_roles),
        async {
            // Without it (no admin schema, or no broker functions) the admin-schema check
            // reports what is missing.
            if !ctx.has_sessions_function {
                return Ok(Vec::new());
            }
            typed(client, "firefighter sessions (firefighter_sessions())", &sessions_sql, &[]).await
        },
    )?;
    let map = || -> Result<Catalog, tokio_postgres::Error> {
        Ok(Catalog {
            roles: r.iter().map(role_row).collect::<Result<_, _>>()?,
            memberships: m.iter().map(membership_row).collect::<Result<_, _>>()?,
            schemas: s
                .iter()
                .map(|row| {
                    Ok(SchemaRow {
                        name: row.try_get("name")?,
                        owner: row.try_get("owner")?,
                        acl: acl(row)?,
                    })
                })
                .collect::<Result<_, tokio_postgres::Error>>()?,
            objects,
            admin_objects: a.iter().map(admin_row).collect::<Result<_, _>>()?,
            default_acls: d
                .iter()
                .map(|row| {
                    Ok(DefaultAclRow {
                        schema: row.try_get("schema")?,
                        objtype: first_char(row.try_get("objtype")?),
                        acl: acl(row)?,
                    })
                })
                .collect::<Result<_, tokio_postgres::Error>>()?,
            settings: st
                .iter()
                .map(|row| {
                    Ok(SettingRow {
                        role: row.try_get("role")?,
                        database: row.try_get("database")?,
                        config: row
                            .try_get::<_, Option<Vec<String>>>("setconfig")?
                            .unwrap_or_default(),
                    })
                })
                .collect::<Result<_, tokio_postgres::Error>>()?,
            logging: lg
                .iter()
                .map(|row| {
                    Ok(ParamRow {
                        name: row.try_get("name")?,
                        setting: row.try_get("setting")?,
                        source: row.try_get("source")?,
                    })
                })
                .collect::<Result<_, tokio_postgres::Error>>()?,
            session_user: ctx.session_user.clone(),
            other_databases: od.iter().map(other_database_row).collect::<Result<_, _>>()?,
            sessions: ss
                .iter()
                .map(|row| {
                    Ok(Session {
                        pid: row.try_get("pid")?,
                        role: row.try_get("role")?,
                        client_addr: row.try_get("client_addr")?,
                        since: row.try_get("backend_start")?,
                        state: row.try_get("state")?,
                        instance: None,
                    })
                })
                .collect::<Result<_, tokio_postgres::Error>>()?,
            context: ctx,
        })
    };
    map().map_err(q("catalog rows"))
}

fn role_row(row: &Row) -> Result<RoleRow, tokio_postgres::Error> {
    Ok(RoleRow {
        name: row.try_get("name")?,
        superuser: row.try_get("rolsuper")?,
        inherit: row.try_get("rolinherit")?,
        createrole: row.try_get("rolcreaterole")?,
        createdb: row.try_get("rolcreatedb")?,
        login: row.try_get("rolcanlogin")?,
        replication: row.try_get("rolreplication")?,
        bypassrls: row.try_get("rolbypassrls")?,
        connlimit: row.try_get("rolconnlimit")?,
        valid_until: row.try_get("valid_until")?,
        valid_forever: row.try_get("valid_forever")?,
    })
}

fn other_database_row(row: &Row) -> Result<OtherDatabaseRow, tokio_postgres::Error> {
    let list = |name: &str| -> Result<Vec<String>, tokio_postgres::Error> {
        Ok(row.try_get::<_, Option<Vec<String>>>(name)?.unwrap_or_default())
    };
    Ok(OtherDatabaseRow {
        database: row.try_get("database")?,
        role: row.try_get("role")?,
        connect: row.try_get("can_connect")?,
        temp: row.try_get("can_temp")?,
        public_privs: list("public_privs")?,
        own_privs: list("own_privs")?,
        owns: row.try_get("owns")?,
    })
}

fn membership_row(row: &Row) -> Result<MembershipRow, tokio_postgres::Error> {
    Ok(MembershipRow {
        role: row.try_get("role")?,
        member: row.try_get("member")?,
        grantor: row.try_get("grantor")?,
        grantor_is_superuser: row.try_get("grantor_is_superuser")?,
        member_is_bootstrap: row.try_get("member_is_bootstrap")?,
        role_is_superuser: row.try_get("role_is_superuser")?,
        admin: row.try_get("admin_option")?,
        inherit: row.try_get("inherit_option")?,
        set: row.try_get("set_option")?,
    })
}

fn admin_row(row: &Row) -> Result<AdminObject, tokio_postgres::Error> {
    Ok(AdminObject {
        class: class_of(row.try_get("class")?),
        kind: first_char(row.try_get("kind")?),
        name: row.try_get("name")?,
        args: row.try_get("args")?,
        owner: row.try_get("owner_name")?,
        security_definer: row.try_get("secdef")?,
        config: row.try_get::<_, Option<Vec<String>>>("config")?.unwrap_or_default(),
        acl: acl(row)?,
    })
}

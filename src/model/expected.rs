//! What the role model establishes, written down once: role attributes, memberships, the ACLs
//! of the database, schemas and objects, default privileges, the broker functions and the
//! per-database settings (in [`super::settings`]). `verify` compares a live database against this.
//!
//! Owns the expected state only. Must not run SQL or hold SQL text: the scripts in `sql/`
//! create the state; the integration tests prove that a freshly applied model matches this
//! description with zero findings, on PostgreSQL 15, 16 and 17.
//!
//! Privileges are written as PostgreSQL's ACL letters (`arw` = INSERT, SELECT, UPDATE); see
//! [`privilege_name`].

use super::{Level, Names};

pub use super::settings::{SettingSpec, SettingValue, BROKER_LOG_SETTINGS};

/// Who a privilege is granted to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Grantee {
    /// The pseudo-role `PUBLIC` (every role).
    Public,
    Role(String),
}

impl Grantee {
    pub fn role(name: impl Into<String>) -> Grantee {
        Grantee::Role(name.into())
    }
}

impl std::fmt::Display for Grantee {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Grantee::Public => f.write_str("PUBLIC"),
            Grantee::Role(r) => f.write_str(r),
        }
    }
}

/// One expected grant: `grantee` holds exactly `privs` (ACL letters), without grant option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub grantee: Grantee,
    pub privs: &'static str,
}

fn grant(role: String, privs: &'static str) -> Grant {
    Grant { grantee: Grantee::Role(role), privs }
}

/// Kinds of objects in the application schema that carry privileges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ObjectKind {
    /// Tables, partitioned tables, views, materialized views, foreign tables: `GRANT ... ON
    /// ALL TABLES` and `DEFAULT PRIVILEGES ... ON TABLES` treat them alike.
    Table,
    Sequence,
    /// Functions, procedures and aggregates (routines).
    Function,
}

impl ObjectKind {
    pub const ALL: [ObjectKind; 3] =
        [ObjectKind::Table, ObjectKind::Sequence, ObjectKind::Function];

    /// Plural, as in `GRANT ... ON ALL TABLES IN SCHEMA` and `ALTER DEFAULT PRIVILEGES`.
    pub fn plural_keyword(self) -> &'static str {
        match self {
            ObjectKind::Table => "TABLES",
            ObjectKind::Sequence => "SEQUENCES",
            ObjectKind::Function => "FUNCTIONS",
        }
    }

    /// `pg_default_acl.defaclobjtype` for this kind.
    pub fn defacl_objtype(self) -> char {
        match self {
            ObjectKind::Table => 'r',
            ObjectKind::Sequence => 'S',
            ObjectKind::Function => 'f',
        }
    }

    pub fn from_defacl_objtype(c: char) -> Option<ObjectKind> {
        ObjectKind::ALL.into_iter().find(|k| k.defacl_objtype() == c)
    }

    /// The kind of a `pg_class.relkind` (None for indexes, composite types, toast).
    pub fn from_relkind(c: char) -> Option<ObjectKind> {
        match c {
            'r' | 'p' | 'v' | 'm' | 'f' => Some(ObjectKind::Table),
            'S' => Some(ObjectKind::Sequence),
            _ => None,
        }
    }
}

/// Attributes of one role of the model. SUPERUSER, REPLICATION and BYPASSRLS are never
/// expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleSpec {
    pub name: String,
    pub login: bool,
    pub createrole: bool,
    pub createdb: bool,
    pub inherit: bool,
    /// -1 = no limit.
    pub connlimit: i32,
}

/// An expected membership of `member` in `role`. `None` means "not checked".
/// Options other than ADMIN exist on PostgreSQL 16+ only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembershipSpec {
    pub role: String,
    pub member: String,
    pub admin: Option<bool>,
    pub inherit: Option<bool>,
    pub set: Option<bool>,
}

/// The expected ACL of a schema. Grantees outside `grants` must hold nothing, except where
/// `only_checks` narrows the check to some grantees (the `public` schema).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaSpec {
    pub name: String,
    /// None: the owner is not checked (`public` is owned by `pg_database_owner`).
    pub owner: Option<String>,
    pub grants: Vec<Grant>,
    pub only_checks: Option<Vec<Grantee>>,
}

/// Default privileges of the owner role: per schema (`schema = Some`) the grants must be
/// exactly `grants`; globally (`schema = None`) `revoked_from_public` must hold (G5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefaultAclSpec {
    pub schema: Option<String>,
    pub kind: ObjectKind,
    pub grants: Vec<Grant>,
}

/// One broker function in the admin schema: name and `oidvectortypes` argument list.
pub const BROKER_FUNCTIONS: &[(&str, &str)] = &[
    ("set_firefighter_password", "name, text, integer"),
    ("set_firefighter_password", "name, text, integer, text, text, text[]"),
    (
        "set_firefighter_password",
        "name, text, integer, text, text, text[], timestamp with time zone",
    ),
    ("set_firefighter_password", "name, text, timestamp with time zone, text, text, text[]"),
    ("expire_firefighter_password", "name"),
    ("expire_firefighter_password", "name, text, text"),
    ("terminate_firefighter_sessions", "name"),
    ("terminate_firefighter_sessions", "name, text, text"),
    ("firefighter_sessions", ""),
    ("firefighter_audit_recent", "integer"),
    // Issue 15: per-person logins (sql/56_person_logins.sql).
    ("create_person_login", "text, text, text, text, integer, text, text[]"),
    ("end_person_login", "name, text"),
    ("renew_person_login", "name, text, integer, text"),
    ("person_logins", "boolean"),
    // Issue 16: sessions on every instance (sql/57_instance_sessions.sql).
    ("end_instance_firefighter_sessions", "name, timestamp with time zone"),
    ("instance_firefighter_sessions", ""),
    ("record_instance_sessions_ended", "name, text, text, jsonb"),
    // Issue 17: the history (sql/58_history.sql).
    ("firefighter_history", "integer, text, text, integer"),
    // Issue 15: a per-person login's activity (sql/59_person_activity.sql).
    ("person_activity", "name, integer"),
    // Issue 17: extending a live grant (sql/61_extend.sql).
    ("extend_firefighter_access", "name, timestamp with time zone, text, text"),
];

/// The longest a firefighter password may be valid (design section 9).
pub const MAX_FIREFIGHTER_VALIDITY_SECS: i64 = 2 * 3600;

/// The expected state of one deployment on one server version.
#[derive(Debug, Clone)]
pub struct Expected {
    pub names: Names,
    /// `server_version_num`, e.g. 160004.
    pub server_version_num: i32,
}

impl Expected {
    pub fn new(names: &Names, server_version_num: i32) -> Expected {
        Expected { names: names.clone(), server_version_num }
    }

    /// PostgreSQL 16+: membership options (INHERIT, SET) and CREATEROLE's automatic grants.
    pub fn pg16(&self) -> bool {
        self.server_version_num >= 160000
    }

    pub fn roles(&self) -> Vec<RoleSpec> {
        let n = &self.names;
        let login = |name: String, connlimit: i32| RoleSpec {
            name,
            login: true,
            createrole: false,
            createdb: false,
            inherit: true,
            connlimit,
        };
        vec![
            RoleSpec { createrole: true, createdb: true, ..login(n.admin(), -1) },
            RoleSpec { login: false, ..login(n.owner(), -1) },
            // G7 on 15: the migrator must not inherit the owner (16+ uses the membership).
            RoleSpec { inherit: self.pg16(), ..login(n.migrator(), -1) },
            login(n.app(), 100),
            login(n.firefighter(Level::Ro), 5),
            login(n.firefighter(Level::Rw), 3),
            login(n.broker(), n.broker_connection_limit),
        ]
    }

    /// Roles admin holds WITH ADMIN OPTION (G2).
    pub fn administered_roles(&self) -> Vec<String> {
        let n = &self.names;
        vec![n.firefighter(Level::Ro), n.firefighter(Level::Rw), n.app(), n.migrator(), n.broker()]
    }

    pub fn memberships(&self) -> Vec<MembershipSpec> {
        let n = &self.names;
        let v16 = |b: bool| self.pg16().then_some(b);
        let mut out: Vec<MembershipSpec> = self
            .administered_roles()
            .into_iter()
            .map(|role| MembershipSpec {
                role,
                member: n.admin(),
                admin: Some(true),
                // G9: admin signals firefighter backends through an inheriting membership.
                inherit: v16(true),
                set: None,
            })
            .collect();
        // Issue 9: admin administers the owner role (ADMIN OPTION on every version).
        out.push(MembershipSpec {
            role: n.owner(),
            member: n.admin(),
            admin: Some(true),
            inherit: None,
            set: v16(true),
        });
        // G7: SET ROLE to the owner, never inherit it.
        out.push(MembershipSpec {
            role: n.owner(),
            member: n.migrator(),
            admin: Some(false),
            inherit: v16(false),
            set: v16(true),
        });
        out
    }

    /// CONNECT (`c`) on the application database; nobody else (PUBLIC included) holds
    /// anything, apart from the owner's own entry.
    pub fn database_acl(&self) -> Vec<Grant> {
        let n = &self.names;
        [n.admin(), n.migrator(), n.app()]
            .into_iter()
            .chain([n.firefighter(Level::Ro), n.firefighter(Level::Rw), n.broker()])
            .map(|r| grant(r, "c"))
            .collect()
    }

    pub fn schemas(&self) -> Vec<SchemaSpec> {
        let n = &self.names;
        let mut public_checked = vec![Grantee::Public];
        public_checked
            .extend(n.all_roles().into_iter().filter(|r| *r != n.owner()).map(Grantee::Role));
        vec![
            SchemaSpec {
                name: n.schema.clone(),
                owner: Some(n.owner()),
                grants: vec![
                    grant(n.app(), "U"),
                    grant(n.firefighter(Level::Ro), "U"),
                    grant(n.firefighter(Level::Rw), "U"),
                ],
                only_checks: None,
            },
            SchemaSpec {
                name: n.admin_schema.clone(),
                owner: Some(n.admin()),
                grants: vec![grant(n.broker(), "U")],
                only_checks: None,
            },
            SchemaSpec {
                name: "public".into(),
                owner: None,
                grants: vec![],
                only_checks: Some(public_checked),
            },
        ]
    }

    /// Privileges on every object of `kind` in the application schema (owner: the owner role).
    pub fn object_acl(&self, kind: ObjectKind) -> Vec<Grant> {
        let n = &self.names;
        match kind {
            ObjectKind::Table => vec![
                grant(n.app(), "arw"),
                grant(n.firefighter(Level::Ro), "r"),
                grant(n.firefighter(Level::Rw), "arwd"),
            ],
            ObjectKind::Sequence => vec![
                grant(n.app(), "rU"),
                grant(n.firefighter(Level::Ro), "r"),
                grant(n.firefighter(Level::Rw), "rU"),
            ],
            ObjectKind::Function => vec![grant(n.app(), "X")],
        }
    }

    /// The owner role's default privileges (section 7, G5).
    pub fn default_acls(&self) -> Vec<DefaultAclSpec> {
        let mut out: Vec<DefaultAclSpec> = ObjectKind::ALL
            .into_iter()
            .map(|kind| DefaultAclSpec {
                schema: Some(self.names.schema.clone()),
                kind,
                grants: self.object_acl(kind),
            })
            .collect();
        // G5: the global entry exists only to take EXECUTE away from PUBLIC.
        out.push(DefaultAclSpec { schema: None, kind: ObjectKind::Function, grants: vec![] });
        out
    }

    pub fn firefighters(&self) -> Vec<String> {
        Level::ALL.into_iter().map(|l| self.names.firefighter(l)).collect()
    }
}

/// The SQL keyword of one ACL letter (`r` -> `SELECT`), or None for an unknown letter.
pub fn privilege_name(letter: char) -> Option<&'static str> {
    Some(match letter {
        'a' => "INSERT",
        'r' => "SELECT",
        'w' => "UPDATE",
        'd' => "DELETE",
        'D' => "TRUNCATE",
        'x' => "REFERENCES",
        't' => "TRIGGER",
        'X' => "EXECUTE",
        'U' => "USAGE",
        'C' => "CREATE",
        'T' => "TEMPORARY",
        'c' => "CONNECT",
        's' => "SET",
        'A' => "ALTER SYSTEM",
        'm' => "MAINTAIN",
        _ => return None,
    })
}

/// The ACL letter of a privilege keyword as `aclexplode` reports it (`SELECT` -> `r`).
pub fn privilege_letter(name: &str) -> Option<char> {
    "arwdDxtXUCTcsAm".chars().find(|c| privilege_name(*c) == Some(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn privilege_letters_and_names_round_trip() {
        for c in "arwdDxtXUCTcsAm".chars() {
            let name = privilege_name(c).unwrap();
            assert_eq!(privilege_letter(name), Some(c));
        }
        assert_eq!(privilege_letter("TEMPORARY"), Some('T'));
        assert_eq!(privilege_letter("nonsense"), None);
    }

    #[test]
    fn migrator_is_noinherit_on_15_only() {
        let n = Names::default();
        let m15 = Expected::new(&n, 150010).roles();
        let m16 = Expected::new(&n, 160004).roles();
        let find = |v: &[RoleSpec]| v.iter().find(|r| r.name == n.migrator()).unwrap().inherit;
        assert!(!find(&m15));
        assert!(find(&m16));
    }

    #[test]
    fn connection_limits_are_the_designs() {
        let n = Names::default();
        let roles = Expected::new(&n, 170000).roles();
        let limit = |r: String| roles.iter().find(|s| s.name == r).unwrap().connlimit;
        assert_eq!(limit(n.app()), 100);
        assert_eq!(limit(n.firefighter(Level::Ro)), 5);
        assert_eq!(limit(n.firefighter(Level::Rw)), 3);
        assert_eq!(limit(n.broker()), 13, "the default connection budget");
    }
}

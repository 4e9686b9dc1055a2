//! Firefighter access levels (`ro`, `rw`): the one enum the domain, the role model and the
//! broker share. Pure; the role model maps a level to its role name (`model::Names`).

use serde::{Deserialize, Serialize};

/// A firefighter access level: `ro` (SELECT) or `rw` (DML, no DDL).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Ro,
    Rw,
}

impl Level {
    pub const ALL: [Level; 2] = [Level::Ro, Level::Rw];

    /// Parses `ro` / `rw` (case-insensitive, surrounding whitespace ignored).
    pub fn parse(s: &str) -> Option<Level> {
        match s.trim().to_ascii_lowercase().as_str() {
            "ro" => Some(Level::Ro),
            "rw" => Some(Level::Rw),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Ro => "ro",
            Level::Rw => "rw",
        }
    }
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_parses_only_ro_and_rw() {
        assert_eq!(Level::parse(" RO "), Some(Level::Ro));
        assert_eq!(Level::parse("rw"), Some(Level::Rw));
        assert_eq!(Level::parse("admin"), None);
    }
}

//! The databases the bot serves (issue 16): one [`Target`] per `[targets.<name>]`, or the one
//! default target of a configuration with a single `[database]`. Each target has its own grant
//! service (broker, instances, Redis keys, timers), its own approvers and its configuration
//! view; requests, level claims, status, revoke and verify are per target.
//!
//! Owns the lookup only: which target a name (or no name) means. No I/O.

use super::approvers::Approvers;
use crate::config::Config;
use crate::grants::GrantService;
use std::sync::Arc;

/// One database of the fleet.
pub struct Target {
    /// `[targets.<name>]`'s name; `default` for a single `[database]`.
    pub name: String,
    pub grants: Arc<GrantService>,
    pub approvers: Approvers,
    /// The configuration as this target sees it (`Config::for_target`).
    pub config: Arc<Config>,
}

/// Every target, sorted by name. Cheap to clone.
#[derive(Clone)]
pub struct Fleet {
    targets: Arc<Vec<Arc<Target>>>,
    /// Built from `[targets.*]` (target names are shown and may be typed).
    named: bool,
}

impl Fleet {
    /// The one default target of a configuration without `[targets]`.
    pub fn single(target: Target) -> Fleet {
        Fleet { targets: Arc::new(vec![Arc::new(target)]), named: false }
    }

    /// A fleet of named targets (at least one).
    pub fn named(mut targets: Vec<Target>) -> Fleet {
        assert!(!targets.is_empty(), "a fleet has at least one target");
        targets.sort_by(|a, b| a.name.cmp(&b.name));
        Fleet { targets: Arc::new(targets.into_iter().map(Arc::new).collect()), named: true }
    }

    /// Whether targets have names users see and type.
    pub fn is_named(&self) -> bool {
        self.named
    }

    pub fn all(&self) -> &[Arc<Target>] {
        &self.targets
    }

    /// The first target (the only one without `[targets]`).
    pub fn first(&self) -> &Arc<Target> {
        &self.targets[0]
    }

    /// The target a request or command names; `None` means the only target.
    pub fn get(&self, name: Option<&str>) -> Option<&Arc<Target>> {
        match name {
            Some(n) => self.targets.iter().find(|t| t.name == n),
            None if self.targets.len() == 1 => self.targets.first(),
            None => None,
        }
    }

    /// The names users may type (empty without `[targets]`).
    pub fn names(&self) -> Vec<String> {
        if self.named {
            self.targets.iter().map(|t| t.name.clone()).collect()
        } else {
            Vec::new()
        }
    }
}

impl Target {
    /// "on `orders` " in a fleet, nothing for the one default target: for user text.
    pub fn label(&self, fleet: &Fleet) -> String {
        if fleet.is_named() {
            format!(" on `{}`", self.name)
        } else {
            String::new()
        }
    }
}

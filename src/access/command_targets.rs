//! The fleet's target words in commands (issue 16): which target a request, revoke, activity,
//! extend, done or history names, the only one when none is named, and `/pgroles verify`'s
//! default scope. Part of [`super`]'s grammar; pure.

use super::{echo_word, CommandRules, VerifyScope};
use crate::access::duration::GrantDuration;
use crate::access::ids::IncidentId;
use crate::access::rejection::Rejection;

impl CommandRules {
    /// The target a request names in its first word, or the only one; several targets and
    /// none named is refused with their list.
    pub(super) fn target<'a, 'w>(
        &self,
        args: &'a [&'w str],
        usage: &str,
    ) -> Result<(Option<String>, &'a [&'w str]), Rejection> {
        let (named, rest) = self.optional_target(args, usage)?;
        match (named, self.targets.as_slice()) {
            (Some(t), _) => Ok((Some(t), rest)),
            (None, []) => Ok((None, rest)),
            (None, [only]) => Ok((Some(only.clone()), rest)),
            (None, _) => Err(self.unknown_target(None, usage)),
        }
    }

    /// A target named by the first word, if it is one (fleet only; case-insensitive).
    pub(super) fn optional_target<'a, 'w>(
        &self,
        args: &'a [&'w str],
        usage: &str,
    ) -> Result<(Option<String>, &'a [&'w str]), Rejection> {
        let Some((first, rest)) = args.split_first() else {
            return Ok((self.only_target(), args));
        };
        let lower = first.to_ascii_lowercase();
        if let Some(t) = self.targets.iter().find(|t| **t == lower) {
            return Ok((Some(t.clone()), rest));
        }
        // A word that could only be a target name (not a mention, an incident or a duration).
        let looks_like_target = crate::access::targets::looks_like_target(&lower)
            && IncidentId::parse(first, &self.pattern).is_err()
            && GrantDuration::parse(first, self.cap).is_err();
        if !self.targets.is_empty() && looks_like_target {
            return Err(self.unknown_target(Some(first), usage));
        }
        Ok((self.only_target(), args))
    }

    pub(super) fn only_target(&self) -> Option<String> {
        match self.targets.as_slice() {
            [only] => Some(only.clone()),
            _ => None,
        }
    }

    pub(super) fn unknown_target(&self, given: Option<&str>, usage: &str) -> Rejection {
        let given = given
            .filter(|g| crate::access::targets::looks_like_target(&g.to_ascii_lowercase()))
            .and_then(echo_word);
        Rejection::UnknownTarget { given, targets: self.targets.clone(), usage: usage.to_owned() }
    }
}

impl CommandRules {
    /// `/pgroles verify` without a target: the only one, else every target.
    pub(super) fn verify_default(&self) -> VerifyScope {
        match self.targets.len() {
            0 => VerifyScope::Default,
            1 => VerifyScope::One(self.targets[0].clone()),
            _ => VerifyScope::All,
        }
    }
}

//! Target names (issue 16): which words may name a database of the fleet. Pure; the
//! configuration checks its `[targets.<name>]` tables with [`target_name_problem`], and the
//! command parser tells a target word from an incident or a duration with [`looks_like_target`].

/// Longest target name, in characters.
pub const MAX_TARGET_NAME: usize = 32;

/// Words a target may not be called: they mean something where a target name may stand.
const RESERVED: &[&str] = &[
    "all", "ro", "rw", "status", "revoke", "resend", "help", "activity", "verify", "post", "done",
    "extend", "history",
];

/// The shape of a target name: a lowercase letter, then lowercase letters, digits, `-` or `_`,
/// at most [`MAX_TARGET_NAME`].
pub fn looks_like_target(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_TARGET_NAME
        && name.chars().enumerate().all(|(i, c)| {
            c.is_ascii_lowercase() || (i > 0 && (c.is_ascii_digit() || c == '-' || c == '_'))
        })
}

/// Why a target name is refused, or `None` for a good one.
pub fn target_name_problem(name: &str) -> Option<String> {
    if !looks_like_target(name) {
        return Some(format!(
            "{name:?}: a target name is a lowercase letter, then lowercase letters, digits, - or _, \
             at most {MAX_TARGET_NAME}"
        ));
    }
    RESERVED
        .contains(&name)
        .then(|| format!("{name:?} is a command word; call the target something else"))
}

//! Zeroizing buffers for the one Slack message that carries a secret (the password DM).
//!
//! Owns how its text and its `chat.postEphemeral` JSON body are built: each is written into a
//! buffer reserved at its exact final size (measured by a first, counting pass), so no
//! reallocation leaves a stale copy in freed memory, and each buffer is a `Zeroizing` one,
//! wiped when dropped. [`into_wiped_bytes`] hands the body to hyper without copying it: the
//! `Bytes` keep the zeroizing buffer as their owner. No I/O, no logging here.
//!
//! What this cannot cover: hyper's and rustls's own buffers (HTTP framing, TLS records) and the
//! kernel's socket buffers hold the body while it is sent, and they are not ours to wipe.

use bytes::Bytes;
use serde::Serialize;
use std::fmt::{self, Write as _};
use zeroize::Zeroizing;

/// Counts what a formatting pass or a serializer would write, keeping none of it.
#[derive(Default)]
struct Counter(usize);

impl fmt::Write for Counter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0 += s.len();
        Ok(())
    }
}

impl std::io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Formats `args` into a zeroizing string allocated once, at its exact length.
///
/// Use with `format_args!`: the arguments are formatted twice (count, then write), so they
/// must format the same way both times (plain `&str` and numbers do).
pub fn format_exact(args: fmt::Arguments<'_>) -> Zeroizing<String> {
    let mut count = Counter::default();
    // Writing to a counter cannot fail; a `Display` impl that fails leaves the count short,
    // which only costs a reallocation below, never a wrong result.
    let _ = count.write_fmt(args);
    let mut out = Zeroizing::new(String::with_capacity(count.0));
    let _ = out.write_fmt(args);
    out
}

/// Serializes `value` as JSON into a zeroizing buffer allocated once, at its exact length.
pub fn json_exact<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<Zeroizing<Vec<u8>>> {
    let mut count = Counter::default();
    serde_json::to_writer(&mut count, value)?;
    let mut out = Zeroizing::new(Vec::with_capacity(count.0));
    serde_json::to_writer(&mut *out, value)?;
    Ok(out)
}

/// The body as `Bytes` for hyper, without a copy: the zeroizing buffer becomes the owner and
/// is wiped when the last clone of these `Bytes` is dropped.
pub fn into_wiped_bytes(body: Zeroizing<Vec<u8>>) -> Bytes {
    Bytes::from_owner(Owner(body))
}

/// A zeroizing buffer as an owner of `Bytes` (`Zeroizing<Vec<u8>>` is not `AsRef<[u8]>`).
struct Owner(Zeroizing<Vec<u8>>);

impl AsRef<[u8]> for Owner {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// `chat.postEphemeral` arguments as a JSON body: `channel`, `user`, the `text` fallback and
/// the same text as one mrkdwn section block (Slack's documented argument names and types).
#[derive(Serialize)]
struct Ephemeral<'a> {
    channel: &'a str,
    user: &'a str,
    text: &'a str,
    blocks: [Section<'a>; 1],
}

#[derive(Serialize)]
struct Section<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    text: Mrkdwn<'a>,
}

#[derive(Serialize)]
struct Mrkdwn<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    text: &'a str,
}

/// The JSON body of `chat.postEphemeral` showing `text` (fallback and one section) to `user`
/// in `channel`. The caller keeps `text` within Slack's section limit (3000 characters).
pub fn ephemeral_body(
    channel: &str,
    user: &str,
    text: &str,
) -> serde_json::Result<Zeroizing<Vec<u8>>> {
    let section = Section { kind: "section", text: Mrkdwn { kind: "mrkdwn", text } };
    json_exact(&Ephemeral { channel, user, text, blocks: [section] })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "Sup3rSecretPasswordFortyCharactersLong01";

    #[test]
    fn formatted_text_is_zeroizing_and_never_grew() {
        let out: Zeroizing<String> = format_exact(format_args!("a {} b `{SECRET}` c", 42));
        assert_eq!(*out, format!("a 42 b `{SECRET}` c"));
        // Allocated once at the final size: no reallocation left a copy behind.
        assert_eq!(out.capacity(), out.len());
    }

    #[test]
    fn body_is_zeroizing_exact_and_spec_shaped() {
        let body: Zeroizing<Vec<u8>> =
            ephemeral_body("D0DM", "U0USER", &format!("Password: `{SECRET}`\n\"quoted\"")).unwrap();
        assert_eq!(body.capacity(), body.len());
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "channel": "D0DM",
                "user": "U0USER",
                "text": format!("Password: `{SECRET}`\n\"quoted\""),
                "blocks": [{"type": "section", "text": {
                    "type": "mrkdwn", "text": format!("Password: `{SECRET}`\n\"quoted\"")}}],
            })
        );
    }

    #[test]
    fn bytes_for_hyper_are_the_zeroizing_buffer_itself() {
        let body = ephemeral_body("D0DM", "U0USER", SECRET).unwrap();
        let at = body.as_ptr();
        let len = body.len();
        let bytes = into_wiped_bytes(body);
        // Same memory, not a copy: wiping the owner wipes what hyper reads.
        assert_eq!(bytes.as_ptr(), at);
        assert_eq!(bytes.len(), len);
        let clone = bytes.clone();
        assert_eq!(clone.as_ptr(), at);
    }
}

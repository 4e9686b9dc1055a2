//! Tests of the RDS auth token against an independent SigV4 computation (hmac/sha2, following
//! the SigV4 spec step by step) and against the vector published with aws-sdk-rds.

use super::*;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::time::UNIX_EPOCH;

use secrecy::ExposeSecret;

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut m = Hmac::<Sha256>::new_from_slice(key).unwrap();
    m.update(data.as_bytes());
    m.finalize().into_bytes().to_vec()
}

/// SigV4 query-string presigning of `GET https://host:port/?Action=connect&DBUser=user`,
/// written from the spec, independent of aws-sigv4.
fn expected_token(
    host: &str,
    port: u16,
    user: &str,
    region: &str,
    (akid, secret): (&str, &str),
    amz_date: &str,
) -> String {
    let date = &amz_date[..8];
    let scope = format!("{date}/{region}/rds-db/aws4_request");
    let credential = format!("{akid}/{scope}").replace('/', "%2F");
    // 1. Canonical request: query parameters sorted by name, values URI-encoded; the only
    //    signed header is host (with the port, as it is not 443); empty payload hash.
    let query = format!(
        "Action=connect&DBUser={user}&X-Amz-Algorithm=AWS4-HMAC-SHA256\
         &X-Amz-Credential={credential}&X-Amz-Date={amz_date}&X-Amz-Expires=900\
         &X-Amz-SignedHeaders=host"
    );
    let empty_payload = hex::encode(Sha256::digest(b""));
    let canonical = format!("GET\n/\n{query}\nhost:{host}:{port}\n\nhost\n{empty_payload}");
    // 2. String to sign.
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    // 3. Signing key and signature.
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), date);
    let k_region = hmac(&k_date, region);
    let k_service = hmac(&k_region, "rds-db");
    let k_signing = hmac(&k_service, "aws4_request");
    let signature = hex::encode(hmac(&k_signing, &to_sign));
    format!("{host}:{port}/?{query}&X-Amz-Signature={signature}")
}

fn creds(akid: &str, secret: &str) -> Credentials {
    Credentials::new(akid, secret, None, None, "test")
}

#[test]
fn independent_sigv4_reproduces_the_published_aws_sdk_vector() {
    // aws-sdk-rds auth_token.rs `signing_works`: checks the oracle used below.
    let t = expected_token(
        "prod-instance.us-east-1.rds.amazonaws.com",
        3306,
        "peccy",
        "us-east-1",
        ("akid", "secret"),
        "20240826T220000Z",
    );
    assert!(t.ends_with(
        "X-Amz-Signature=dd0cba843009474347af724090233265628ace491ea17ce3eb3da098b983ad89"
    ));
}

#[tokio::test]
async fn token_equals_an_independent_sigv4_computation() {
    let target = TokenTarget {
        host: "my-cluster.cluster-abc.us-east-1.rds.amazonaws.com".into(),
        port: 5432,
        user: "my_pg_password_broker".into(),
        region: "us-east-1".into(),
    };
    // 2015-08-30T12:36:00Z, the SigV4 test-suite date.
    let now = UNIX_EPOCH + Duration::from_secs(1_440_938_160);
    let key = ("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
    let token = generate_token(&target, &creds(key.0, key.1), now).await.unwrap();
    let expected =
        expected_token(&target.host, 5432, &target.user, "us-east-1", key, "20150830T123600Z");
    assert_eq!(token.expose_secret(), expected);
    assert!(token.expose_secret().starts_with(
        "my-cluster.cluster-abc.us-east-1.rds.amazonaws.com:5432/?Action=connect\
         &DBUser=my_pg_password_broker&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=\
         AKIDEXAMPLE%2F20150830%2Fus-east-1%2Frds-db%2Faws4_request&X-Amz-Date=20150830T123600Z\
         &X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature="
    ));
    assert!(!token.expose_secret().starts_with("https://"));
}

#[tokio::test]
async fn session_credentials_add_an_encoded_security_token() {
    let target =
        TokenTarget { host: "h".into(), port: 5432, user: "u".into(), region: "eu-west-1".into() };
    let c = Credentials::new("AKID", "SECRET", Some("tok+en/x=".into()), None, "test");
    let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let token = generate_token(&target, &c, now).await.unwrap();
    assert!(token.expose_secret().contains("X-Amz-Security-Token=tok%2Ben%2Fx%3D"));
}

#[tokio::test]
async fn cached_token_is_reused_and_refresh_makes_a_new_one() {
    let target =
        TokenTarget { host: "h".into(), port: 5432, user: "u".into(), region: "us-east-1".into() };
    let src =
        IamTokenSource::new(target, SharedCredentialsProvider::new(creds("AKIDEXAMPLE", "secret")));
    let a = src.token().await.unwrap();
    let b = src.token().await.unwrap();
    assert_eq!(a.expose_secret(), b.expose_secret());
    // One second later the signature (X-Amz-Date) differs.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let c = src.refresh().await.unwrap();
    assert_ne!(a.expose_secret(), c.expose_secret());
    assert!(!format!("{src:?}").contains("X-Amz-Signature"));
}

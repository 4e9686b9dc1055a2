//! A local moto server (fake AWS, e.g. Secrets Manager) for the tests that talk to AWS.
//!
//! Owns: spawning `python3 -m moto.server` on a free loopback port and killing it on drop. Must
//! not talk to real AWS: callers point their SDK at [`Moto::endpoint`] with dummy credentials.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running moto server, killed when dropped.
pub struct Moto {
    port: u16,
    child: Child,
}

impl Moto {
    /// Starts moto on a free port and waits (up to 30 s) until it answers.
    pub fn spawn() -> Moto {
        let port = super::free_port();
        let python = std::env::var("PGROLES_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
        let child = Command::new(&python)
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p"])
            .arg(port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {python} -m moto.server: {e}"));
        let mut moto = Moto { port, child };
        if !super::wait_for_port(port, Duration::from_secs(30)) {
            let status = moto.child.try_wait().ok().flatten();
            panic!(
                "moto did not listen on {port} (exit: {status:?}); \
                 install it with `pip install 'moto[server]'` (scripts/test-services does)"
            );
        }
        moto
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:<port>`: the endpoint URL for any AWS SDK client.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The `[aws]` section and an SDK configuration for this server: dummy credentials, its
    /// endpoint, `us-east-1`.
    pub async fn sdk(&self) -> (pgroles::config::AwsConfig, aws_config::SdkConfig) {
        let aws = pgroles::config::AwsConfig {
            region: Some("us-east-1".into()),
            endpoint_url: Some(self.endpoint()),
        };
        let creds = aws_credential_types::Credentials::new("test", "test", None, None, "moto");
        let provider = aws_credential_types::provider::SharedCredentialsProvider::new(creds);
        let sdk = pgroles::aws::sdk_config_with(&aws, Some(provider)).await;
        (aws, sdk)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

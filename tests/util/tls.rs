//! TLS for the tests: a certificate made for the test and handed to the server as PEM files,
//! rustls clients that trust it (or pin a logged fingerprint), and the raw bytes of a
//! handshake's first flight for clients that misbehave in the middle of one.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{
    ClientConfig, ClientConnection, RootCertStore, StreamOwned, SupportedProtocolVersion,
};
use tempfile::TempDir;

use super::{config, connect_tcp, Client, Transport};
use chat_tokio_stream::config::{Config, IdentityFiles, TlsConfig};

/// The crypto the clients use.
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A certificate for localhost and 127.0.0.1, made for one test, in PEM files that live as
/// long as it does.
pub struct TestCert {
    /// The certificate.
    pub der: CertificateDer<'static>,
    /// Its chain and key files.
    pub files: IdentityFiles,
    _dir: TempDir,
}

impl TestCert {
    /// A new certificate and key, written out.
    pub fn new() -> TestCert {
        let made = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
            .expect("a certificate");
        let dir = tempfile::tempdir().expect("a temporary directory");
        let files = write_pem(
            dir.path(),
            &made.cert.pem(),
            &made.signing_key.serialize_pem(),
        );
        TestCert {
            der: made.cert.der().clone(),
            files,
            _dir: dir,
        }
    }

    /// The contract's defaults (see [`config`]) with a TLS listener on an ephemeral port
    /// serving this certificate.
    pub fn config(&self) -> Config {
        Config {
            tls: Some(TlsConfig {
                addr: "127.0.0.1:0".parse().expect("a literal address"),
                identity: Some(self.files.clone()),
            }),
            ..config()
        }
    }

    /// A client configuration that trusts this certificate and nothing else.
    pub fn client(&self) -> Arc<ClientConfig> {
        self.client_speaking(rustls::DEFAULT_VERSIONS)
    }

    /// The same, speaking only TLS 1.2.
    pub fn client_tls12(&self) -> Arc<ClientConfig> {
        self.client_speaking(&[&rustls::version::TLS12])
    }

    /// A client configuration that trusts this certificate and speaks `versions`.
    fn client_speaking(&self, versions: &[&'static SupportedProtocolVersion]) -> Arc<ClientConfig> {
        let mut roots = RootCertStore::empty();
        roots.add(self.der.clone()).expect("a trust anchor");
        Arc::new(
            ClientConfig::builder_with_provider(provider())
                .with_protocol_versions(versions)
                .expect("protocol versions")
                .with_root_certificates(roots)
                .with_no_client_auth(),
        )
    }
}

/// Writes a certificate and key as `cert.pem` and `key.pem` in `dir`.
pub fn write_pem(dir: &Path, cert: &str, key: &str) -> IdentityFiles {
    let files = IdentityFiles {
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
    };
    std::fs::write(&files.cert, cert).expect("write the certificate");
    std::fs::write(&files.key, key).expect("write the key");
    files
}

/// A client configuration that accepts exactly the certificate whose SHA-256 fingerprint is
/// `fingerprint` (in `AB:CD:...` form), as a user who checked it would.
pub fn pinned(fingerprint: &str) -> Arc<ClientConfig> {
    let fingerprint = fingerprint.to_string();
    chat_load::accepting(move |cert| {
        let digest = ring::digest::digest(&ring::digest::SHA256, cert.as_ref());
        let hex: Vec<String> = digest.as_ref().iter().map(|b| format!("{b:02X}")).collect();
        hex.join(":") == fingerprint
    })
}

/// The first flight of a TLS client (its ClientHello) for `config`, as raw bytes.
pub fn client_hello(config: &Arc<ClientConfig>) -> Vec<u8> {
    let name = ServerName::try_from("localhost").expect("a name");
    let mut client = ClientConnection::new(Arc::clone(config), name).expect("a client");
    let mut hello = Vec::new();
    client.write_tls(&mut hello).expect("a ClientHello");
    hello
}

impl Client {
    /// Connects over TLS with `config` without registering; the handshake happens with the
    /// first read.
    pub fn connect_tls(addr: SocketAddr, config: &Arc<ClientConfig>) -> Client {
        let name = ServerName::try_from("localhost").expect("a name");
        let session = ClientConnection::new(Arc::clone(config), name).expect("a client");
        let stream = StreamOwned::new(session, connect_tcp(addr));
        Client::over(Transport::Tls(Box::new(stream)))
    }

    /// Connects over TLS, answers the nickname prompt with `nick` and reads the welcome.
    pub fn join_tls(addr: SocketAddr, config: &Arc<ClientConfig>, nick: &str) -> Client {
        Client::connect_tls(addr, config).register(nick)
    }

    /// Sends `bytes` straight into the TCP connection, beneath the TLS session.
    pub fn send_beneath_tls(&mut self, bytes: &[u8]) {
        use std::io::Write;
        let mut tcp = self.reader.get_ref().tcp();
        tcp.write_all(bytes).expect("a raw write");
    }
}
